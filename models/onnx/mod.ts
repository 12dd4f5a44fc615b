/**
 * The ONNX lowering of rnnbench's classifiers: export (one `Scan` over all layers, or the
 * standard `RNN`/`GRU`/`LSTM` operators) and the small protobuf subset it is written in.
 *
 * @example
 * ```ts
 * import { exportOnnx, readModelInfo } from "./mod.ts";
 * import { initParams, paramLayout } from "../classifier.ts";
 *
 * const layout = paramLayout({ arch: "gru", vocabSize: 50, embedDim: 8, hiddenSize: 4, layers: 2 });
 * const bytes = exportOnnx(layout, initParams(layout, 1), {
 *   style: "scan",
 *   maxLen: 16,
 *   metadata: { profile: "smoke", vocabHash: "…", suiteVersion: "0.1.0" },
 * });
 * console.log(readModelInfo(bytes).metadata.architecture); // "gru"
 * ```
 *
 * @module
 */
export * from "./export.ts";
export {
  BLOCKS_NEAR,
  ONNX_ACTIVATIONS,
  ONNX_BIASES,
  ONNX_GATHERS,
  ONNX_GEMMS,
  ONNX_HOISTS,
  ONNX_LAYOUTS,
  ONNX_SCHEDULES,
  ONNX_TRANSPOSES,
  type OnnxActivation,
  type OnnxBias,
  type OnnxGather,
  type OnnxGemm,
  type OnnxHoist,
  type OnnxLayout,
  type OnnxSchedule,
  type OnnxTranspose,
  type ResolvedScanOptions,
  resolveScanOptions,
  scanFormOf,
  type ScanOptions,
  WAVEFRONT_BELOW,
} from "./scan_options.ts";
export { ACTIVATIONS, type NodeOf, ONNX_OPS, type OnnxLowerContext } from "./onnx_ops.ts";
export { nativeMapping } from "./_lower_builtin.ts";
export {
  type AttrValue,
  encodeModel,
  type GraphDef,
  type ModelDef,
  type ModelInfo,
  type ModelValueInfo,
  type NodeDef,
  OnnxFormatError,
  readModelInfo,
  type TensorDef,
  type ValueInfo,
} from "./proto.ts";
