// bench/tools/cluster/slurm_bench.sh on a real (one-node) Slurm cluster: a 3-task array of a
// smoke sweep merges in `deno task report` into exactly the runs of one unsharded invocation,
// and a task submitted again, requeued after it finished, or requeued while it trains never
// adds a duplicate. Ignored, saying why, where Slurm or root is missing.
import { loadResults } from "../../../reports/generate.ts";
import { mergeProblems } from "../../../reports/merge.ts";
import { readResultsFile } from "../../results/io.ts";
import type { ResultsFile, Run } from "../../results/types.ts";
import { clusterUnavailable, type SlurmCluster, startCluster } from "./_slurm_cluster.ts";

const root = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");
const script = new URL("./slurm_bench.sh", import.meta.url).pathname;
const deno = Deno.execPath();
// The jobs find this very deno first on PATH, as the script looks for `deno` there.
const jobEnv = {
  PATH: `${deno.slice(0, deno.lastIndexOf("/"))}:${Deno.env.get("PATH") ?? ""}`,
  NO_COLOR: "1",
};

const SWEEP = [
  "--profile",
  "smoke",
  "--arch",
  "rnn,gru,lstm",
  "--epochs",
  "1",
  "--limit-batches",
  "2",
  "--onnx",
  "none",
  "--engine",
  "native",
];

/** What must agree between the shards and the unsharded run: identity and every number. */
function runFacts(r: Run): string {
  return JSON.stringify({
    runId: r.runId,
    profile: r.profile,
    arch: r.arch,
    seed: r.seed,
    engine: r.engine,
    status: r.status,
    epochs: r.epochs.map((e) => [e.trainLoss, e.trainAccuracy, e.testLoss, e.testAccuracy]),
  });
}

const facts = (files: readonly ResultsFile[]) => files.flatMap((f) => f.runs.map(runFacts)).sort();

