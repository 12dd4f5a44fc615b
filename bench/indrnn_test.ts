/**
 * The IndRNN example (`models/examples/indrnn.ts`: relu and a diagonal recurrent weight,
 * the two ops none of the built-in cells uses) through every engine and a smoke bench:
 * the engine conformance suite (`engines/conformance.ts`: logits within 1e-5 of the float64
 * reference, gradients, Adam, clipping, determinism) on native, tfjs-cpu and cuda on the
 * emulator, and native's logits and gradient at a wide hidden size (values in arrays, the
 * generated C's other code path); the ONNX scan export's logits within 1e-5 of the reference in every schedule
 * and value layout (the wavefront stacks the diagonal weights of several layers); and a
 * smoke bench that trains it and exports ONNX with parity ≤ 1e-4.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { registerCell } from "../models/cells.ts";
import { indrnn } from "../models/examples/indrnn.ts";
import { referenceForward, referenceLossAndGrad } from "../models/reference.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams } from "../models/_testing.ts";
import { exportOnnx, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from "../models/onnx/export.ts";
import type { ScanOptions } from "../models/onnx/scan_options.ts";
import { availability } from "./engines/registry.ts";
import { TOLERANCES } from "./engines/conformance.ts";
import { createNativeEngine } from "./engines/native/engine.ts";
import {
  assertCloseAll,
  assertGradClose,
  engineFixture,
  engineOptions,
  FIXTURE,
  withEngine,
} from "./engines/_testing.ts";
import { parseBenchArgs } from "./cli.ts";
import { runBench } from "./run.ts";
import { memoryProgress } from "./util/progress.ts";

registerCell(indrnn);

const native = await availability("native", { device: 0 });
// The conformance suite on every engine runs on IndRNN in example_cells_test.ts (it covers
// every file of models/examples/).

Deno.test({
  name: "native logits and gradient of a wide IndRNN (hidden 20) match the float64 reference" +
    (native.ok ? "" : ` (ignored: ${native.reason})`),
  ignore: !native.ok,
  fn: async () => {
    const f = engineFixture("indrnn", { model: { hiddenSize: 20, layers: 2 } });
    const ref = referenceLossAndGrad(f.layout, f.params, f.batch.ids, f.labels, FIXTURE.T);
    const opts = engineOptions(f.layout, { threads: 2 });
    await withEngine(() => createNativeEngine(opts), async (e) => {
      e.setParams(f.params);
      const logits = await e.predict(f.batch.ids, f.batch.size);
      assertCloseAll("wide indrnn logits", logits, ref.logits, TOLERANCES.logits);
      const { grad } = await e.lossAndGrad(f.batch);
      assertGradClose("wide indrnn", f.layout, grad, ref.grad, TOLERANCES.gradient);
    });
  },
});

// Layers 3 and 5: the wavefront runs 2 and 4 layers above layer 0 as stacked blocks.
for (const layers of [3, 5]) {
  Deno.test(`the ONNX scan export of IndRNN (${layers} layers) computes the reference's logits in every form`, async () => {
    const B = 6, T = 7;
    const layout = tinyLayout("indrnn", { layers });
    const params = tinyParams(layout);
    const { ids } = tinyBatch(B, T, layout.config.vocabSize);
    const want = referenceForward(layout, params, ids, B, T).logits;
    const forms: ScanOptions[] = [
      {},
      { schedule: "wavefront" },
      { schedule: "wavefront", blocks: 2 },
      { schedule: "timestep" },
      { layout: "batch", bias: "gemm" },
      { layout: "batch", bias: "gemm", schedule: "wavefront", hoist: "matmul" },
      { gemm: "none" },
    ];
    for (const scan of forms) {
      const bytes = exportOnnx(layout, params, { style: "scan", maxLen: T, metadata: {}, scan });
      const s = await ort.InferenceSession.create(bytes);
      try {
        const feed = new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [B, T]);
        const out = await s.run({ [ONNX_INPUT_NAME]: feed });
        assertClose(
          `onnx logits ${JSON.stringify(scan)}`,
          out[ONNX_OUTPUT_NAME]!.data as Float32Array,
          want,
          { atol: 1e-5, rtol: 0 },
        );
      } finally {
        await s.release();
      }
    }
  });
}

Deno.test({
  name: "a smoke bench trains IndRNN and exports it to ONNX with parity ≤ 1e-4" +
    (native.ok ? "" : ` (ignored: ${native.reason})`),
  ignore: !native.ok,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnnbench-indrnn-" });
    try {
      const r = await runBench(
        parseBenchArgs([
          ...["--profile", "smoke", "--arch", "indrnn", "--engine", "native", "--epochs", "1"],
          ...["--limit-batches", "2", "--batch-sizes", "1,8", "--workers", "1", "--out", dir],
        ]),
        memoryProgress(),
      );
      const run = r.results.runs[0];
      if (!r.ok || run === undefined || r.results.runs.length !== 1) {
        throw new Error(`bench failed: ${JSON.stringify(r.results.runs.map((x) => x.failure))}`);
      }
      if (run.arch !== "indrnn" || run.status !== "ok") throw new Error(`run ${run.arch}`);
      if (run.onnx === null || !(run.onnx.maxAbsDiff <= 1e-4)) {
        throw new Error(`ONNX parity: ${JSON.stringify(run.onnx)}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
