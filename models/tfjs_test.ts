// Tests of the tfjs lowering against the float64 reference, on both in-process backends.
//
// Tolerances (float32 tfjs vs float64 reference, `|a − b| ≤ atol + rtol·|b|`):
// - logits and single ops: rtol 1e-5, atol 1e-6;
// - gradients vs the reference's analytic gradient: rtol 1e-4, atol 1e-6;
// - gradients vs central finite differences (h = 1e-6) of the float64 REFERENCE loss:
//   rtol 1e-3, atol 1e-5.
import * as tf from "@tensorflow/tfjs";
import { ARCHS, cellGraph } from "./cells.ts";
import { bceWithLogits, READOUTS } from "./classifier.ts";
import type { ForwardOp, Node } from "./ir.ts";
import { interpret, referenceForward, referenceLossAndGrad } from "./reference.ts";
import { Rng } from "./rng.ts";
import {
  embedSteps,
  TFJS_OPS,
  tfjsBce,
  tfjsCellStep,
  tfjsForward,
  tfjsLogits,
  tfjsLossAndGrad,
  tfjsParams,
  timeMajor,
} from "./tfjs.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams, type Tolerance } from "./_testing.ts";

const B = 5, T = 7;
const LOGITS: Tolerance = { atol: 1e-6, rtol: 1e-5 };
const ANALYTIC: Tolerance = { atol: 1e-6, rtol: 1e-4 };
const FINITE_DIFF: Tolerance = { atol: 1e-5, rtol: 1e-3 };

const BACKENDS = ["cpu", "wasm"] as const;
tf.env().set("PROD", true);
let wasmReady: Promise<void> | null = null;
async function use(backend: (typeof BACKENDS)[number]): Promise<void> {
  if (backend === "wasm") {
    wasmReady ??= import("@tensorflow/tfjs-backend-wasm").then((w) =>
      w.setWasmPaths(new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm")).href)
    );
    await wasmReady;
  }
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`Cannot start the tfjs ${backend} backend`);
  }
}

const data = (t: tf.Tensor) => t.dataSync() as Float32Array;

