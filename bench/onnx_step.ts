/**
 * After training: export the model to ONNX, check parity with the training engine on test
 * sequences, and benchmark inference in ONNX Runtime.
 *
 * @module
 */
import type { ParamLayout } from "../models/classifier.ts";
import { exportOnnx, ONNX_OPSET, type OnnxStyle } from "../models/onnx/export.ts";
import { writeFileAtomic } from "./util/atomic.ts";
import type { EncodedSplit } from "./data/dataset.ts";
import type { Engine } from "./engines/engine.ts";
import { benchmarkOnnx } from "./infer/benchmark.ts";
import { checkParity } from "./infer/parity.ts";
import type { ProgressSink } from "./util/progress.ts";
import type { InferenceResult, OnnxExport } from "./results/types.ts";

/** Sequences compared between ONNX Runtime and the training engine (at most the split). */
export const PARITY_SEQUENCES = 512;

/** What {@linkcode exportAndMeasure} needs. */
export interface ExportOptions {
  readonly engine: Engine;
  readonly layout: ParamLayout;
  readonly style: OnnxStyle;
  /** Folder for `<runId>.onnx`. */
  readonly dir: string;
  readonly runId: string;
  readonly profile: string;
  readonly datasetHash: string;
  readonly suiteVersion: string;
  readonly test: EncodedSplit;
  readonly maxLen: number;
  /** The engine's largest batch (parity runs in chunks of it). */
  readonly batchSize: number;
  readonly batchSizes: readonly number[];
  readonly workers: number;
  /** Approximate seconds per timed repeat of the inference benchmark; 0: not timed. */
  readonly inferSeconds: number;
  /** Why inference is not timed when `inferSeconds` is 0. @default the profile's setting */
  readonly untimedBecause?: string;
  readonly progress: ProgressSink;
}

/**
 * Exports, checks parity, benchmarks.
 * @returns the `onnx` and `inference` fields of the run's results
 */
export async function exportAndMeasure(
  o: ExportOptions,
): Promise<{ onnx: OnnxExport; inference: InferenceResult[] }> {
  const path = `${o.dir}/${o.runId}.onnx`;
  const params = o.engine.getParams();
  const bytes = exportOnnx(o.layout, params, {
    style: o.style,
    maxLen: o.maxLen,
    metadata: { profile: o.profile, vocabHash: o.datasetHash, suiteVersion: o.suiteVersion },
  });
  await writeFileAtomic(path, bytes, { what: "ONNX model" });
  const n = Math.min(PARITY_SEQUENCES, o.test.n);
  const ids = o.test.ids.subarray(0, n * o.maxLen);
  const expected = new Float32Array(n);
  const chunk = o.batchSize;
  for (let s = 0; s < n; s += chunk) {
    const b = Math.min(chunk, n - s);
    expected.set(
      (await o.engine.predict(ids.slice(s * o.maxLen, (s + b) * o.maxLen), b)).subarray(0, b),
      s,
    );
  }
  const parity = await checkParity(bytes, ids, n, o.maxLen, expected);
  o.progress.log(
    `onnx (${o.style}): ${path}, max |logit diff| vs ${o.engine.name} = ` +
      `${parity.maxAbsDiff.toExponential(2)} over ${parity.sequencesChecked} test sequences`,
  );
  if (o.inferSeconds === 0) {
    o.progress.log(
      `  inference not timed (${
        o.untimedBecause ?? `profile ${o.profile}: inferSeconds 0`
      }; time the file with ` +
        `\`deno task infer ${path}\`)`,
    );
  }
  const inference = o.inferSeconds === 0 ? [] : await benchmarkOnnx(path, {
    batchSizes: o.batchSizes,
    workers: o.workers,
    providers: ["cpu", "cuda"],
    seqLen: o.maxLen,
    vocabSize: o.layout.config.vocabSize,
    minSeconds: o.inferSeconds,
    warmupSeconds: Math.min(0.3, o.inferSeconds),
  });
  const unavailable = new Set<string>();
  for (const r of inference) {
    if (r.unavailable !== null) {
      if (!unavailable.has(r.provider)) {
        o.progress.log(`  ${r.provider}: unavailable: ${r.unavailable}`);
      }
      unavailable.add(r.provider);
      continue;
    }
    o.progress.log(
      `  ${r.provider} batch ${r.batchSize} × ${r.workers} workers: ` +
        `${r.sequencesPerSecond?.toFixed(0)} seq/s` +
        (r.latencyMs ? `, latency p50 ${r.latencyMs.p50.toFixed(2)} ms` : ""),
    );
  }
  return {
    onnx: {
      path,
      style: o.style,
      opset: ONNX_OPSET,
      maxAbsDiff: parity.maxAbsDiff,
      sequencesChecked: parity.sequencesChecked,
    },
    inference,
  };
}