async function bench(args: string[]) {
  const r = await new Deno.Command(deno, {
    args: ["run", "-A", "bench/main.ts", ...args],
    cwd: root,
    env: jobEnv,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(`bench ${args.join(" ")}:\n${new TextDecoder().decode(r.stderr)}`);
  }
}

/** The paths of the results files in `dir`. */
const jsons = (dir: string) =>
  [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json")).map((e) => `${dir}/${e.name}`);

/** The bytes of every results file in `dir`, by name. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const e of Deno.readDirSync(dir)) {
    if (e.name.endsWith(".json")) files.set(e.name, Deno.readTextFileSync(`${dir}/${e.name}`));
  }
  return files;
}

function sameFiles(a: Map<string, string>, b: Map<string, string>, what: string) {
  const names = (m: Map<string, string>) => [...m.keys()].sort().join(", ");
  if (names(a) !== names(b)) {
    throw new Error(`${what}: results files ${names(a)} became ${names(b)}`);
  }
  for (const [k, v] of a) if (b.get(k) !== v) throw new Error(`${what}: ${k} was rewritten`);
}

async function sbatch(c: SlurmCluster, args: string[], env: Record<string, string> = {}) {
  const r = await c.run("sbatch", ["--parsable", "--time=10", ...args], {
    cwd: root,
    env: { ...jobEnv, ...env },
  });
  return { ...r, jobId: r.stdout.trim().split(";")[0] ?? "" };
}

/** Field `key` of `scontrol show job`, one line per job (all tasks of an array). */
async function jobField(c: SlurmCluster, job: string, key: string): Promise<string> {
  const r = await c.run("scontrol", ["--oneliner", "show", "job", job]);
  return r.stdout.match(new RegExp(`\\b${key}=(\\S*)`))?.[1] ?? "";
}

async function waitFor(
  c: SlurmCluster,
  what: string,
  test: () => boolean | Promise<boolean>,
) {
  const end = Date.now() + 90_000;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`${what}: not within 90 s\n${c.logs()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * `scontrol requeue` of one array task, made eligible at once (Slurm otherwise holds a
 * requeued job for two minutes), then waits for it to finish again.
 */
async function requeue(c: SlurmCluster, task: string): Promise<void> {
  const r = await c.run("scontrol", ["requeue", task]);
  if (r.code !== 0) throw new Error(`scontrol requeue ${task}: ${r.stderr}`);
  await waitFor(c, `${task} requeued`, async () => {
    return await jobField(c, task, "JobState") === "PENDING" &&
      await jobField(c, task, "Restarts") === "1";
  });
  await c.run("scontrol", ["update", `JobId=${task}`, "StartTime=now"]);
  await waitFor(c, `${task} done again`, async () => {
    return ["COMPLETED", "FAILED"].includes(await jobField(c, task, "JobState"));
  });
  const state = await jobField(c, task, "JobState");
  if (state !== "COMPLETED") throw new Error(`${task} ended ${state}\n${c.logs()}`);
}

const unavailable = clusterUnavailable();

Deno.test({
  name: unavailable === null
    ? "slurm_bench.sh on a one-node Slurm cluster: shards merge into the unsharded runs, repeats add no duplicate"
    : `slurm_bench.sh on a one-node Slurm cluster (ignored: ${unavailable})`,
  ignore: unavailable !== null,
  fn: async (t) => {
    const c = await startCluster();
    try {
      const shards = `${c.dir}/shards`, jobs = `${c.dir}/jobs`;
      await Deno.mkdir(jobs);
      const whole = `${c.dir}/whole`;
      await bench([...SWEEP, "--id", "auto", "--out", whole]);

      await t.step(
        "a 3-task array runs the three shards; report merges exactly the unsharded runs",
        async () => {
          const r = await sbatch(c, [
            "--array=1-3",
            "--wait",
            `--output=${jobs}/%A_%a.out`,
            script,
            ...SWEEP,
            "--out",
            shards,
          ]);
          if (r.code !== 0) {
            const out = [...Deno.readDirSync(jobs)].map((e) =>
              `--- ${e.name}\n${Deno.readTextFileSync(`${jobs}/${e.name}`)}`
            );
            throw new Error(`sbatch exited ${r.code}: ${r.stderr}\n${out.join("\n")}\n${c.logs()}`);
          }
          const { loaded } = await loadResults([shards]);
          if (loaded.length !== 3) throw new Error(`want 3 results files, got ${loaded.length}`);
          const problems = mergeProblems(loaded);
          if (problems.length > 0) throw new Error(problems.join("\n"));
          const want = facts(await Promise.all(jsons(whole).map(readResultsFile)));
          const got = facts(loaded.map((l) => l.results));
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(`shards:\n${got.join("\n")}\nunsharded:\n${want.join("\n")}`);
          }
        },
      );

      const before = snapshot(shards);
      await t.step("task 2 submitted again (RNNBENCH_SHARDS=3) does nothing", async () => {
        const r = await sbatch(c, [
          "--array=2",
          "--wait",
          `--output=${jobs}/again_%a.out`,
          script,
          ...SWEEP,
          "--out",
          shards,
        ], { RNNBENCH_SHARDS: "3" });
        const log = await Deno.readTextFile(`${jobs}/again_2.out`);
        if (r.code !== 0 || !/shard2of3 is complete: nothing to do/.test(log)) {
          throw new Error(`exit ${r.code}:\n${log}`);
        }
        sameFiles(before, snapshot(shards), "after task 2 ran again");
      });

      await t.step("task 2 submitted alone without saying the shard count is refused", async () => {
        const r = await sbatch(c, [
          "--array=2",
          "--wait",
          `--output=${jobs}/alone_%a.out`,
          script,
          ...SWEEP,
          "--out",
          shards,
        ]);
        const log = await Deno.readTextFile(`${jobs}/alone_2.out`);
        if (r.code === 0 || !/the array must be 1-N .*RNNBENCH_SHARDS=N/s.test(log)) {
          throw new Error(`exit ${r.code}:\n${log}`);
        }
        sameFiles(before, snapshot(shards), "after a lone task 2");
      });

      await t.step("task 3 requeued after it finished does nothing", async () => {
        const first = [...Deno.readDirSync(jobs)].find((e) => /^\d+_3\.out$/.test(e.name));
        if (first === undefined) throw new Error("no log of task 3");
        const task = first.name.replace(/\.out$/, "");
        await requeue(c, task);
        const log = await Deno.readTextFile(`${jobs}/${first.name}`);
        if (!/restart 1.*\n.*shard3of3 is complete: nothing to do/.test(log)) {
          throw new Error(`the requeued task did not skip its shard:\n${log}`);
        }
        sameFiles(before, snapshot(shards), "after task 3 was requeued");
      });

      await t.step("deno task report accepts the folder after the repeats", async () => {
        const r = await new Deno.Command(deno, {
          args: ["task", "report", shards, "--out", `${c.dir}/report`],
          cwd: root,
          env: jobEnv,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
        if (!r.success || !/from 3 results files/.test(text)) throw new Error(text);
      });

      await t.step(
        "a task requeued while it trains resumes its shard and ends as if never stopped",
        async () => {
          const flags = ["--profile", "smoke", "--arch", "lstm", "--epochs", "30"];
          flags.push("--onnx", "none", "--engine", "native", "--checkpoint-every", "0");
          const ref = `${c.dir}/long-ref`, out = `${c.dir}/long`;
          await bench([...flags, "--id", "auto", "--out", ref]);
          const r = await sbatch(c, [
            "--array=1-1",
            `--output=${jobs}/long_%a.out`,
            script,
            ...flags,
            "--out",
            out,
          ]);
          if (r.code !== 0) throw new Error(`sbatch: ${r.stderr}`);
          const task = `${r.jobId}_1`;
          // Requeue once an epoch-2 checkpoint exists: the task is then mid-way.
          await waitFor(c, "a checkpoint", () => {
            try {
              for (const s of Deno.readDirSync(`${out}/.state`)) {
                if (!s.isDirectory) continue;
                for (const f of Deno.readDirSync(`${out}/.state/${s.name}`)) {
                  if (f.name.endsWith(".ckpt")) return true;
                }
              }
            } catch { /* not yet */ }
            return false;
          });
          await requeue(c, task);
          const log = await Deno.readTextFile(`${jobs}/long_1.out`);
          if (!/DUE TO JOB REQUEUE/.test(log) || !/resuming after epoch \d+/.test(log)) {
            throw new Error(`the task was not stopped and resumed:\n${log}`);
          }
          if (jsons(out).length !== 1) throw new Error(`results files: ${jsons(out)}`);
          const got = facts(await Promise.all(jsons(out).map(readResultsFile)));
          const want = facts(await Promise.all(jsons(ref).map(readResultsFile)));
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(`resumed:\n${got}\nuninterrupted:\n${want}`);
          }
        },
      );
    } finally {
      await c.stop();
    }
  },
});
