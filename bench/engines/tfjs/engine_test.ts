// Tests of the tfjs engine (cpu and wasm backends) against the float64 reference and the
// reference Adam (models/adam.ts = torch.optim.Adam).
//
// Tolerances (float32 engine vs float64 reference, `|a − b| ≤ atol + rtol·|b|`):
// - loss: relative 1e-5;  logits: rtol 1e-5, atol 1e-6;
// - gradient: rtol 1e-4, atol 1e-6;
// - parameters after three Adam steps (lr 1e-2): vs models/adam.ts on the engine's own
//   gradients rtol 1e-5, atol 1e-7; vs the float64 reference end to end rtol 1e-5,
//   atol 1e-5, except where |g| ~ ε (see the test).
import * as tf from "@tensorflow/tfjs";
import { adamConfig, adamState, adamStep } from "../../../models/adam.ts";
import { ARCHS } from "../../../models/cells.ts";
import { bceWithLogits, type ModelConfig, paramLayout } from "../../../models/classifier.ts";
import { referenceForward, referenceLossAndGrad } from "../../../models/reference.ts";
import { Rng } from "../../../models/rng.ts";
import { assertClose, tinyBatch, tinyConfig, tinyParams } from "../../../models/_testing.ts";
import type { Batch, Engine, EngineOptions } from "../engine.ts";
import {
  clipByGlobalNorm,
  createTfjsEngine,
  tfjsAvailability,
  type TfjsBackend,
  tfjsTrainBytes,
  type TfjsTuning,
} from "./engine.ts";

const B = 5, T = 7;
const BACKENDS = ["cpu", "wasm"] as const;

function options(arch: (typeof ARCHS)[number], over: Partial<EngineOptions> = {}): EngineOptions {
  const model = tinyConfig(arch);
  return {
    model,
    layout: paramLayout(model),
    maxLen: T,
    batchSize: B,
    optimizer: adamConfig(1e-2),
    gradClip: null,
    threads: null,
    ...over,
  };
}

function batchOf(ids: Int32Array, labels: Float64Array): Batch {
  return { ids, labels: Float32Array.from(labels), size: labels.length };
}

async function withEngine(
  opts: EngineOptions,
  backend: TfjsBackend,
  f: (e: Engine) => Promise<void> | void,
  tuning: TfjsTuning = {},
): Promise<void> {
  const e = await createTfjsEngine(opts, backend, tuning);
  try {
    await f(e);
  } finally {
    e.dispose();
  }
}

/** torch.nn.utils.clip_grad_norm_ in float64. */
function clipRef(g: Float64Array, maxNorm: number): Float64Array {
  const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  return g.map((x) => x * coef);
}

