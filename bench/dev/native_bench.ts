/**
 * Seconds per ORIGINAL-shape training step and evaluation forward of the native engine
 * (vocabulary 120,000 random ids, embed 64, hidden 8, 25 layers, T 200, batch 1000),
 * optionally side by side with tfjs on the cpu backend (`--tfjs`: one tfjs LSTM step takes
 * about 42 s on 2 cores). Medians of `--steps` timed steps after `--warmup` steps. Prints
 * the achieved GFLOP/s against the machine's FP32 peak, with the arithmetic of the peak
 * and a measured single-core FMA throughput.
 *
 * ```sh
 * deno run -A bench/dev/native_bench.ts                       # all three, native only
 * deno run -A bench/dev/native_bench.ts --arch lstm --steps 5 --tfjs
 * deno run -A bench/dev/native_bench.ts --threads 1 --batch 200
 * ```
 *
 * FLOPs counted: the matmuls of the model (2 per multiply-add), forward 1×, training step
 * 3× (forward, input gradients, weight gradients); the engine's extra work (recomputing
 * the forward inside backward, nonlinearities, Adam) is not credited.
 *
 * @module
 */
import { adamConfig } from "../../models/adam.ts";
import { type Arch, cellGraph } from "../../models/cells.ts";
import { initParams, type ModelConfig, paramLayout } from "../../models/classifier.ts";
import { Rng } from "../../models/rng.ts";
import type { Batch, Engine, EngineOptions } from "../engines/engine.ts";
import { createNativeEngine, nativeAvailability } from "../engines/native/engine.ts";
import { compileSharedLibrary, probeCCompiler } from "../engines/native/compiler.ts";
import { command, integer, optional, parseOrExit, positiveNumber } from "../util/cli_kit.ts";
import { archsOption } from "../util/shared_flags.ts";

/** Multiply-adds of one forward pass: every matmul of every cell, and the head. */
export function forwardMacs(model: ModelConfig, batch: number, maxLen: number): number {
  const g = cellGraph(model.arch);
  const H = model.hiddenSize;
  let perStep = 0;
  for (let l = 0; l < model.layers; l++) {
    const I = l === 0 ? model.embedDim : H;
    for (const n of g.nodes) {
      if (n.op === "matmul") perStep += (g.nodes[n.a]!.size === "I" ? I : H) * H;
    }
  }
  return batch * (maxLen * perStep + H);
}

/** The CPU's FP32 peak, and how it was derived. */
export interface Peak {
  /** Peak FP32 GFLOP/s. */
  readonly gflops: number;
  /** The arithmetic, for the output. */
  readonly derivation: string;
}

/** FP32 peak of `cores` cores from /proc/cpuinfo flags and the clock (nominal). */
export function cpuPeak(cores: number, ghzOverride: number | null): Peak {
  let flags = new Set<string>(), model = "unknown CPU", mhz = 0, bogo = 0;
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    flags = new Set(/^flags\s*:(.*)$/m.exec(info)?.[1]?.trim().split(/\s+/) ?? []);
    model = /^model name\s*:(.*)$/m.exec(info)?.[1]?.trim() ?? model;
    mhz = Number(/^cpu MHz\s*:(.*)$/m.exec(info)?.[1] ?? 0);
    bogo = Number(/^bogomips\s*:(.*)$/m.exec(info)?.[1] ?? 0);
  } catch { /* not Linux */ }
  const ghz = ghzOverride ?? (bogo > 0 ? bogo / 2 / 1000 : mhz / 1000);
  // Two FMA pipes per core on every AVX2/AVX-512 x86 core of the last decade.
  const width = flags.has("avx512f") ? 16 : flags.has("avx") ? 8 : 4;
  const fmaPipes = flags.has("fma") || flags.has("avx512f") ? 2 : 1;
  const flopsPerOp = flags.has("fma") || flags.has("avx512f") ? 2 : 1;
  const perCycle = width * fmaPipes * flopsPerOp;
  const gflops = cores * perCycle * ghz;
  const isa = flags.has("avx512f") ? "AVX-512" : flags.has("avx2") ? "AVX2" : "SSE";
  return {
    gflops,
    derivation: `${model}, ${isa}${flags.has("fma") ? "+FMA" : ""}: ${cores} cores × ` +
      `${width} lanes × ${fmaPipes} FMA pipes × ${flopsPerOp} FLOP × ${ghz.toFixed(2)} GHz ` +
      `(${ghzOverride === null ? "BogoMIPS/2, the nominal clock" : "--ghz"}) = ` +
      `${gflops.toFixed(1)} GFLOP/s FP32`,
  };
}