for (const backend of BACKENDS) {
  Deno.test(`TFJS_OPS on ${backend} match REFERENCE_OPS op by op at random points`, async () => {
    await use(backend);
    const rng = new Rng(5);
    const rand = (n: number) => Float64Array.from({ length: n }, () => rng.uniformIn(-2, 2));
    const [x, h, k, w, bias, u] = [
      rand(B * 3),
      rand(B * 4),
      rand(B * 4),
      rand(3 * 4),
      rand(4),
      rand(4),
    ];
    const weights: Record<string, Float64Array> = { W: w, b: bias, u };
    const shapes: Record<string, number[]> = { W: [3, 4], b: [4], u: [4] };
    // A graph of every forward op: inputs, then each op once.
    const nodes: Node[] = [
      { op: "input", id: 0, size: "I" },
      { op: "state", id: 1, size: "H", name: "h" },
      { op: "state", id: 2, size: "H", name: "k" },
      { op: "const", id: 3, size: "scalar", value: 0.75 },
      { op: "matmul", id: 4, size: "H", a: 0, param: "W" },
      { op: "addBias", id: 5, size: "H", a: 4, param: "b" },
      { op: "add", id: 6, size: "H", a: 1, b: 2 },
      { op: "sub", id: 7, size: "H", a: 3, b: 1 },
      { op: "mul", id: 8, size: "H", a: 2, b: 3 },
      { op: "sigmoid", id: 9, size: "H", a: 1 },
      { op: "tanh", id: 10, size: "H", a: 2 },
      { op: "scale", id: 11, size: "H", a: 1, param: "u" },
      { op: "relu", id: 12, size: "H", a: 6 },
    ];
    const covered = new Set(nodes.map((n) => n.op));
    for (const op of Object.keys(TFJS_OPS) as ForwardOp[]) {
      if (!covered.has(op)) throw new Error(`op "${op}" is not exercised by this test`);
    }
    const ref = interpret(nodes, {
      B,
      x,
      states: { h, k },
      gradIn: {},
      saved: [],
      weight: (n) => {
        const d = weights[n]!;
        return n === "W" ? { data: d, rows: 3, cols: 4 } : { data: d, rows: 1, cols: 4 };
      },
    });
    tf.tidy(() => {
      const f32 = (a: Float64Array, s: number[]) => tf.tensor(Float32Array.from(a), s);
      const values: tf.Tensor[] = [];
      const ctx = {
        x: f32(x, [B, 3]) as tf.Tensor2D,
        states: { h: f32(h, [B, 4]) as tf.Tensor2D, k: f32(k, [B, 4]) as tf.Tensor2D },
        weight: (n: string) => f32(weights[n]!, shapes[n]!),
        constant: (v: number) => tf.scalar(v),
        values,
      };
      for (const n of nodes) {
        values.push(TFJS_OPS[n.op as ForwardOp](n, ctx));
        assertClose(
          `${backend} op ${n.op} (node ${n.id})`,
          data(values[n.id]!),
          ref[n.id]!,
          LOGITS,
        );
      }
    });
  });

  for (const arch of ARCHS) {
    for (const readout of READOUTS) {
      const as = readout === "last" ? "" : ` with the readout ${readout}`;
      Deno.test(`tfjs logits of ${arch}${as} on ${backend} match the float64 reference`, async () => {
        await use(backend);
        const layout = tinyLayout(arch, { readout });
        const p = tinyParams(layout);
        const { ids } = tinyBatch(B, T, layout.config.vocabSize);
        const want = referenceForward(layout, p, ids, B, T).logits;
        tf.tidy(() => {
          const params = tfjsParams(layout, p);
          // End to end (customGrad embedding + unstack) and the engine's path (JS gather).
          assertClose(
            `${arch} ${backend} tfjsForward`,
            data(tfjsForward(layout, params, ids, B, T)),
            want,
            LOGITS,
          );
          const xs = embedSteps(
            data(params[0]!),
            layout.config.embedDim,
            timeMajor(ids, B, T),
            B,
            T,
          );
          for (const tidySteps of [true, false]) {
            assertClose(
              `${arch} ${backend} tfjsLogits (tidySteps ${tidySteps})`,
              data(tfjsLogits(layout, params, xs, { tidySteps })),
              want,
              LOGITS,
            );
          }
        });
      });

      Deno.test(`tfjs gradient of ${arch}${as} on ${backend} matches the reference's analytic gradient and loss, with and without checkpointing`, async () => {
        await use(backend);
        const layout = tinyLayout(arch, { readout });
        const p = tinyParams(layout);
        const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);
        const ref = referenceLossAndGrad(layout, p, ids, labels, T);
        // null: one tape; 1: every step; 3: chunks of 3, 3 and 1 steps.
        for (const checkpointEvery of [null, 1, 3]) {
          const what = `${arch} ${backend} checkpointEvery ${checkpointEvery}`;
          tf.tidy(() => {
            const params = tfjsParams(layout, p);
            const r = tfjsLossAndGrad(layout, params, data(params[0]!), ids, labels, T, {
              checkpointEvery,
            });
            assertClose(`${what} loss`, data(r.loss), [ref.loss], { atol: 0, rtol: 1e-5 });
            assertClose(`${what} logits`, data(r.logits), ref.logits, LOGITS);
            layout.tensors.forEach((t, i) => {
              assertClose(
                `${what} d/d${t.name}`,
                data(r.grads[i]!),
                ref.grad.subarray(t.offset, t.offset + t.size),
                ANALYTIC,
              );
            });
          });
        }
      });
    }
  }
}

