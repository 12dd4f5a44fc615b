import { runNumbers, smokeBenchArgs, withTemp } from "./_testing.ts";
// End-to-end tests of `bench` on the smoke fixture with the native CPU engine: resume
// after SIGKILL, determinism, a forced NaN, shards, the original-labels mechanism, and the
// summary `bench` ends with.
import { parseBenchArgs } from "./cli.ts";
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { Engine } from "./engines/engine.ts";
import { forwardingEngine } from "./engines/_testing.ts";
import { memoryProgress } from "./util/progress.ts";
import { readResultsFile } from "./results/io.ts";
import type { ResultsFile, Run } from "./results/types.ts";
import { runBench } from "./run.ts";
import { cacheDir } from "./util/cache_dir.ts";
import { formatSummary } from "./run_summary.ts";
import { PROFILES } from "./profiles.ts";

const main = new URL("./main.ts", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

const numbers = runNumbers;
const sameNumbers = (a: ResultsFile, b: ResultsFile) =>
  JSON.stringify(a.runs.map(numbers).sort((x, y) => x.key.localeCompare(y.key))) ===
    JSON.stringify(b.runs.map(numbers).sort((x, y) => x.key.localeCompare(y.key)));

const smoke = (out: string, extra: string[] = []) => smokeBenchArgs(out, extra);

Deno.test("two smoke runs with the same seed give bitwise identical numbers (native)", async () => {
  await withTemp(async (dir) => {
    const a = await runBench(smoke(`${dir}/a`, ["--arch", "gru"]), memoryProgress());
    const b = await runBench(smoke(`${dir}/b`, ["--arch", "gru"]), memoryProgress());
    if (!sameNumbers(a.results, b.results)) {
      throw new Error(
        `runs differ:\n${JSON.stringify(a.results.runs.map(numbers))}\n` +
          JSON.stringify(b.results.runs.map(numbers)),
      );
    }
  });
});

Deno.test("a forced NaN stops the run naming epoch and batch, keeping the last good checkpoint", async () => {
  await withTemp(async (dir) => {
    let epochCalls = 0;
    const poison = (e: Engine): Engine =>
      forwardingEngine(e, {
        predict: (ids, n) => e.predict(ids, n),
        trainStep: async (b) => {
          const logits = await e.trainStep(b);
          // 8 batches per smoke epoch: the 11th train step is epoch 2, batch 2 (index 2).
          if (++epochCalls === 11) logits[0] = NaN;
          return logits;
        },
      });
    const r = await runBench(smoke(dir, ["--arch", "rnn"]), memoryProgress(), {
      wrapEngine: poison,
    });
    const run = r.results.runs[0]!;
    if (r.ok || run.status !== "failed") throw new Error("the run did not fail");
    if (run.failure?.epoch !== 2 || run.failure?.batch !== 2) {
      throw new Error(`failure names ${JSON.stringify(run.failure)}, want epoch 2 batch 2`);
    }
    if (!/not finite/.test(run.failure.message)) throw new Error(run.failure.message);
    if (run.epochs.length !== 2) throw new Error(`kept ${run.epochs.length} epochs, want 0 and 1`);
    const ckpt = `${dir}/.state/${r.id}/${run.runId}.ckpt`;
    await Deno.stat(ckpt); // the last good checkpoint is still there
    const back = await readResultsFile(r.path);
    if (back.runs[0]?.status !== "failed") throw new Error("results file does not record it");
  });
});

Deno.test("a run killed with SIGKILL mid-training and resumed equals an uninterrupted run", async () => {
  await withTemp(async (dir) => {
    const flags = ["--arch", "lstm", "--epochs", "30"];
    const ref = await runBench(smoke(`${dir}/ref`, flags), memoryProgress());
    const out = `${dir}/killed`;
    const args = ["run", "-A", main, "--profile", "smoke", "--engine", "native", "--threads", "2"];
    args.push("--onnx", "none", "--checkpoint-every", "0", "--out", out, ...flags);
    // In the repository, whatever this process's working folder: the resume below runs here, and
    // the fixture's data source (part of a checkpoint's config key) is named the same from both.
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Kill as soon as a checkpoint after epoch ≥ 2 exists: training is then mid-way.
    let id = "";
    for (let i = 0; i < 6000 && id === ""; i++) {
      await new Promise((r) => setTimeout(r, 5));
      try {
        for (const s of Deno.readDirSync(`${out}/.state`)) {
          if (!s.isDirectory) continue; // <id>.lock beside each invocation's folder
          for (const f of Deno.readDirSync(`${out}/.state/${s.name}`)) {
            if (f.name.endsWith(".ckpt")) {
              const b = Deno.readFileSync(`${out}/.state/${s.name}/${f.name}`);
              const len = new DataView(b.buffer).getUint32(12, true);
              const head = JSON.parse(new TextDecoder().decode(b.subarray(16, 16 + len)));
              if (head.epoch >= 2) id = s.name;
            }
          }
        }
      } catch { /* not written yet */ }
    }
    try {
      child.kill("SIGKILL");
    } catch { /* it already ended: caught below */ }
    const status = await child.status;
    if (id === "") throw new Error("no checkpoint appeared");
    if (status.success) throw new Error("the run finished before it could be killed");
    const resumed = await runBench(
      { ...smoke(out), resume: id },
      memoryProgress(),
    );
    if (!sameNumbers(ref.results, resumed.results)) {
      throw new Error(
        `resumed run differs:\n${JSON.stringify(ref.results.runs.map(numbers))}\n` +
          JSON.stringify(resumed.results.runs.map(numbers)),
      );
    }
    const left = [...Deno.readDirSync(out)].map((e) => e.name);
    if (left.includes(".state") && [...Deno.readDirSync(`${out}/.state`)].length > 0) {
      throw new Error("resume state left behind after completion");
    }
  });
});

Deno.test("shards 1/3, 2/3, 3/3 together equal one unsharded run", async () => {
  await withTemp(async (dir) => {
    const flags = ["--epochs", "1", "--seeds", "2", "--arch", "rnn,gru"];
    const whole = await runBench(smoke(`${dir}/whole`, flags), memoryProgress());
    const parts: Run[] = [];
    for (const i of [1, 2, 3]) {
      const r = await runBench(
        smoke(`${dir}/shards`, [...flags, "--shard", `${i}/3`]),
        memoryProgress(),
      );
      parts.push(...r.results.runs);
    }
    const merged = { ...whole.results, runs: parts };
    if (parts.length !== 4 || !sameNumbers(whole.results, merged)) {
      throw new Error("the shards' runs do not equal the unsharded runs");
    }
  });
});

Deno.test("under original-labels the accuracy is the share predicted negative; correct labels stay 50/50", async () => {
  await withTemp(async (dir) => {
    const r = await runBench(
      parseBenchArgs([
        "--profile",
        "smoke",
        "--engine",
        "native",
        "--onnx",
        "none",
        "--epochs",
        "1",
        "--labels",
        "original",
        "--out",
        `${dir}/o`,
      ]),
      memoryProgress(),
    );
    for (const run of r.results.runs) {
      if (run.data.trainPositiveFraction !== 0 || run.data.testPositiveFraction !== 0) {
        throw new Error(`${run.arch}: labels are not all 0 under --labels original`);
      }
      for (const e of run.epochs) {
        if (e.testAccuracy !== e.testPredictedNegativeFraction) {
          throw new Error(
            `${run.arch} epoch ${e.epoch}: accuracy ${e.testAccuracy} != predicted negative ` +
              `${e.testPredictedNegativeFraction}`,
          );
        }
      }
    }
    const c = await runBench(
      smoke(`${dir}/c`, ["--epochs", "0", "--arch", "rnn"]),
      memoryProgress(),
    );
    const d = c.results.runs[0]!.data;
    if (d.trainPositiveFraction !== 0.5 || d.testPositiveFraction !== 0.5) {
      throw new Error(
        `correct labels are not 50/50: ${d.trainPositiveFraction}, ${d.testPositiveFraction}`,
      );
    }
  });
});

Deno.test("two bench processes on one output folder keep their own files and share the cache safely", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["run", "-A", main, "--profile", "smoke", "--engine", "native", "--arch", "rnn"];
    args.push("--epochs", "1", "--onnx", "none", "--out", "shared-out");
    // A fresh dataset cache; the compiled libraries as they are.
    await Deno.mkdir(`${dir}/cache`);
    await Deno.symlink(cacheDir("native"), `${dir}/cache/native`);
    const env = { RNNBENCH_CACHE: `${dir}/cache` };
    const spawn = () =>
      new Deno.Command(Deno.execPath(), { args, cwd: dir, env, stdout: "null", stderr: "piped" })
        .output();
    const [a, b] = await Promise.all([spawn(), spawn()]);
    for (const r of [a, b]) {
      if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
    }
    const files = [...Deno.readDirSync(`${dir}/shared-out`)]
      .filter((e) => e.name.endsWith(".json")).map((e) => e.name);
    if (files.length !== 2) throw new Error(`want 2 results files, got ${files}`);
    const [ra, rb] = await Promise.all(files.map((f) => readResultsFile(`${dir}/shared-out/${f}`)));
    if (!sameNumbers(ra!, rb!)) throw new Error("the two processes' numbers differ");
    const cache = [...Deno.readDirSync(`${dir}/cache/data`)].map((e) => e.name);
    if (cache.some((n) => n.endsWith(".lock") || n.endsWith(".tmp"))) {
      throw new Error(`lock or temporary files left in the cache: ${cache}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two smoke runs with the same seed give bitwise identical numbers (tfjs-cpu)", async () => {
  await withTemp(async (dir) => {
    const flags = [
      "--engine",
      "tfjs-cpu",
      "--arch",
      "rnn",
      "--epochs",
      "2",
      "--limit-batches",
      "2",
    ];
    const a = await runBench(smoke(`${dir}/a`, flags), memoryProgress());
    const b = await runBench(smoke(`${dir}/b`, flags), memoryProgress());
    if (!sameNumbers(a.results, b.results)) throw new Error("tfjs-cpu runs differ");
  });
});

Deno.test("--resume of an unknown or damaged invocation says where it looked and writes nothing", async () => {
  await withTemp(async (dir) => {
    const out = `${dir}/out`;
    await runBench({ ...smoke(out), resume: "20990101T000000Z-abcdef" }, memoryProgress()).then(
      () => {
        throw new Error("resumed a missing invocation");
      },
      (e) => {
        if (!/no saved state at .*invocation\.json/.test((e as Error).message)) throw e;
      },
    );
    await Deno.mkdir(`${out}/.state/x1`, { recursive: true });
    await Deno.writeTextFile(`${out}/.state/x1/invocation.json`, "{not json");
    await runBench({ ...smoke(out), resume: "x1" }, memoryProgress()).then(
      () => {
        throw new Error("resumed a damaged invocation");
      },
      (e) => {
        if (!/is damaged/.test((e as Error).message)) throw e;
      },
    );
    const jsons = [...Deno.readDirSync(out)].filter((e) => e.name.endsWith(".json"));
    if (jsons.length > 0) throw new Error("a results file was written");
  });
});

Deno.test("a second --resume of a live invocation is refused, and the live one ends complete", async () => {
  await withTemp(async (dir) => {
    const out = `${dir}/out`;
    const args = ["run", "-A", main, "--profile", "smoke", "--engine", "native", "--threads", "1"];
    args.push("--onnx", "none", "--checkpoint-every", "0", "--out", out, "--arch", "lstm");
    args.push("--epochs", "10");
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    let id = "";
    try {
      // Its saved state appears once it holds its lock; resume it from here while it trains.
      for (let i = 0; i < 6000 && id === ""; i++) {
        await new Promise((r) => setTimeout(r, 5));
        try {
          for (const s of Deno.readDirSync(`${out}/.state`)) {
            if (s.isDirectory && Deno.statSync(`${out}/.state/${s.name}/invocation.json`)) {
              id = s.name;
            }
          }
        } catch { /* not written yet */ }
      }
      if (id === "") throw new Error("no saved state appeared");
      const second = await runBench({ ...smoke(out), resume: id }, memoryProgress()).then(
        () => null,
        (e: Error) => e,
      );
      if (second === null) throw new Error("the second --resume was not refused");
      if (!second.message.includes(`is being run by pid ${child.pid}`)) throw second;
    } finally {
      for (;;) {
        const { value, done } = await stderr.read();
        if (done) break;
        log += value;
      }
    }
    const status = await child.status;
    if (!status.success) throw new Error(`the live invocation failed:\n${log}`);
    const results = await readResultsFile(`${out}/${id}.json`);
    const run = results.runs[0];
    if (results.runs.length !== 1 || run?.status !== "ok" || run.epochs.length !== 11) {
      throw new Error(`the live invocation's results are incomplete:\n${log}`);
    }
    if (await Deno.stat(`${out}/.state/${id}`).then(() => true, () => false)) {
      throw new Error("state left behind after completion");
    }
  });
});