/** Measures one core's FMA throughput with 12 independent AVX2 FMA chains (x86 only). */
async function measuredCorePeak(): Promise<number | null> {
  const probe = await probeCCompiler();
  if (!probe.ok || Deno.build.arch !== "x86_64") return null;
  const src = `#include <time.h>
double rb_fma_gflops(long n) {
#if defined(__AVX2__) && defined(__FMA__)
  struct timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  for (long k = 0; k < n; k++) {
    __asm__ volatile(
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\\n vfmadd231ps %%ymm14, %%ymm15, %%ymm1\\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\\n vfmadd231ps %%ymm14, %%ymm15, %%ymm3\\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm4\\n vfmadd231ps %%ymm14, %%ymm15, %%ymm5\\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm6\\n vfmadd231ps %%ymm14, %%ymm15, %%ymm7\\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm8\\n vfmadd231ps %%ymm14, %%ymm15, %%ymm9\\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm10\\n vfmadd231ps %%ymm14, %%ymm15, %%ymm11\\n"
      ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
          "xmm10", "xmm11");
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  return n * 12.0 * 16 / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9) / 1e9;
#else
  return -1;
#endif
}
`;
  const lib = await compileSharedLibrary(src, { compiler: probe.compiler, label: "FMA peak" });
  const dl = Deno.dlopen(lib.path, { rb_fma_gflops: { parameters: ["i64"], result: "f64" } });
  let best = 0;
  for (let i = 0; i < 5; i++) best = Math.max(best, dl.symbols.rb_fma_gflops(50_000_000n));
  return best > 0 ? best : null;
}

function parse() {
  const o = parseOrExit(
    command("native_bench", "Seconds per original-shape training step of the native engine.")
      .addOption(archsOption())
      .option("--steps <n>", "timed steps", integer("--steps", 1), 5)
      .option("--warmup <n>", "untimed steps first", integer("--warmup", 0), 1)
      .addOption(optional("--threads <n>", "CPU threads", "all cores", integer("--threads", 1)))
      .option("--batch <n>", "batch size", integer("--batch", 1), 1000)
      .option("--max-len <n>", "sequence length", integer("--max-len", 1), 200)
      .option("--vocab <n>", "vocabulary size", integer("--vocab", 1), 120000)
      .option("--tfjs", "also time tfjs on the cpu backend", false)
      .option("--tfjs-steps <n>", "timed tfjs steps", integer("--tfjs-steps", 1), 1)
      .addOption(
        optional(
          "--ghz <clock>",
          "CPU clock for the FP32 peak",
          "BogoMIPS/2",
          positiveNumber("--ghz"),
        ),
      ),
    Deno.args,
  ).opts<{
    arch: Arch[];
    steps: number;
    warmup: number;
    threads: number | null;
    batch: number;
    maxLen: number;
    vocab: number;
    tfjs: boolean;
    tfjsSteps: number;
    ghz: number | null;
  }>();
  const { arch, ...rest } = o;
  return { archs: arch, ...rest };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

/** Median seconds of `steps` train steps and `steps` predicts, after `warmup` of each. */
async function time(engine: Engine, batch: Batch, warmup: number, steps: number) {
  const train: number[] = [], evals: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    await engine.trainStep(batch);
    if (i >= warmup) train.push((performance.now() - t0) / 1000);
  }
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    await engine.predict(batch.ids, batch.size);
    if (i >= warmup) evals.push((performance.now() - t0) / 1000);
  }
  return { train: median(train), eval: median(evals), trainSamples: train, evalSamples: evals };
}

