/**
 * Parity of an exported ONNX model with the engine it came from: the same test sequences
 * through ONNX Runtime, logits compared.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { openSession, readOnnxFile } from "./model_file.ts";

/** How closely ONNX Runtime reproduced the expected logits. */
export interface ParityResult {
  /** Largest absolute difference of the logits. */
  readonly maxAbsDiff: number;
  /** Sequences compared. */
  readonly sequencesChecked: number;
}

/**
 * Runs `n` sequences through an ONNX model in ONNX Runtime (cpu: first
 * `min(64, n)` sequences in one call, then calls of at most `batchSize`, so that both the
 * small- and the large-batch path of an `auto`-schedule export are compared) and compares
 * the logits with the expected ones.
 *
 * @param model the model's bytes, or the path of a `.onnx` file
 * @param ids token ids `[n, T]`, row-major
 * @param n number of sequences
 * @param T sequence length
 * @param expectedLogits the training engine's logits `[n]`
 * @param batchSize sequences per ONNX Runtime call
 * @returns the largest absolute difference and the number of sequences compared
 * @throws {Error} naming the model when it cannot be read or run, or when its output has
 *   the wrong size or is not finite
 * @example
 * ```ts ignore
 * import { checkParity } from "./parity.ts";
 * const r = await checkParity("out/run-1.onnx", ids, 256, 200, engineLogits);
 * console.log(r.maxAbsDiff, r.sequencesChecked);
 * ```
 */
export async function checkParity(
  model: Uint8Array | string,
  ids: Int32Array,
  n: number,
  T: number,
  expectedLogits: Float32Array,
  batchSize = 256,
): Promise<ParityResult> {
  const firstBatch = 64;
  const label = typeof model === "string" ? model : "<in-memory model>";
  const what = `Cannot check parity of ONNX model "${label}"`;
  if (ids.length !== n * T) {
    throw new RangeError(`${what}: ids has ${ids.length} values, want n·T = ${n * T}`);
  }
  if (expectedLogits.length !== n) {
    throw new RangeError(`${what}: ${expectedLogits.length} expected logits for ${n} sequences`);
  }
  const bytes = typeof model === "string" ? (await readOnnxFile(model)).bytes : model;
  const session = await openSession(bytes, label);
  try {
    const input = session.inputNames[0]!, output = session.outputNames[0]!;
    let maxAbsDiff = 0;
    // A first small call, then calls of up to batchSize: a "scan" export with schedule
    // "auto" takes a different path below WAVEFRONT_BELOW sequences, and both are compared.
    for (let s = 0, b = Math.min(firstBatch, n); s < n; s += b, b = Math.min(batchSize, n - s)) {
      const feed = BigInt64Array.from(ids.subarray(s * T, (s + b) * T), (v) => BigInt(v));
      const out = await session.run({ [input]: new ort.Tensor("int64", feed, [b, T]) });
      const got = out[output]!.data as Float32Array;
      if (got.length !== b) {
        throw new Error(`${what}: output "${output}" has ${got.length} values for ${b} sequences`);
      }
      for (let i = 0; i < b; i++) {
        const d = Math.abs(got[i]! - expectedLogits[s + i]!);
        if (!Number.isFinite(d)) {
          throw new Error(
            `${what}: sequence ${s + i} gives ${got[i]} in ONNX Runtime, ` +
              `${expectedLogits[s + i]} in the engine`,
          );
        }
        maxAbsDiff = Math.max(maxAbsDiff, d);
      }
    }
    return { maxAbsDiff, sequencesChecked: n };
  } finally {
    await session.release();
  }
}
