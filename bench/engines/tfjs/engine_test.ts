/**
 * Tests of the tfjs engine: the engine contract (`../conformance.ts`) on the cpu and wasm
 * backends and every cell, and what only this engine has: backend availability, tensor
 * leaks, backends used in turn, the memory plan (gradient checkpointing, refusal of what
 * cannot fit), the tfjs-node hint and global-norm clipping.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { adamConfig } from "../../../models/adam.ts";
import { ARCHS } from "../../../models/cells.ts";
import { type ModelConfig, paramLayout, READOUTS } from "../../../models/classifier.ts";
import { referenceLossAndGrad } from "../../../models/reference.ts";
import { assertClose, ignorableTest, tinyConfig } from "../../../models/_testing.ts";
import { engineConformance, TOLERANCES } from "../conformance.ts";
import {
  assertCloseAll,
  assertGradClose,
  engineFixture,
  engineOptions,
  FIXTURE,
  withEngine,
} from "../_testing.ts";
import type { EngineOptions } from "../engine.ts";
import { clipByGlobalNorm, createTfjsEngine, tfjsAvailability, tfjsTrainBytes } from "./engine.ts";

const BACKENDS = ["cpu", "wasm"] as const;

for (const backend of BACKENDS) {
  engineConformance(`tfjs-${backend}`, (o) => createTfjsEngine(o, backend), {
    wording: { params: new RegExp(`^Cannot set parameters of engine tfjs-${backend}`) },
  });

  Deno.test(`tfjs-${backend} is available and says which backend runs`, async () => {
    const a = await tfjsAvailability(backend);
    if (!a.ok) throw new Error(a.reason);
    if (!a.detail.includes(`${backend} backend`)) throw new Error(`detail: ${a.detail}`);
  });

  Deno.test(`tfjs-${backend} leaks no tensors across train steps, predict and lossAndGrad, with either readout`, async () => {
    for (const readout of READOUTS) {
      const { layout, params, batch } = engineFixture("lstm", { model: { readout } });
      const opts = engineOptions(layout, { gradClip: 1 });
      for (const checkpointEvery of [null, 2]) {
        const before = tf.memory().numTensors;
        await withEngine(() => createTfjsEngine(opts, backend, { checkpointEvery }), async (e) => {
          e.setParams(params);
          await e.trainStep(batch);
          const after1 = tf.memory().numTensors;
          for (let i = 0; i < 3; i++) await e.trainStep(batch);
          await e.predict(batch.ids, batch.size);
          await e.lossAndGrad(batch);
          e.setOptimizerState(e.getOptimizerState());
          e.setParams(e.getParams());
          const after4 = tf.memory().numTensors;
          if (after4 !== after1) {
            throw new Error(
              `checkpointEvery ${checkpointEvery}: tensors grew from ${after1} to ${after4}`,
            );
          }
        });
        const end = tf.memory().numTensors;
        if (end !== before) throw new Error(`${end - before} tensors remain after dispose()`);
      }
    }
  });

  Deno.test(`tfjs-${backend} with the readout max and gradient checkpointing matches the float64 reference`, async () => {
    for (const cell of ARCHS) {
      const f = engineFixture(cell, { model: { readout: "max" } });
      const ref = referenceLossAndGrad(f.layout, f.params, f.batch.ids, f.labels, FIXTURE.T);
      // 1: every step its own chunk; 3: chunks of 3, 3 and 1 steps (T = 7).
      for (const checkpointEvery of [1, 3]) {
        const opts = engineOptions(f.layout);
        await withEngine(() => createTfjsEngine(opts, backend, { checkpointEvery }), async (e) => {
          if (!e.detail.includes(`checkpointing every ${checkpointEvery} steps`)) {
            throw new Error(e.detail);
          }
          e.setParams(f.params);
          const at = `${cell} max checkpointEvery ${checkpointEvery}`;
          const { loss, grad } = await e.lossAndGrad(f.batch);
          assertCloseAll(`${at} loss`, [loss], [ref.loss], TOLERANCES.loss);
          assertGradClose(at, f.layout, grad, ref.grad, TOLERANCES.gradient);
          const logits = await e.trainStep(f.batch);
          assertCloseAll(`${at} trainStep logits`, logits, ref.logits, TOLERANCES.logits);
        });
      }
    }
  });
}

Deno.test("tfjs engines on different backends can be used in turn in one process", async () => {
  const { layout, params } = engineFixture("lstm");
  const opts = engineOptions(layout);
  const cpu = await createTfjsEngine(opts, "cpu");
  const wasm = await createTfjsEngine(opts, "wasm");
  try {
    cpu.setParams(params);
    wasm.setParams(params);
    for (let step = 0; step < 2; step++) {
      const { batch } = engineFixture("lstm", { seed: 20 + step });
      const a = await cpu.trainStep(batch);
      const b = await wasm.trainStep(batch);
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
  await withEngine(() => createTfjsEngine(opts(original), "wasm"), (e) => {
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

const TENSORFLOW = await tfjsAvailability("tensorflow");
const tensorflowMissing = TENSORFLOW.ok ? null : TENSORFLOW.reason;

ignorableTest({
  name: "tfjs-tensorflow says how to install tfjs-node when it is missing",
  ignore: tensorflowMissing === null ? "tfjs-node is installed here, so nothing is missing" : null,
  async fn() {
    const hint = "install @tensorflow/tfjs-node (needs libtensorflow) to use it";
    if (!tensorflowMissing?.includes(hint)) {
      throw new Error(`unexpected reason: ${tensorflowMissing}`);
    }
    let msg = "";
    try {
      await createTfjsEngine(engineOptions(paramLayout(tinyConfig("rnn"))), "tensorflow");
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.startsWith("Cannot use engine tfjs-tensorflow: ")) throw new Error(msg);
  },
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