Deno.test("a profile with inferSeconds 0 exports and checks its ONNX model but does not time it", async () => {
  await withTemp(async (dir) => {
    const untimed = {
      ...PROFILES.smoke,
      name: "smoke-untimed",
      epochs: { default: 1 },
      inferSeconds: 0,
    };
    const progress = memoryProgress();
    const args = parseBenchArgs([
      ...["--engine", "native", "--arch", "rnn", "--limit-batches", "2", "--onnx", "scan"],
      ...["--out", `${dir}/out`],
    ]);
    const { results } = await runBench(args, progress, { profiles: [untimed] });
    const run = results.runs[0]!;
    if (run.onnx === null || !(run.onnx.maxAbsDiff < 1e-3) || run.onnx.sequencesChecked < 1) {
      throw new Error(`want an exported, parity-checked model, got ${JSON.stringify(run.onnx)}`);
    }
    if (run.inference.length !== 0) throw new Error(JSON.stringify(run.inference));
    const said = progress.lines.join("\n");
    if (!said.includes("inference not timed (profile smoke-untimed")) throw new Error(said);
  });
});

Deno.test("of several seeds of one profile and cell, only the first times ONNX inference", async () => {
  await withTemp(async (dir) => {
    const twice = {
      ...PROFILES.smoke,
      name: "smoke-seeds",
      epochs: { default: 1 },
      seeds: { default: 2 },
    };
    const progress = memoryProgress();
    const args = parseBenchArgs([
      ...["--engine", "native", "--arch", "rnn", "--limit-batches", "2", "--onnx", "scan"],
      ...["--batch-sizes", "1", "--seed", "7", "--out", `${dir}/out`],
    ]);
    const { results } = await runBench(args, progress, { profiles: [twice] });
    const got = results.runs.map((r) => [r.seed, r.onnx !== null, r.inference.length > 0]);
    assertEquals(got, [[7, true, true], [8, true, false]]);
    const said = progress.lines.join("\n");
    if (!said.includes("inference not timed (seed 7 of smoke-seeds rnn times the same graph")) {
      throw new Error(said);
    }
  });
});