for (const backend of BACKENDS) {
  Deno.test(`tfjs-${backend} is available and says which backend runs`, async () => {
    const a = await tfjsAvailability(backend);
    if (!a.ok) throw new Error(a.reason);
    if (!a.detail.includes(`${backend} backend`)) throw new Error(`detail: ${a.detail}`);
  });

  for (const arch of ARCHS) {
    Deno.test(`tfjs-${backend} lossAndGrad of ${arch} matches the reference loss and gradient`, async () => {
      const opts = options(arch);
      const p = tinyParams(opts.layout);
      const { ids, labels } = tinyBatch(B, T, opts.model.vocabSize);
      const ref = referenceLossAndGrad(opts.layout, p, ids, labels, T);
      await withEngine(opts, backend, async (e) => {
        e.setParams(p);
        const r = await e.lossAndGrad(batchOf(ids, labels));
        assertClose(`${arch} loss`, [r.loss], [ref.loss], { atol: 0, rtol: 1e-5 });
        for (const t of opts.layout.tensors) {
          assertClose(
            `${e.name} ${arch} d/d${t.name}`,
            r.grad.subarray(t.offset, t.offset + t.size),
            ref.grad.subarray(t.offset, t.offset + t.size),
            { atol: 1e-6, rtol: 1e-4 },
          );
        }
        // lossAndGrad updates nothing.
        assertClose(`${arch} params after lossAndGrad`, e.getParams(), p, { atol: 0, rtol: 1e-7 });
      });
    });

    Deno.test(`tfjs-${backend} three Adam steps of ${arch} match models/adam.ts on the reference gradient`, async () => {
      const opts = options(arch);
      const lr = opts.optimizer.lr;
      const p = tinyParams(opts.layout);
      const ref = p.slice(), state = adamState(ref.length);
      // Adam alone: models/adam.ts fed the ENGINE's own (float32) gradients.
      const own = p.slice(), ownState = adamState(own.length);
      const minAbsGrad = new Float64Array(p.length).fill(Infinity);
      await withEngine(opts, backend, async (e) => {
        e.setParams(p);
        for (let step = 0; step < 3; step++) {
          const { ids, labels } = tinyBatch(B, T, opts.model.vocabSize, 10 + step);
          const r = referenceLossAndGrad(opts.layout, ref, ids, labels, T);
          const g = (await e.lossAndGrad(batchOf(ids, labels))).grad;
          const logits = await e.trainStep(batchOf(ids, labels));
          // The logits are those of the forward pass BEFORE the update. After an update,
          // float32 and float64 parameters differ slightly, so later logits get rtol 1e-4.
          assertClose(
            `${arch} step ${step} logits`,
            logits,
            r.logits,
            step === 0 ? { atol: 1e-6, rtol: 1e-5 } : { atol: 1e-5, rtol: 1e-4 },
          );
          const loss = bceWithLogits(logits, labels).loss;
          assertClose(`${arch} step ${step} loss`, [loss], [r.loss], { atol: 0, rtol: 1e-5 });
          adamStep(ref, r.grad, state, opts.optimizer);
          adamStep(own, g, ownState, opts.optimizer);
          r.grad.forEach((x, i) => minAbsGrad[i] = Math.min(minAbsGrad[i]!, Math.abs(x)));
        }
        const got = e.getParams();
        assertClose(`${e.name} ${arch} params vs Adam on the engine's gradients`, got, own, {
          atol: 1e-7,
          rtol: 1e-5,
        });
        // Against the float64 reference end to end. Where the reference gradient ever fell
        // below 1e-6 (≤ 100 ε; embedding rows of absent tokens are exactly 0 on both sides
        // and stay exact), Adam's step lr·m/(√v + ε) turns float32's ~1e-9 gradient error
        // into up to ~lr: there only |Δ| ≤ 3·lr is required.
        const tight = (i: number) => !(minAbsGrad[i]! < 1e-6 && minAbsGrad[i]! > 0);
        const idx = [...got.keys()].filter(tight);
        assertClose(
          `${e.name} ${arch} params after 3 steps (well-conditioned)`,
          idx.map((i) => got[i]!),
          idx.map((i) => ref[i]!),
          { atol: 1e-5, rtol: 1e-5 },
        );
        const loose = [...got.keys()].filter((i) => !tight(i));
        assertClose(
          `${e.name} ${arch} params after 3 steps (|g| ~ ε)`,
          loose.map((i) => got[i]!),
          loose.map((i) => ref[i]!),
          { atol: 3 * lr, rtol: 0 },
        );
        if (loose.length > got.length / 20) {
          throw new Error(`${loose.length} of ${got.length} gradients below 1e-6: test is weak`);
        }
        const s = e.getOptimizerState();
        if (s.step !== 3) throw new Error(`optimizer step ${s.step}, want 3`);
        assertClose(`${arch} Adam m`, s.m, ownState.m, { atol: 1e-10, rtol: 1e-5 });
        assertClose(`${arch} Adam v`, s.v, ownState.v, { atol: 1e-14, rtol: 1e-5 });
      });
    });
  }

  Deno.test(`tfjs-${backend} clips the global gradient norm as torch does`, async () => {
    const opts = options("gru", { gradClip: 0.05 });
    const p = tinyParams(opts.layout);
    const { ids, labels } = tinyBatch(B, T, opts.model.vocabSize);
    const r = referenceLossAndGrad(opts.layout, p, ids, labels, T);
    const norm = Math.sqrt(r.grad.reduce((s, x) => s + x * x, 0));
    if (!(norm > 0.1)) throw new Error(`test needs a gradient norm above the clip, got ${norm}`);
    const ref = p.slice();
    adamStep(ref, clipRef(r.grad, 0.05), adamState(ref.length), opts.optimizer);
    await withEngine(opts, backend, async (e) => {
      e.setParams(p);
      await e.trainStep(batchOf(ids, labels));
      assertClose("params after a clipped step", e.getParams(), ref, { atol: 1e-5, rtol: 1e-5 });
      // Adam's first moment holds (1 − β1)·g: the clipped gradient.
      const m = e.getOptimizerState().m.map((x) => x / 0.1);
      assertClose("clipped gradient", m, clipRef(r.grad, 0.05), { atol: 1e-7, rtol: 1e-4 });
    });
  });

  Deno.test(`tfjs-${backend} leaks no tensors across train steps, predict and lossAndGrad`, async () => {
    const opts = options("lstm", { gradClip: 1 });
    const { ids, labels } = tinyBatch(B, T, opts.model.vocabSize);
    for (const checkpointEvery of [null, 2]) {
      const before = tf.memory().numTensors;
      await withEngine(opts, backend, async (e) => {
        e.setParams(tinyParams(opts.layout));
        await e.trainStep(batchOf(ids, labels));
        const after1 = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) await e.trainStep(batchOf(ids, labels));
        await e.predict(ids, B);
        await e.lossAndGrad(batchOf(ids, labels));
        e.setOptimizerState(e.getOptimizerState());
        e.setParams(e.getParams());
        const after4 = tf.memory().numTensors;
        if (after4 !== after1) {
          throw new Error(
            `checkpointEvery ${checkpointEvery}: tensors grew from ${after1} to ${after4}`,
          );
        }
      }, { checkpointEvery });
      const end = tf.memory().numTensors;
      if (end !== before) throw new Error(`${end - before} tensors remain after dispose()`);
    }
  });

  Deno.test(`tfjs-${backend} setParams/getParams and the optimizer state round-trip`, async () => {
    const opts = options("rnn");
    const rng = new Rng(3);
    const p = Float32Array.from({ length: opts.layout.total }, () => rng.normal());
    await withEngine(opts, backend, (e) => {
      e.setParams(p);
      assertClose("params round trip", e.getParams(), p, { atol: 0, rtol: 0 });
      const m = Float32Array.from(p, (x) => x / 10), v = Float32Array.from(p, (x) => x * x);
      e.setOptimizerState({ m, v, step: 4 });
      const s = e.getOptimizerState();
      assertClose("m round trip", s.m, m, { atol: 0, rtol: 0 });
      assertClose("v round trip", s.v, v, { atol: 0, rtol: 0 });
      if (s.step !== 4) throw new Error(`step ${s.step}, want 4`);
      e.setParams(p); // resets Adam
      const z = e.getOptimizerState();
      if (z.step !== 0 || z.m.some((x) => x !== 0) || z.v.some((x) => x !== 0)) {
        throw new Error("setParams did not reset the optimizer state");
      }
      let msg = "";
      try {
        e.setParams(p.subarray(1));
      } catch (err) {
        msg = (err as Error).message;
      }
      if (!msg.startsWith(`Cannot set parameters of engine ${e.name}`)) throw new Error(msg);
    });
  });

  Deno.test(`tfjs-${backend} predict matches the reference, also for a short last batch`, async () => {
    const opts = options("gru");
    const p = tinyParams(opts.layout);
    const { ids } = tinyBatch(B, T, opts.model.vocabSize);
    await withEngine(opts, backend, async (e) => {
      e.setParams(p);
      for (const size of [B, 3]) {
        const want = referenceForward(opts.layout, p, ids.subarray(0, size * T), size, T).logits;
        assertClose(`predict size ${size}`, await e.predict(ids, size), want, {
          atol: 1e-6,
          rtol: 1e-5,
        });
      }
    });
  });
}

