import { runNumbers, smokeBenchArgs } from "./_testing.ts";
// End-to-end fault tests of `bench` (smoke fixture, native engine): a full disk and the resume
// after it, a damaged checkpoint, what a finished invocation leaves in --out, SIGTERM, and where
// the caches go when bench runs from another folder.
import type { Engine } from "./engines/engine.ts";
import { forwardingEngine } from "./engines/_testing.ts";
import { memoryProgress } from "./util/progress.ts";
import type { ResultsFile } from "./results/types.ts";
import { runBench } from "./run.ts";
import { InterruptedError } from "./train.ts";

const main = new URL("./main.ts", import.meta.url).pathname;
const root = new URL("..", import.meta.url).pathname;

const numbers = runNumbers;
function assertSameNumbers(what: string, a: ResultsFile, b: ResultsFile) {
  const [x, y] = [a, b].map((r) => JSON.stringify(r.runs.map(numbers)));
  if (x !== y) throw new Error(`${what}: the numbers differ:\n${x}\n${y}`);
}

const smoke = (out: string, extra: string[] = []) => smokeBenchArgs(out, extra);

async function withTemp(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The one invocation id under `<out>/.state` (its folder; the `<id>.lock` beside it is not one). */
function stateId(out: string): string {
  const ids = [...Deno.readDirSync(`${out}/.state`)].filter((e) => e.isDirectory).map((e) =>
    e.name
  );
  if (ids.length !== 1) throw new Error(`want one saved invocation in ${out}/.state, got ${ids}`);
  return ids[0]!;
}

const run = (cmd: string, ...args: string[]) => {
  const o = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  return o.success
    ? null
    : `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(o.stderr).trim()}`;
};

/** Why a small tmpfs cannot be mounted here (not root, no mount), or null when it can. */
const cannotMount = (() => {
  if (Deno.build.os !== "linux") return "not Linux";
  const dir = Deno.makeTempDirSync({ prefix: "rnnbench-mount-probe-" });
  try {
    const why = run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir);
    if (why === null) run("umount", dir);
    return why;
  } catch (e) {
    return (e as Error).message;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

Deno.test({
  name: "a full --out disk stops the invocation naming the file and claiming no checkpoint; " +
    "--resume after freeing space retries the run" +
    (cannotMount === null ? "" : ` (ignored: cannot mount a tmpfs: ${cannotMount})`),
  ignore: cannotMount !== null,
  fn: () =>
    withTemp(async (dir) => {
      const flags = ["--arch", "rnn", "--epochs", "2"];
      const ref = await runBench(smoke(`${dir}/ref`, flags), memoryProgress());
      const out = `${dir}/full`;
      await Deno.mkdir(out);
      // 64 KiB: room for the invocation's state and a results file, not for a checkpoint.
      const why = run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", out);
      if (why !== null) throw new Error(why);
      try {
        const p = memoryProgress();
        const got = await runBench(smoke(out, flags), p).then((r) => r, (e: Error) => e);
        const said = [...p.lines, got instanceof Error ? got.message : ""].join("\n");
        if (!(got instanceof Error)) {
          throw new Error(
            `the invocation went on past a full disk, recording ${
              JSON.stringify(got.results.runs.map((r) => r.failure))
            }:\n${said}`,
          );
        }
        if (!/No space left on device/.test(got.message) || !/\.ckpt"/.test(got.message)) {
          throw new Error(`the error does not say what and which file: ${got.message}`);
        }
        if (/last good checkpoint/.test(said)) {
          throw new Error(`a checkpoint is claimed though none was written:\n${said}`);
        }
        const id = stateId(out);
        if (!got.message.includes(`--resume ${id}`)) {
          throw new Error(`the error does not say how to continue: ${got.message}`);
        }
        const grow = run("mount", "-o", "remount,size=16m", out);
        if (grow !== null) throw new Error(grow);
        const resumed = await runBench({ ...smoke(out), resume: id }, memoryProgress());
        if (!resumed.ok) throw new Error("the resumed invocation did not succeed");
        assertSameNumbers(
          "resumed after a full disk vs. uninterrupted",
          ref.results,
          resumed.results,
        );
      } finally {
        run("umount", out);
      }
    }),
});

/** Counts the training steps an engine takes. */
function stepCounter(): { steps: number; wrap: (e: Engine) => Engine } {
  const c = {
    steps: 0,
    wrap: (e: Engine) =>
      forwardingEngine(e, {
        trainStep: (b) => {
          c.steps++;
          return e.trainStep(b);
        },
      }),
  };
  return c;
}

Deno.test("a damaged checkpoint is not resumed from: the run restarts from the beginning, saying so", async () => {
  await withTemp(async (dir) => {
    const flags = ["--arch", "lstm", "--epochs", "3"];
    const ref = await runBench(smoke(`${dir}/ref`, flags), memoryProgress());
    const out = `${dir}/cut`;
    const counter = stepCounter();
    // 8 batches per smoke epoch: stop inside epoch 2, after the checkpoint of epoch 1.
    const stopped = await runBench(smoke(out, flags), memoryProgress(), {
      wrapEngine: counter.wrap,
      shouldStop: () => counter.steps >= 12,
    }).then(() => null, (e) => e);
    if (!(stopped instanceof InterruptedError)) throw new Error(`not interrupted: ${stopped}`);
    const id = stateId(out);
    const ckpt = [...Deno.readDirSync(`${out}/.state/${id}`)].find((e) => e.name.endsWith(".ckpt"));
    if (ckpt === undefined) throw new Error("no checkpoint written");
    const path = `${out}/.state/${id}/${ckpt.name}`;
    const bytes = await Deno.readFile(path);
    const mid = Math.floor(bytes.length / 2);
    bytes.fill(0, mid - 2048, mid + 2048);
    await Deno.writeFile(path, bytes);
    const p = memoryProgress();
    const resumed = await runBench({ ...smoke(out), resume: id }, p);
    const said = p.lines.find((l) => l.includes(path));
    if (said === undefined || !/checksum/.test(said) || !/from the beginning/.test(said)) {
      throw new Error(`the damaged checkpoint was not reported:\n${p.lines.join("\n")}`);
    }
    assertSameNumbers("restarted after a damaged checkpoint", ref.results, resumed.results);
  });
});

Deno.test("--checkpoint-every skips checkpoints of runs younger than it; a resume then restarts them", async () => {
  await withTemp(async (dir) => {
    const flags = ["--arch", "lstm", "--epochs", "3"];
    const ref = await runBench(smoke(`${dir}/ref`, flags), memoryProgress());
    const out = `${dir}/cut`;
    const counter = stepCounter();
    // Stopped inside epoch 2, as above, but a checkpoint is due only after an hour.
    const stopped = await runBench(
      smoke(out, [...flags, "--checkpoint-every", "3600"]),
      memoryProgress(),
      { wrapEngine: counter.wrap, shouldStop: () => counter.steps >= 12 },
    ).then(() => null, (e) => e);
    if (!(stopped instanceof InterruptedError)) throw new Error(`not interrupted: ${stopped}`);
    const id = stateId(out);
    const files = [...Deno.readDirSync(`${out}/.state/${id}`)].map((e) => e.name);
    if (files.some((f) => f.endsWith(".ckpt"))) {
      throw new Error(`a checkpoint was written: ${files}`);
    }
    const p = memoryProgress();
    const resumed = await runBench({ ...smoke(out), resume: id }, p);
    if (p.lines.some((l) => /resuming after epoch/.test(l))) throw new Error(p.lines.join("\n"));
    assertSameNumbers("restarted without a checkpoint", ref.results, resumed.results);
  });
});

Deno.test("a successful invocation leaves no .state folder in --out", async () => {
  await withTemp(async (dir) => {
    const r = await runBench(
      smoke(`${dir}/o`, ["--arch", "rnn", "--epochs", "0"]),
      memoryProgress(),
    );
    if (!r.ok) throw new Error("the run failed");
    const left = [...Deno.readDirSync(`${dir}/o`)].map((e) => e.name);
    if (left.join() !== `${r.id}.json`) {
      throw new Error(`--out holds ${left}, want only the results`);
    }
  });
});

function smokeArgs(out: string): string[] {
  return ["--profile", "smoke", "--engine", "native", "--threads", "2", "--onnx", "none"]
    .concat(["--checkpoint-every", "0", "--out", out]);
}

Deno.test("SIGTERM stops bench like Ctrl-C: after the current batch, with the resume command", async () => {
  await withTemp(async (dir) => {
    const out = `${dir}/o`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, ...smokeArgs(out), "--arch", "lstm", "--epochs", "40"],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let id = "";
    for (let i = 0; i < 6000 && id === ""; i++) {
      await new Promise((r) => setTimeout(r, 10));
      try {
        const s = stateId(out);
        if ([...Deno.readDirSync(`${out}/.state/${s}`)].some((e) => e.name.endsWith(".ckpt"))) {
          id = s;
        }
      } catch { /* not yet */ }
    }
    try {
      child.kill("SIGTERM");
    } catch { /* it already ended: caught below */ }
    const o = await child.output();
    const stderr = new TextDecoder().decode(o.stderr);
    if (id === "") throw new Error(`no checkpoint appeared:\n${stderr}`);
    if (o.signal !== null || o.code !== 143) {
      throw new Error(`want exit code 143, got code ${o.code} signal ${o.signal}:\n${stderr}`);
    }
    if (!/Stopping after the current batch/.test(stderr) || !stderr.includes(`--resume ${id}`)) {
      throw new Error(`no stop message or resume command:\n${stderr}`);
    }
  });
});

Deno.test("bench run from another folder writes no cache there: every cache is under the repository's .cache/", async () => {
  await withTemp(async (dir) => {
    const env = { ...Deno.env.toObject() };
    delete env.RNNBENCH_CACHE;
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, ...smokeArgs("out"), "--arch", "rnn", "--epochs", "0"],
      cwd: dir,
      env,
      clearEnv: true,
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(o.stderr);
    if (!o.success) throw new Error(stderr);
    const here = [...Deno.readDirSync(dir)].map((e) => e.name);
    if (here.join() !== "out") throw new Error(`the working folder holds ${here}, want only out`);
    const hash = /hash ([0-9a-f]{16})/.exec(stderr)?.[1];
    await Deno.stat(`${root}.cache/data/${hash}.bin`).catch(() => {
      throw new Error(`the dataset cache ${hash}.bin is not under ${root}.cache/data:\n${stderr}`);
    });
  });
});
