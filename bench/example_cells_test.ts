/**
 * Every example cell of `models/examples/` (each file there, loaded as `bench --cell` loads
 * it) through every engine: the float64 reference's gradient against finite differences, the
 * engine conformance suite on native, tfjs-cpu and cuda (emulated), ONNX scan logits against
 * the float64 reference, and one smoke bench of all of them that trains, exports to ONNX and
 * records each cell's source. A file added to the folder is tested here with nothing else to
 * write.
 *
 * Tolerances: the engines are held to the conformance suite's (`engines/conformance.ts`);
 * ONNX logits against the float64 reference within 1e-5 absolute + 1e-4 relative (the
 * reference is float64, ONNX Runtime float32); the reference's own gradient against central
 * finite differences within 1e-6 + 1e-5 relative; the smoke bench's ONNX parity (ONNX Runtime
 * against the training engine) within 1e-4, as the issue that added the folder asks.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { referenceLossAndGrad } from "../models/reference.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams } from "../models/_testing.ts";
import { exportOnnx, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from "../models/onnx/export.ts";
import { loadCellFiles } from "./cell_file.ts";
import { parseBenchArgs } from "./cli.ts";
import { availability } from "./engines/registry.ts";
import { conformanceOnEveryEngine } from "./engines/_every_engine.ts";
import { runBench } from "./run.ts";
import { memoryProgress } from "./util/progress.ts";

const FOLDER = fileURLToPath(new URL("../models/examples/", import.meta.url));
const paths = [...Deno.readDirSync(FOLDER)]
  .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts"))
  .map((e) => join(FOLDER, e.name)).sort();
const files = await loadCellFiles(paths);
const cells = files.flatMap((f) => f.names);

Deno.test("every file of models/examples/ defines a cell and cites its paper", async () => {
  if (paths.length < 2) throw new Error(`only ${paths.length} example files in ${FOLDER}`);
  for (const f of files) {
    if (f.names.length === 0) throw new Error(`${f.path} defines no cell`);
    const header = (await Deno.readTextFile(f.path)).split("@module")[0]!;
    if (!/\b(19|20)\d\d\b/.test(header) || !/"[^"]+"/.test(header)) {
      throw new Error(`${f.path}: the header cites no paper (a quoted title and a year)`);
    }
  }
});

const B = 6, T = 7;
const LOGITS = { atol: 1e-5, rtol: 1e-4 };

for (const cell of cells) {
  const layout = tinyLayout(cell);
  const params = tinyParams(layout);
  const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);
  const ref = referenceLossAndGrad(layout, params, ids, labels, T);

  Deno.test(`example ${cell}: the reference gradient matches central finite differences`, () => {
    const h = 1e-6;
    const lossAt = (p: Float64Array) => referenceLossAndGrad(layout, p, ids, labels, T).loss;
    const picks = layout.tensors.flatMap((t) => [t.offset, t.offset + t.size - 1]);
    const fd = picks.map((i) => {
      const up = params.slice(), down = params.slice();
      up[i]! += h;
      down[i]! -= h;
      return (lossAt(up) - lossAt(down)) / (2 * h);
    });
    assertClose(
      `${cell} reference grad vs finite differences`,
      picks.map((i) => ref.grad[i]!),
      fd,
      {
        atol: 1e-6,
        rtol: 1e-5,
      },
    );
  });

  Deno.test(`example ${cell}: the ONNX scan export computes the reference's logits`, async () => {
    const bytes = exportOnnx(layout, params, { style: "scan", maxLen: T, metadata: {} });
    const s = await ort.InferenceSession.create(bytes);
    try {
      const feed = new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [B, T]);
      const out = await s.run({ [ONNX_INPUT_NAME]: feed });
      const logits = out[ONNX_OUTPUT_NAME]!.data as Float32Array;
      assertClose(`${cell} onnx logits`, logits, ref.logits, LOGITS);
    } finally {
      await s.release();
    }
  });
}

// Every engine's conformance suite (forward, gradients, Adam, clipping, determinism, bad
// input), on the example cells.
conformanceOnEveryEngine(cells);

const native = await availability("native", { device: 0 });

Deno.test({
  name: "a smoke bench of the example files trains each cell, exports it to ONNX and records " +
    "its source" + (native.ok ? "" : ` (ignored: ${native.reason})`),
  ignore: !native.ok,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnnbench-examples-" });
    try {
      const r = await runBench(
        parseBenchArgs([
          ...["--cell", paths.join(","), "--profile", "smoke", "--engine", "native"],
          ...["--epochs", "1", "--limit-batches", "2", "--batch-sizes", "1", "--workers", "1"],
          ...["--out", dir],
        ], files),
        memoryProgress(),
      );
      const ran = r.results.runs.map((x) => x.arch);
      if (!r.ok || ran.join() !== cells.join()) {
        throw new Error(`ran ${ran}: ${JSON.stringify(r.results.runs.map((x) => x.failure))}`);
      }
      for (const run of r.results.runs) {
        const file = files.find((f) => f.names.includes(run.arch))!;
        if (run.cell?.source !== file.path || run.cell.sha256 !== file.sha256) {
          throw new Error(`${run.arch}: recorded source ${JSON.stringify(run.cell)}`);
        }
        if (run.epochs.length !== 2) throw new Error(`${run.arch}: ${run.epochs.length} epochs`);
        if (run.onnx === null || !(run.onnx.maxAbsDiff <= 1e-4)) {
          throw new Error(`${run.arch}: ONNX parity ${JSON.stringify(run.onnx)}`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