Deno.test("tfjs engines on different backends can be used in turn in one process", async () => {
  const opts = options("lstm");
  const p = tinyParams(opts.layout);
  const cpu = await createTfjsEngine(opts, "cpu");
  const wasm = await createTfjsEngine(opts, "wasm");
  try {
    cpu.setParams(p);
    wasm.setParams(p);
    for (let step = 0; step < 2; step++) {
      const { ids, labels } = tinyBatch(B, T, opts.model.vocabSize, 20 + step);
      const a = await cpu.trainStep(batchOf(ids, labels));
      const b = await wasm.trainStep(batchOf(ids, labels));
      assertClose(`step ${step} logits cpu vs wasm`, a, b, { atol: 1e-6, rtol: 1e-5 });
    }
    assertClose("params cpu vs wasm", cpu.getParams(), wasm.getParams(), {
      atol: 1e-6,
      rtol: 1e-5,
    });
    if (tf.getBackend() !== "wasm") throw new Error(`backend is ${tf.getBackend()}`);
  } finally {
    cpu.dispose();
    wasm.dispose();
  }
});

Deno.test("tfjs-wasm trains the original-shape LSTM with checkpointing and refuses what cannot fit", async () => {
  const original: ModelConfig = {
    arch: "lstm",
    vocabSize: 120_000,
    embedDim: 64,
    hiddenSize: 8,
    layers: 25,
  };
  const opts = (model: ModelConfig): EngineOptions => ({
    model,
    layout: paramLayout(model),
    maxLen: 200,
    batchSize: 1000,
    optimizer: adamConfig(1e-10),
    gradClip: null,
    threads: null,
  });
  // One tape would need ~11.5 GiB: the engine plans gradient checkpointing instead.
  const whole = tfjsTrainBytes(opts(original).layout, 1000, 200);
  if (!(whole > 4 * 1024 ** 3)) throw new Error(`one tape estimated at only ${whole} bytes`);
  await withEngine(opts(original), "wasm", (e) => {
    if (!e.detail.includes("gradient checkpointing every")) throw new Error(e.detail);
  });
  // A 5M-row embedding (1.2 GiB, ×7 with Adam and gradients) cannot fit at all.
  let msg = "";
  try {
    (await createTfjsEngine(opts({ ...original, vocabSize: 5_000_000 }), "wasm")).dispose();
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!(msg.startsWith("Cannot train lstm") && msg.includes("--engine native or tfjs-cpu"))) {
    throw new Error(`unexpected: "${msg}"`);
  }
});