async function main(): Promise<void> {
  const o = parse();
  const a = await nativeAvailability();
  if (!a.ok) throw new Error(`Cannot benchmark the native engine: ${a.reason}`);
  const threads = o.threads ?? navigator.hardwareConcurrency;
  console.log(`# native: ${a.detail}`);
  console.log(`# ${navigator.hardwareConcurrency} cores, ${threads} threads; load ${load()}`);
  const peak = cpuPeak(threads, o.ghz);
  console.log(`# peak: ${peak.derivation}`);
  const core = await measuredCorePeak();
  if (core !== null) {
    console.log(
      `# measured: one core runs ${core.toFixed(1)} GFLOP/s of independent AVX2 FMAs ` +
        `(${(core / 16 / 2).toFixed(2)} GHz effective), ${threads} × that = ` +
        `${(core * threads).toFixed(1)} GFLOP/s`,
    );
  }
  const rows: string[][] = [];
  for (const arch of o.archs) {
    const model: ModelConfig = {
      arch,
      vocabSize: o.vocab,
      embedDim: 64,
      hiddenSize: 8,
      layers: 25,
    };
    const layout = paramLayout(model);
    const rng = new Rng(5, 97);
    const ids = new Int32Array(o.batch * o.maxLen);
    for (let i = 0; i < ids.length; i++) ids[i] = rng.below(o.vocab);
    const labels = new Float32Array(o.batch).map((_, b) => b % 2);
    const batch: Batch = { ids, labels, size: o.batch };
    const opts: EngineOptions = {
      model,
      layout,
      maxLen: o.maxLen,
      batchSize: o.batch,
      optimizer: adamConfig(1e-3),
      gradClip: null,
      threads,
    };
    const t0 = performance.now();
    const native = await createNativeEngine(opts);
    const ready = (performance.now() - t0) / 1000;
    native.setParams(initParams(layout, 1));
    const n = await time(native, batch, o.warmup, o.steps);
    native.dispose();
    const flops = 2 * forwardMacs(model, o.batch, o.maxLen);
    const trainGflops = 3 * flops / n.train / 1e9, evalGflops = flops / n.eval / 1e9;
    console.log(JSON.stringify({
      engine: "native",
      arch,
      threads,
      loadAvg: load(),
      readySeconds: +ready.toFixed(2),
      trainSeconds: n.trainSamples.map((s) => +s.toFixed(4)),
      evalSeconds: n.evalSamples.map((s) => +s.toFixed(4)),
    }));
    const row = [
      arch,
      n.train.toFixed(3),
      n.eval.toFixed(3),
      `${trainGflops.toFixed(1)} (${(100 * trainGflops / peak.gflops).toFixed(0)} %)`,
      `${evalGflops.toFixed(1)} (${(100 * evalGflops / peak.gflops).toFixed(0)} %)`,
    ];
    if (o.tfjs) {
      const { createTfjsEngine } = await import("../engines/tfjs/engine.ts");
      const tfjs = await createTfjsEngine(opts, "cpu");
      tfjs.setParams(initParams(layout, 1));
      const t = await time(tfjs, batch, 0, o.tfjsSteps);
      tfjs.dispose();
      console.log(JSON.stringify({
        engine: "tfjs-cpu",
        arch,
        loadAvg: load(),
        trainSeconds: t.trainSamples.map((s) => +s.toFixed(3)),
        evalSeconds: t.evalSamples.map((s) => +s.toFixed(3)),
      }));
      row.push(
        t.train.toFixed(2),
        t.eval.toFixed(2),
        `${(t.train / n.train).toFixed(0)}×`,
        `${(t.eval / n.eval).toFixed(0)}×`,
      );
    }
    rows.push(row);
  }
  const head = [
    "arch",
    "native train s",
    "native eval s",
    "train GFLOP/s (% peak)",
    "eval GFLOP/s (% peak)",
    ...(o.tfjs ? ["tfjs-cpu train s", "tfjs-cpu eval s", "train ratio", "eval ratio"] : []),
  ];
  console.log(
    `\nOriginal shape: V=${o.vocab} E=64 H=8 L=25 T=${o.maxLen} B=${o.batch}; ` +
      `medians of ${o.steps} steps; load ${load()}\n`,
  );
  console.log(`| ${head.join(" | ")} |`);
  console.log(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

if (import.meta.main) await main();