Deno.test("bench ends with the summary of the results file it wrote and its report command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["run", "-A", main, "--profile", "smoke", "--arch", "rnn", "--epochs", "1"];
    args.push("--limit-batches", "2", "--out", "out");
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    const stderr = new TextDecoder().decode(r.stderr);
    if (!r.success) throw new Error(stderr);
    const files = [...Deno.readDirSync(`${dir}/out`)].filter((e) => e.name.endsWith(".json"));
    if (files.length !== 1) throw new Error(`want 1 results file, got ${files.map((f) => f.name)}`);
    const results = await readResultsFile(`${dir}/out/${files[0]!.name}`);
    const summary = formatSummary(results, "out");
    if (!stdout.endsWith(summary)) {
      throw new Error(`stdout does not end with the summary:\n${stdout}\nwant:\n${summary}`);
    }
    if (!summary.trimEnd().endsWith("Report: deno task report out")) throw new Error(summary);
    if (results.reference != null) throw new Error("the smoke profile trained a reference line");
    if (!stderr.trimEnd().endsWith(`results: out/${files[0]!.name}`)) {
      throw new Error(`stderr goes on after the results line:\n${stderr}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--reference nbsvm trains the reference line on the smoke fixture; the default skips it", async () => {
  await withTemp(async (dir) => {
    const flags = ["--arch", "rnn", "--epochs", "0"];
    const asked = await runBench(
      smoke(`${dir}/a`, [...flags, "--reference", "nbsvm"]),
      memoryProgress(),
    );
    const saved = await readResultsFile(asked.path);
    if (saved.reference?.model !== "nbsvm-bigram" || saved.reference.dataSource !== "fixture") {
      throw new Error(`no fixture reference line in ${JSON.stringify(saved.reference)}`);
    }
    const plain = await runBench(smoke(`${dir}/b`, flags), memoryProgress());
    if (plain.results.reference != null) throw new Error("the smoke default trained a reference");
  });
});