Deno.test("tfjsTrainBytes grows linearly in batch and sequence length", () => {
  const layout = paramLayout(tinyConfig("gru", { hiddenSize: 8, layers: 25, embedDim: 64 }));
  const fixed = tfjsTrainBytes(layout, 0, 0);
  const one = tfjsTrainBytes(layout, 1000, 100) - fixed;
  const two = tfjsTrainBytes(layout, 1000, 200) - fixed;
  const four = tfjsTrainBytes(layout, 2000, 200) - fixed;
  if (Math.abs(two - 2 * one) > 1 || Math.abs(four - 2 * two) > 1) {
    throw new Error(`not linear: ${one} ${two} ${four}`);
  }
});

Deno.test("tfjs-tensorflow says how to install tfjs-node when it is missing", async () => {
  const a = await tfjsAvailability("tensorflow");
  if (a.ok) return; // the user installed it: nothing to check here
  if (!a.reason.includes("install @tensorflow/tfjs-node (needs libtensorflow) to use it")) {
    throw new Error(`unexpected reason: ${a.reason}`);
  }
  let msg = "";
  try {
    await createTfjsEngine(options("rnn"), "tensorflow");
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.startsWith("Cannot use engine tfjs-tensorflow: ")) throw new Error(msg);
});

Deno.test("clipByGlobalNorm leaves small gradients alone and scales large ones", () => {
  tf.tidy(() => {
    const g = [tf.tensor1d([3, 0]), tf.tensor2d([[0, 4]])];
    const same = clipByGlobalNorm(g, 10).map((t) => Array.from(t.dataSync()));
    if (same.flat().join() !== "3,0,0,4") throw new Error(`got ${same}`);
    const half = clipByGlobalNorm(g, 2.5).flatMap((t) => Array.from(t.dataSync()));
    assertClose("clipped", half, [1.5, 0, 0, 2], { atol: 1e-6, rtol: 1e-6 });
  });
});
