/**
 * `bench/tools/gpu_check.ts` end to end on the CPU emulator of the CUDA driver: the script that
 * runs first on a GPU machine must work there the first time, so its flow (correctness,
 * timed epochs, table, JSON summary, a failing architecture) is run here.
 */
import { emulatorTuning, emuTest } from "../engines/_testing.ts";
import { medianEpoch } from "../train.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function gpuCheck(args: string[], env: Record<string, string> = {}, emulate = true) {
  if (emulate) {
    const t = await emulatorTuning();
    env = {
      RNNBENCH_CUDA_EMULATOR: t.emulator.dir,
      ...env,
    };
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/tools/gpu_check.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function summaryIn(dir: string): Promise<Record<string, unknown>> {
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith("gpu-check-") && e.name.endsWith(".json")) {
      return JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`));
    }
  }
  throw new Error(`no gpu-check summary in ${dir}`);
}

emuTest(
  "gpu-check (emulated) checks, times epochs, prints the table and writes a summary",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await gpuCheck([
        ...["--arch", "rnn", "--profile", "smoke", "--epochs", "2", "--peers", "none"],
        ...["--shapes", "small,deep"], // the full original batch takes minutes on the emulator
        ...["--out", dir],
      ]);
      const all = `${r.stdout}\n${r.stderr}`;
      if (r.code !== 0) throw new Error(`exit ${r.code}:\n${all}`);
      for (
        const want of [
          /ok {2}rnn small \(L=3 /,
          /ok {2}rnn deep \(L=25 /,
          /rnn: train [\d.]+ s \+ eval [\d.]+ s \(epochs [\d.]+, [\d.]+ s;/,
          /^rnn +\| [\d.]+ \([\d.]+\+[\d.]+\) +\| - /m,
        ]
      ) {
        if (!want.test(r.stdout)) throw new Error(`output lacks ${want}:\n${all}`);
      }
      const s = await summaryIn(dir) as {
        correctness: { passed: string[]; failures: unknown[] };
        epochs: { arch: string; epochs: unknown[] }[];
        machine: { cores: number; cpuModel: string };
      };
      if (!(s.machine.cores >= 1) || !s.machine.cpuModel) {
        throw new Error(`no machine fingerprint: ${JSON.stringify(s.machine)}`);
      }
      if (s.correctness.passed.join() !== "rnn" || s.correctness.failures.length !== 0) {
        throw new Error(`correctness summary: ${JSON.stringify(s.correctness)}`);
      }
      if (s.epochs.length !== 1 || s.epochs[0]!.epochs.length !== 2) {
        throw new Error(`epochs summary: ${JSON.stringify(s.epochs)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

emuTest(
  "gpu-check (emulated) with a broken kernel names every failing architecture and times none",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await gpuCheck(
        ["--arch", "rnn,gru", "--shapes", "small,deep", "--profile", "smoke", "--peers", "none"]
          .concat(["--out", dir]),
        { RNNBENCH_EMU_SKIP: "rb_forward" },
      );
      const all = `${r.stdout}\n${r.stderr}`;
      if (r.code !== 1) throw new Error(`exit ${r.code}, want 1:\n${all}`);
      for (
        const want of [
          /FAILED rnn small: rnn small logits: .*differ/,
          /FAILED gru small: gru small logits: .*differ/,
          /correctness FAILED for rnn small, gru small \(nothing timed\)/,
        ]
      ) {
        if (!want.test(r.stderr)) throw new Error(`stderr lacks ${want}:\n${all}`);
      }
      if (/epochs per architecture/.test(r.stdout)) throw new Error(`it timed epochs:\n${all}`);
      const s = await summaryIn(dir) as { correctness: { passed: string[]; failures: unknown[] } };
      if (s.correctness.passed.length !== 0 || s.correctness.failures.length !== 2) {
        throw new Error(`correctness summary: ${JSON.stringify(s.correctness)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("gpu-check refuses a bad --epochs, --profile or --shapes before touching the GPU", async () => {
  const p = await gpuCheck(["--profile", "nope"], {}, false);
  if (p.code !== 1 || !p.stderr.includes('Unknown profile "nope": valid values are smoke')) {
    throw new Error(`--profile nope: exit ${p.code}: ${p.stderr}`);
  }
  const sh = await gpuCheck(["--shapes", "small,huge"], {}, false);
  if (
    sh.code !== 1 ||
    !sh.stderr.includes('Unknown check shape "huge": valid values are small, deep, original')
  ) {
    throw new Error(`--shapes small,huge: exit ${sh.code}: ${sh.stderr}`);
  }
  for (const bad of ["0", "2.5", "x", "21"]) {
    const r = await gpuCheck(["--epochs", bad], {}, false);
    if (
      r.code !== 1 || !r.stderr.includes(`--epochs must be an integer from 1 to 20, got "${bad}"`)
    ) {
      throw new Error(`--epochs ${bad}: exit ${r.code}: ${r.stderr}`);
    }
  }
});

Deno.test("medianEpoch takes the middle epoch by train + eval seconds", () => {
  const e = (train: number, evalS: number) => ({
    trainSeconds: train,
    evalSeconds: evalS,
    trainLoss: train,
    testAccuracy: 0,
  });
  const cases: [ReturnType<typeof e>[], number][] = [
    [[e(3, 0)], 3],
    [[e(5, 1), e(1, 1), e(3, 1)], 3],
    [[e(4, 0), e(1, 0), e(3, 0), e(2, 0)], 2], // the lower middle
  ];
  for (const [epochs, want] of cases) {
    const got = medianEpoch(epochs).trainLoss;
    if (got !== want) throw new Error(`median of ${JSON.stringify(epochs)}: ${got}, want ${want}`);
  }
});

emuTest(
  "gpu-check (emulated) --readout max checks the max-pooling kernels and records the readout",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await gpuCheck([
        ...["--arch", "gru", "--readout", "max", "--skip-epochs", "--shapes", "small"],
        ...["--out", dir],
      ]);
      const all = `${r.stdout}\n${r.stderr}`;
      if (r.code !== 0) throw new Error(`exit ${r.code}:\n${all}`);
      for (const want of [/correctness against .*, readout max/, /ok {2}gru small \(L=3 /]) {
        if (!want.test(r.stdout)) throw new Error(`output lacks ${want}:\n${all}`);
      }
      const s = await summaryIn(dir) as { correctness: { readout: string; passed: string[] } };
      if (s.correctness.readout !== "max" || s.correctness.passed.join() !== "gru") {
        throw new Error(`correctness summary: ${JSON.stringify(s.correctness)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
