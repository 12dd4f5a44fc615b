/**
 * ONNX Runtime side of rnnbench: parity of an exported model with its training engine, and
 * the inference benchmark (throughput per batch size, latency at batch 1, per provider).
 *
 * @example
 * ```ts ignore
 * import { benchmarkOnnx, checkParity } from "./mod.ts";
 *
 * const parity = await checkParity("out/run-1.onnx", ids, 256, 200, engineLogits);
 * const inference = await benchmarkOnnx("out/run-1.onnx", {
 *   batchSizes: [1, 64, 1000],
 *   workers: navigator.hardwareConcurrency,
 *   providers: ["cpu", "cuda"],
 * });
 * ```
 *
 * @module
 */
export {
  benchmarkOnnx,
  type BenchmarkOptions,
  type InferenceResult,
  median,
  percentile,
} from "./benchmark.ts";
export { checkParity, type ParityResult } from "./parity.ts";
export {
  type OnnxFile,
  openSession,
  type Provider,
  PROVIDERS,
  providerUnavailable,
  readOnnxFile,
  type SessionOptions,
} from "./model_file.ts";
