/**
 * Seconds per training batch of the tfjs engine, standalone. Defaults are the ORIGINAL
 * shape (random vocabulary of 120,000 rows, embed 64, hidden 8, 25 layers, maxLen 200,
 * batch 1000); `--warmup` steps (on sequences of `--warmup-len`, default the full
 * length), then `--steps` timed steps and one timed `predict` of the same batch.
 *
 * ```sh
 * deno run -A bench/dev/tfjs_bench.ts --arch lstm --backend cpu --steps 1 --warmup-len 10
 * deno run -A bench/dev/tfjs_bench.ts --arch rnn --backend wasm --steps 2
 * deno run -A bench/dev/tfjs_bench.ts --checkpoint 14   # or none; default auto
 * deno run -A bench/dev/tfjs_bench.ts --memory   # peak bytes vs tfjsTrainBytes()
 * ```
 *
 * Prints one JSON line per timed step and a summary with the load average, so numbers
 * taken on a busy machine say so.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { adamConfig } from "../../models/adam.ts";
import { type Arch, ARCHS } from "../../models/cells.ts";
import { initParams, type ModelConfig, paramLayout } from "../../models/classifier.ts";
import { tfjsLossAndGrad, tfjsParams } from "../../models/tfjs.ts";
import { Rng } from "../../models/rng.ts";
import {
  createTfjsEngine,
  tfjsAvailability,
  type TfjsBackend,
  tfjsTrainBytes,
} from "../engines/tfjs/engine.ts";
import { choice, command, integer, optional, parseOrExit } from "../util/cli_kit.ts";

const BACKENDS = ["cpu", "wasm", "tensorflow"] as const;

/** `--checkpoint`: auto, none, or a segment length ≥ 1. */
const checkpointFlag = (v: string): "auto" | "none" | number =>
  v === "auto" || v === "none" ? v : integer("--checkpoint (auto, none or K)", 1)(v);

function parse() {
  const o = parseOrExit(
    command("tfjs_bench", "Seconds per training batch of the tfjs engine, standalone.")
      .option(
        "--arch <name>",
        `architecture (${ARCHS.join(", ")})`,
        choice("architecture", ARCHS),
        "lstm",
      )
      .option(
        "--backend <name>",
        `tfjs backend (${BACKENDS.join(", ")})`,
        choice("backend", BACKENDS),
        "cpu",
      )
      .option("--steps <n>", "timed steps", integer("--steps", 0), 1)
      .option("--warmup <n>", "untimed steps first", integer("--warmup", 0), 1)
      .addOption(
        optional("--warmup-len <n>", "warm-up length", "--max-len", integer("--warmup-len", 1)),
      )
      .option("--vocab <n>", "vocabulary size", integer("--vocab", 1), 120000)
      .option("--embed <n>", "embedding size", integer("--embed", 1), 64)
      .option("--hidden <n>", "hidden size", integer("--hidden", 1), 8)
      .option("--layers <n>", "layers", integer("--layers", 1), 25)
      .option("--max-len <n>", "sequence length", integer("--max-len", 1), 200)
      .option("--batch <n>", "batch size", integer("--batch", 1), 1000)
      .option(
        "--checkpoint <mode>",
        "gradient checkpointing: auto, none or a segment length K",
        checkpointFlag,
        "auto",
      )
      .option("--memory", "report peak bytes vs tfjsTrainBytes()", false),
    Deno.args,
  ).opts<{
    arch: Arch;
    backend: TfjsBackend;
    steps: number;
    warmup: number;
    warmupLen: number | null;
    vocab: number;
    embed: number;
    hidden: number;
    layers: number;
    maxLen: number;
    batch: number;
    checkpoint: "auto" | "none" | number;
    memory: boolean;
  }>();
  return {
    checkpoint: o.checkpoint === "auto" ? undefined : o.checkpoint === "none" ? null : o.checkpoint,
    arch: o.arch,
    backend: o.backend,
    steps: o.steps,
    warmup: o.warmup,
    model: {
      arch: o.arch,
      vocabSize: o.vocab,
      embedDim: o.embed,
      hiddenSize: o.hidden,
      layers: o.layers,
    } satisfies ModelConfig,
    maxLen: o.maxLen,
    warmupLen: o.warmupLen,
    batch: o.batch,
    memory: o.memory,
  };
}

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

/** Random ids `[B, T]` and balanced labels. */
function randomBatch(B: number, T: number, V: number) {
  const rng = new Rng(5, 97);
  const ids = new Int32Array(B * T);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.below(V);
  const labels = new Float32Array(B);
  for (let b = 0; b < B; b++) labels[b] = b % 2;
  return { ids, labels, size: B };
}

