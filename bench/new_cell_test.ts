/**
 * A fourth cell, defined in this file only, through every engine and a smoke bench: the
 * proof that adding a cell is one definition and nothing else. The cell is a coupled-gate
 * unit (one gate decides both how much state to keep and how much candidate to take in:
 * `h' = f h + (1 − f) tanh(x W_xc + h W_hc + b_c)`), which none of the built-ins is.
 *
 * Tolerances: the engines are held to the conformance suite's (`engines/conformance.ts`);
 * ONNX logits against the float64 reference within 1e-5 absolute + 1e-4 relative; the
 * reference's own gradient against central finite differences within 1e-6 + 1e-5 relative.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import type { CellSpec } from "../models/ir.ts";
import { cellNames, registerCell } from "../models/cells.ts";
import { referenceForward, referenceLossAndGrad } from "../models/reference.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams } from "../models/_testing.ts";
import { exportOnnx, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from "../models/onnx/export.ts";
import { availability } from "./engines/registry.ts";
import { conformanceOnEveryEngine } from "./engines/_every_engine.ts";
import { parseBenchArgs } from "./cli.ts";
import { runBench } from "./run.ts";
import { memoryProgress } from "./util/progress.ts";

const coupled: CellSpec<never, {
  W_xf: "input";
  W_hf: "hidden";
  b_f: "bias";
  W_xc: "input";
  W_hc: "hidden";
  b_c: "bias";
}> = {
  name: "coupled",
  states: ["h"],
  weights: {
    W_xf: "input",
    W_hf: "hidden",
    b_f: "bias",
    W_xc: "input",
    W_hc: "hidden",
    b_c: "bias",
  },
  step: (o, x, { h }, w) => {
    const f = o.sigmoid(o.affine(x, w.W_xf, h, w.W_hf, w.b_f));
    const cand = o.tanh(o.affine(x, w.W_xc, h, w.W_hc, w.b_c));
    return { h: o.add(o.mul(f, h), o.mul(o.sub(1, f), cand)) };
  },
  gateBiasInit: { b_f: 1 },
};
registerCell(coupled);

const B = 6, T = 7;
const layout = tinyLayout("coupled");
const params = tinyParams(layout);
const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);
const ref = referenceLossAndGrad(layout, params, ids, labels, T);
const LOGITS = { atol: 1e-5, rtol: 1e-4 };

Deno.test("a cell defined in a test joins the registry and the CLI's architectures", () => {
  if (!cellNames().includes("coupled")) throw new Error(`not registered: ${cellNames()}`);
  const args = parseBenchArgs(["--arch", "coupled,lstm"]);
  if (args.archs.join() !== "coupled,lstm") throw new Error(`--arch gave ${args.archs}`);
});

Deno.test("the reference gradient of the new cell matches central finite differences", () => {
  const h = 1e-6;
  const lossAt = (p: Float64Array) => referenceLossAndGrad(layout, p, ids, labels, T).loss;
  const picks = layout.tensors.flatMap((t) => [t.offset, t.offset + t.size - 1]);
  const fd = picks.map((i) => {
    const up = params.slice(), down = params.slice();
    up[i]! += h;
    down[i]! -= h;
    return (lossAt(up) - lossAt(down)) / (2 * h);
  });
  assertClose("reference grad vs finite differences", picks.map((i) => ref.grad[i]!), fd, {
    atol: 1e-6,
    rtol: 1e-5,
  });
});

// Every engine's conformance suite (forward, gradients, Adam, clipping, determinism, bad
// input), on the new cell only.
conformanceOnEveryEngine(["coupled"]);

const native = await availability("native", { device: 0 });

Deno.test("the ONNX scan export of the new cell computes the reference's logits", async () => {
  const bytes = exportOnnx(layout, params, { style: "scan", maxLen: T, metadata: {} });
  const s = await ort.InferenceSession.create(bytes);
  try {
    const feed = new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [B, T]);
    const out = await s.run({ [ONNX_INPUT_NAME]: feed });
    assertClose("onnx logits", out[ONNX_OUTPUT_NAME]!.data as Float32Array, ref.logits, LOGITS);
  } finally {
    await s.release();
  }
  const forward = referenceForward(layout, params, ids, B, T);
  assertClose("reference forward vs loss pass", forward.logits, ref.logits, { atol: 0, rtol: 0 });
});

Deno.test("the native ONNX export refuses the new cell, naming what it lacks", () => {
  try {
    exportOnnx(layout, params, { style: "native", maxLen: T, metadata: {} });
  } catch (e) {
    if (!String(e).includes("onnxBuiltin")) throw e;
    return;
  }
  throw new Error("the native export accepted a cell without an onnxBuiltin mapping");
});

Deno.test({
  name: "a smoke bench trains the new cell, exports it to ONNX and records it" +
    (native.ok ? "" : ` (ignored: ${native.reason})`),
  ignore: !native.ok,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnnbench-new-cell-" });
    try {
      const r = await runBench(
        parseBenchArgs([
          ...["--profile", "smoke", "--arch", "coupled", "--engine", "native", "--epochs", "1"],
          ...["--limit-batches", "2", "--batch-sizes", "1,8", "--workers", "1", "--out", dir],
        ]),
        memoryProgress(),
      );
      const run = r.results.runs[0];
      if (!r.ok || run === undefined || r.results.runs.length !== 1) {
        throw new Error(`bench failed: ${JSON.stringify(r.results.runs.map((x) => x.failure))}`);
      }
      if (run.arch !== "coupled" || run.status !== "ok") throw new Error(`run ${run.arch}`);
      if (run.epochs.length !== 2) throw new Error(`epochs: ${run.epochs.length}`);
      if (run.onnx === null || !(run.onnx.maxAbsDiff <= 1e-4)) {
        throw new Error(`ONNX parity: ${JSON.stringify(run.onnx)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