for (const arch of ARCHS) {
  for (const readout of READOUTS) {
    const as = readout === "last" ? "" : ` with the readout ${readout}`;
    Deno.test(`tfjs gradient of ${arch}${as} matches central finite differences of the float64 reference loss on every parameter`, async () => {
      await use("cpu");
      const layout = tinyLayout(arch, { readout });
      const p = tinyParams(layout);
      const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);
      const lossAt = (q: Float64Array) =>
        bceWithLogits(referenceForward(layout, q, ids, B, T).logits, labels).loss;
      const grads = tf.tidy(() => {
        const params = tfjsParams(layout, p);
        return tfjsLossAndGrad(layout, params, data(params[0]!), ids, labels, T).grads.map(data);
      });
      const h = 1e-6;
      layout.tensors.forEach((t, i) => {
        const fd = new Float64Array(t.size);
        const q = p.slice();
        for (let j = 0; j < t.size; j++) {
          const k = t.offset + j, orig = q[k]!;
          q[k] = orig + h;
          const up = lossAt(q);
          q[k] = orig - h;
          fd[j] = (up - lossAt(q)) / (2 * h);
          q[k] = orig;
        }
        assertClose(
          `${arch}${as} tfjs d/d${t.name} vs finite differences`,
          grads[i]!,
          fd,
          FINITE_DIFF,
        );
      });
    });

    Deno.test(`tf.grads through tfjsForward (customGrad embedding) of ${arch}${as} equals tfjsLossAndGrad, with and without checkpointing`, async () => {
      await use("cpu");
      const layout = tinyLayout(arch, { readout });
      const p = tinyParams(layout);
      const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);
      tf.tidy(() => {
        const params = tfjsParams(layout, p);
        const y = tf.tensor1d(Float32Array.from(labels));
        const auto = tf.grads((...ps: tf.Tensor[]) =>
          tfjsBce(tfjsForward(layout, ps, ids, B, T), y)
        )(
          params,
        );
        for (const checkpointEvery of [null, 3]) {
          const fast = tfjsLossAndGrad(layout, params, data(params[0]!), ids, labels, T, {
            checkpointEvery,
          }).grads;
          layout.tensors.forEach((t, i) => {
            assertClose(
              `${arch}${as} checkpointEvery ${checkpointEvery} d/d${t.name}`,
              data(auto[i]!),
              data(fast[i]!),
              { atol: 1e-7, rtol: 1e-5 },
            );
          });
        }
      });
    });
  }
}

Deno.test("tfjsLossAndGrad (with and without checkpointing) and tfjsForward leave no tensors behind inside tf.tidy, with either readout", async () => {
  await use("cpu");
  for (const readout of READOUTS) {
    const layout = tinyLayout("lstm", { readout });
    const p = tinyParams(layout);
    const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const params = tfjsParams(layout, p);
      tfjsLossAndGrad(layout, params, data(params[0]!), ids, labels, T);
      tfjsLossAndGrad(layout, params, data(params[0]!), ids, labels, T, { checkpointEvery: 2 });
      tfjsForward(layout, params, ids, B, T);
    });
    const after = tf.memory().numTensors;
    if (after !== before) throw new Error(`${readout}: ${after - before} tensors leaked`);
  }
});

Deno.test("tfjsCellStep refuses backward-only ops with a clear message", () => {
  const g = cellGraph("rnn");
  const bad = { ...g, nodes: [...g.nodes, { op: "fwd", id: g.nodes.length, size: "H", ref: 0 }] };
  let msg = "";
  try {
    tf.tidy(() => {
      const z = tf.zeros([1, 4]) as tf.Tensor2D;
      tfjsCellStep(bad as typeof g, {
        x: tf.zeros([1, 5]) as tf.Tensor2D,
        states: { h: z },
        weight: (n) =>
          n === "b_h" ? tf.zeros([4]) : n === "W_xh" ? tf.zeros([5, 4]) : tf.zeros([4, 4]),
        constant: (v) => tf.scalar(v),
      });
    });
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.startsWith(`Cannot lower op "fwd" for tfjs`)) throw new Error(`got "${msg}"`);
});

Deno.test("tfjsForward rejects token ids outside the vocabulary", () => {
  const layout = tinyLayout("rnn");
  const ids = new Int32Array(B * T).fill(layout.config.vocabSize);
  let msg = "";
  try {
    tf.tidy(() => tfjsForward(layout, tfjsParams(layout, tinyParams(layout)), ids, B, T));
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes("outside [0, 11)")) throw new Error(`got "${msg}"`);
});