/**
 * Peak tensor bytes (tfjs's own count) of one loss-and-gradient pass at small T, with one
 * tape and with checkpointing every 2 steps, against {@linkcode tfjsTrainBytes}.
 */
async function memory(backend: TfjsBackend, batch: number): Promise<void> {
  const L = 5, V = 1000;
  for (const arch of ARCHS) {
    for (const [T, k] of [[4, null], [8, null], [8, 2]] as const) {
      const layout = paramLayout({ arch, vocabSize: V, embedDim: 64, hiddenSize: 8, layers: L });
      const { ids, labels } = randomBatch(batch, T, V);
      const params = tfjsParams(layout, initParams(layout, 1));
      const prof = await tf.profile(() => {
        tf.tidy(() => {
          const emb = params[0]!.dataSync() as Float32Array;
          tfjsLossAndGrad(layout, params, emb, ids, labels, T, { checkpointEvery: k });
        });
      });
      for (const p of params) p.dispose();
      const est = tfjsTrainBytes(layout, batch, T, k);
      console.log(JSON.stringify({
        arch,
        backend,
        layers: L,
        maxLen: T,
        batch,
        checkpointEvery: k,
        peakMiB: +(prof.peakBytes / 2 ** 20).toFixed(2),
        estimateMiB: +(est / 2 ** 20).toFixed(2),
      }));
    }
  }
}

async function main(): Promise<void> {
  const o = parse();
  const a = await tfjsAvailability(o.backend);
  if (!a.ok) throw new Error(`Cannot benchmark tfjs-${o.backend}: ${a.reason}`);
  console.log(`# ${a.detail}; ${navigator.hardwareConcurrency} cores; load ${load()}`);
  if (o.memory) {
    await tf.setBackend(o.backend);
    return memory(o.backend, o.batch);
  }
  const layout = paramLayout(o.model);
  const est = tfjsTrainBytes(layout, o.batch, o.maxLen);
  console.log(
    `# ${o.arch} V=${o.model.vocabSize} E=${o.model.embedDim} H=${o.model.hiddenSize} ` +
      `L=${o.model.layers} T=${o.maxLen} B=${o.batch}; estimated peak ` +
      `${(est / 2 ** 30).toFixed(2)} GiB`,
  );
  const options = (maxLen: number) => ({
    model: o.model,
    layout,
    maxLen,
    batchSize: o.batch,
    optimizer: adamConfig(1e-7),
    gradClip: null,
    threads: null,
  });
  const tuning = o.checkpoint === undefined ? {} : { checkpointEvery: o.checkpoint };
  let warmup = o.warmup;
  if (o.warmupLen !== null && warmup > 0) {
    // Warm up on short sequences: the same kernels, the same full-size Adam update, a
    // fraction of the time (for steps that take minutes).
    const w = await createTfjsEngine(options(o.warmupLen), o.backend, tuning);
    w.setParams(initParams(layout, 1));
    const b = randomBatch(o.batch, o.warmupLen, o.model.vocabSize);
    for (let i = 0; i < warmup; i++) {
      const t0 = performance.now();
      await w.trainStep(b);
      const s = +((performance.now() - t0) / 1000).toFixed(3);
      console.log(JSON.stringify({ warmup: true, maxLen: o.warmupLen, trainSeconds: s }));
    }
    w.dispose();
    warmup = 0;
  }
  const engine = await createTfjsEngine(options(o.maxLen), o.backend, tuning);
  console.log(`# ${engine.detail}`);
  engine.setParams(initParams(layout, 1));
  const batch = randomBatch(o.batch, o.maxLen, o.model.vocabSize);
  const times: number[] = [];
  for (let i = 0; i < warmup + o.steps; i++) {
    const t0 = performance.now();
    await engine.trainStep(batch);
    const s = (performance.now() - t0) / 1000;
    const warm = i < warmup;
    if (!warm) times.push(s);
    console.log(JSON.stringify({
      step: i,
      warmup: warm,
      trainSeconds: +s.toFixed(3),
      rssMiB: Math.round(Deno.memoryUsage().rss / 2 ** 20),
      load: load(),
    }));
  }
  let predictSeconds = NaN;
  if (o.steps > 0) {
    const t0 = performance.now();
    await engine.predict(batch.ids, batch.size);
    predictSeconds = (performance.now() - t0) / 1000;
  }
  engine.dispose();
  const mean = times.reduce((x, y) => x + y, 0) / Math.max(times.length, 1);
  console.log(JSON.stringify({
    engine: engine.name,
    arch: o.arch,
    trainSecondsPerBatch: times.length ? +mean.toFixed(3) : null,
    predictSecondsPerBatch: Number.isFinite(predictSeconds) ? +predictSeconds.toFixed(3) : null,
    samples: times.map((t) => +t.toFixed(3)),
    load: load(),
  }));
}

if (import.meta.main) await main();
