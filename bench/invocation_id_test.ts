import { smokeBenchArgs, withTemp } from "./_testing.ts";
// `bench --id`: stable invocation ids, and what running the same command again does (resume
// the saved state, or nothing when the results are complete), on the smoke fixture with the
// native engine.
import { parseBenchArgs } from "./cli.ts";
import { flagDifferences, stableInvocationId } from "./invocation_id.ts";
import { memoryProgress } from "./util/progress.ts";
import { runBench, runId, runMatrix } from "./run.ts";
import { InterruptedError } from "./train.ts";
import type { ResultsFile } from "./results/types.ts";

const smoke = (out: string, extra: string[] = []) =>
  smokeBenchArgs(out, ["--arch", "rnn", ...extra]);

/** Each run's id and per-epoch numbers, timings left out. */
const numbers = (r: ResultsFile) =>
  JSON.stringify(
    r.runs.map((run) => [
      run.runId,
      run.status,
      run.epochs.map((e) => [e.trainLoss, e.trainAccuracy, e.testLoss, e.testAccuracy]),
    ]),
  );

const jsons = (dir: string) =>
  [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json")).map((e) => e.name);

Deno.test("--id auto depends on what is run, not on flag order, --out or --shard's suffix", async () => {
  const id = async (argv: string[]) => await stableInvocationId(parseBenchArgs(argv));
  const a = await id(["--id", "auto", "--profile", "smoke", "--seeds", "2", "--out", "x"]);
  const b = await id(["--seeds", "2", "--out", "y", "--profile", "smoke", "--id", "auto"]);
  const c = await id(["--id", "auto", "--profile", "smoke", "--seeds", "3"]);
  if (a.id !== b.id) throw new Error(`flag order or --out changed the id: ${a.id} vs ${b.id}`);
  if (a.id === c.id) throw new Error("--seeds 2 and --seeds 3 share an id");
  if (!/^smoke-[0-9a-f]{12}$/.test(a.id)) throw new Error(`unexpected form ${a.id}`);
  const s = await id(["--id", "auto", "--profile", "smoke", "--seeds", "2", "--shard", "2/3"]);
  if (s.id !== `${a.id}-shard2of3` || s.runPrefix !== a.id) {
    throw new Error(`shard 2/3 of ${a.id} is ${JSON.stringify(s)}`);
  }
  // No --seeds: the profiles' counts. Where those are one seed each it is the same invocation
  // as --seeds 1 (the default before profiles had counts); fixed runs 3 of the RNN, so not there.
  const one = await id(["--id", "auto", "--profile", "smoke", "--seeds", "1"]);
  if ((await id(["--id", "auto", "--profile", "smoke"])).id !== one.id) {
    throw new Error("smoke without --seeds and with --seeds 1 got different ids");
  }
  const fixed = (argv: string[]) => id(["--id", "auto", "--profile", "fixed", ...argv]);
  if ((await fixed([])).id === (await fixed(["--seeds", "1"])).id) {
    throw new Error("fixed without --seeds (3 seeds of the RNN) and with --seeds 1 share an id");
  }
  const named = await id(["--id", "sweep1", "--shard", "1/2"]);
  if (named.id !== "sweep1-shard1of2" || named.runPrefix !== "sweep1") {
    throw new Error(`--id sweep1 --shard 1/2 gives ${JSON.stringify(named)}`);
  }
});

Deno.test("the shards of --id X carry exactly the run ids of the unsharded --id X", async () => {
  const argv = ["--id", "X", "--profile", "smoke,fixed", "--seeds", "2"];
  const ids = async (extra: string[]) => {
    const args = parseBenchArgs([...argv, ...extra]);
    const { runPrefix } = await stableInvocationId(args);
    return runMatrix(args).map((s) => runId(runPrefix, s));
  };
  const whole = (await ids([])).sort();
  const parts = (await Promise.all([1, 2, 3].map((i) => ids(["--shard", `${i}/3`])))).flat();
  if (JSON.stringify(parts.sort()) !== JSON.stringify(whole)) {
    throw new Error(`shards: ${parts}\nwhole: ${whole}`);
  }
});

Deno.test("bench --id auto run again after it completed does nothing and keeps its one results file", async () => {
  await withTemp(async (dir) => {
    const args = smoke(dir, ["--id", "auto", "--epochs", "1", "--limit-batches", "2"]);
    const first = await runBench(args, memoryProgress());
    const bytes = await Deno.readFile(first.path);
    const log = memoryProgress();
    const again = await runBench(args, log);
    if (again.path !== first.path || !again.ok) throw new Error(`ran again: ${again.path}`);
    if (!log.lines.some((l) => /is complete: nothing to do/.test(l))) {
      throw new Error(`no "nothing to do" line:\n${log.lines.join("\n")}`);
    }
    if (jsons(dir).length !== 1) throw new Error(`results files: ${jsons(dir)}`);
    const now = await Deno.readFile(first.path);
    if (now.length !== bytes.length || now.some((b, i) => b !== bytes[i])) {
      throw new Error("the results file was rewritten");
    }
    if ([...Deno.readDirSync(dir)].some((e) => e.name === ".state")) {
      throw new Error(".state/ left behind");
    }
  });
});

Deno.test("bench --id auto stopped mid-run and run again resumes, ending equal to an uninterrupted run", async () => {
  await withTemp(async (dir) => {
    const flags = ["--id", "auto", "--epochs", "3", "--seeds", "2"];
    const ref = await runBench(smoke(`${dir}/ref`, flags), memoryProgress());
    const out = `${dir}/stopped`;
    let polls = 0;
    const stopped = await runBench(smoke(out, flags), memoryProgress(), {
      shouldStop: () => ++polls > 40, // 8 batches per epoch: stops in the second seed's run
    }).then(() => null, (e) => e);
    if (!(stopped instanceof InterruptedError)) throw stopped ?? new Error("it was not stopped");
    const log = memoryProgress();
    const resumed = await runBench(smoke(out, flags), log);
    if (!log.lines.some((l) => l.startsWith(`resuming ${ref.id}`))) {
      throw new Error(`it did not resume:\n${log.lines.join("\n")}`);
    }
    if (resumed.id !== ref.id) throw new Error(`ids differ: ${resumed.id} vs ${ref.id}`);
    if (numbers(resumed.results) !== numbers(ref.results)) {
      throw new Error(
        `resumed:\n${numbers(resumed.results)}\nuninterrupted:\n${numbers(ref.results)}`,
      );
    }
    if (jsons(out).length !== 1) throw new Error(`results files: ${jsons(out)}`);
  });
});

Deno.test("bench --id NAME with other flags than its saved state is refused, naming the flag", async () => {
  await withTemp(async (dir) => {
    let polls = 0;
    await runBench(smoke(dir, ["--id", "mine", "--epochs", "3"]), memoryProgress(), {
      shouldStop: () => ++polls > 10,
    }).then(() => {
      throw new Error("it was not stopped");
    }, (e) => {
      if (!(e instanceof InterruptedError)) throw e;
    });
    const e = await runBench(smoke(dir, ["--id", "mine", "--epochs", "4"]), memoryProgress())
      .then(() => null, (e: Error) => e);
    if (e === null || !/--epochs 3 vs 4/.test(e.message)) {
      throw e ?? new Error("other flags were accepted");
    }
  });
});

Deno.test("--reference auto (the default) keeps the ids and saved flags of invocations from before the flag", async () => {
  const now = smoke("o", ["--id", "auto"]);
  const { reference: _, ...before } = now; // what a state saved before --reference holds
  const [a, b] = await Promise.all([stableInvocationId(now), stableInvocationId(before)]);
  if (a.id !== b.id) throw new Error(`--reference auto changed the id: ${a.id} vs ${b.id}`);
  if (flagDifferences(before, now).length !== 0) throw new Error("auto differs from absent");
  const asked = await stableInvocationId(smoke("o", ["--id", "auto", "--reference", "none"]));
  if (asked.id === a.id) throw new Error("--reference none must give another id");
});

Deno.test("--validation-carve random (the default) keeps the ids of invocations from before the flag", async () => {
  const now = smoke("o", ["--id", "auto", "--validation", "0.2"]);
  const { validationCarve: _, ...before } = now; // a state saved before --validation-carve
  const [a, b] = await Promise.all([stableInvocationId(now), stableInvocationId(before)]);
  if (a.id !== b.id) {
    throw new Error(`--validation-carve random changed the id: ${a.id} vs ${b.id}`);
  }
  if (flagDifferences(before, now).length !== 0) throw new Error("random differs from absent");
  const chunks = smoke("o", [
    "--id",
    "auto",
    "--validation",
    "0.2",
    "--validation-carve",
    "chunks",
  ]);
  if ((await stableInvocationId(chunks)).id === a.id) {
    throw new Error("--validation-carve chunks must give another id");
  }
  const differences = flagDifferences(now, chunks);
  if (differences.join() !== '--validation-carve "random" vs "chunks"') {
    throw new Error(`unexpected differences: ${differences.join("; ")}`);
  }
});
