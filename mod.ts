/**
 * rnnbench: a reproducible benchmark suite for recurrent text classifiers (vanilla RNN,
 * GRU, LSTM) on IMDB. Each architecture is written once as typed cell code; tracing it
 * yields an IR that is lowered to a float64 reference, TensorFlow.js, generated C and CUDA,
 * and ONNX.
 *
 * This module only re-exports the public API, in the order a user meets it:
 * 1. define a cell ({@linkcode CellSpec} over {@linkcode CellOps}) and add it with
 *    {@linkcode registerCell}; the built-ins are {@linkcode rnn}, {@linkcode lstm},
 *    {@linkcode gru};
 * 2. build a model: {@linkcode paramLayout} and {@linkcode initParams}, with the float64
 *    reference {@linkcode referenceLossAndGrad} as the executable specification;
 * 3. train it with an engine: {@linkcode resolveEngine} picks one that works here,
 *    {@linkcode createEngine} makes it ({@linkcode Engine}), {@linkcode adamConfig} sets Adam;
 * 4. export it with {@linkcode exportOnnx};
 * 5. read what `deno task bench` measured: {@linkcode readResultsFile} ({@linkcode ResultsFile}),
 *    and the run configurations it used: {@linkcode getProfile}, {@linkcode PROFILES}.
 *
 * The README's "Use it as a library" section has an example of all five.
 *
 * @example
 * ```ts
 * import { initParams, paramLayout, referenceForward } from "./mod.ts";
 * const layout = paramLayout({ arch: "gru", vocabSize: 10, embedDim: 4, hiddenSize: 3, layers: 2 });
 * const { logits } = referenceForward(layout, initParams(layout, 1), new Int32Array([1, 2, 3, 4]), 2, 2);
 * console.log(layout.total, logits);
 * ```
 *
 * @module
 */
import type { ParamLayout } from "./models/classifier.ts";
import { exportOnnx as exportOnnxBytes, type OnnxExportOptions } from "./models/onnx/mod.ts";

// 1. Cells: the op set they are written with, the IR they trace to, the registry.
export {
  type BackwardUnaryOp,
  type BinaryOp,
  type CellGraph,
  type CellOps,
  type CellSpec,
  type Node,
  type OnnxBuiltinMapping,
  type OpName,
  OPS,
  type Param,
  type ParamKind,
  type Size,
  trace,
  type UnaryOp,
  type Val,
} from "./models/ir.ts";
export {
  type AnyCellSpec,
  type Arch,
  ARCHS,
  BUILTIN_CELLS,
  cellGraph,
  cellLabel,
  cellNames,
  cellSpec,
  gru,
  lstm,
  registerCell,
  rnn,
} from "./models/cells.ts";

// 2. The classifier and its float64 reference.
export {
  bceWithLogits,
  type Init,
  initParams,
  type ModelConfig,
  type ParamLayout,
  paramLayout,
  type Readout,
  READOUTS,
  type TensorSpec,
} from "./models/classifier.ts";
export {
  type ReferenceForward,
  referenceForward,
  referenceLossAndGrad,
  type StepTape,
} from "./models/reference.ts";
export { Rng } from "./models/rng.ts";

// 3. Training engines and the optimizer.
export {
  createEngine,
  ENGINE_CHOICES,
  type EngineChoice,
  type EngineExtras,
  type EngineKind,
  type Resolved,
  resolveEngine,
} from "./bench/engines/registry.ts";
export type {
  Batch,
  BatchSource,
  Engine,
  EngineOptions,
  OptimizerState,
} from "./bench/engines/engine.ts";
export { type AdamConfig, adamConfig, type AdamState, adamState, adamStep } from "./models/adam.ts";

// 4. ONNX export.
export {
  ONNX_ACTIVATIONS,
  ONNX_BIASES,
  ONNX_GATHERS,
  ONNX_GEMMS,
  ONNX_HOISTS,
  ONNX_LAYOUTS,
  ONNX_SCHEDULES,
  ONNX_STYLES,
  ONNX_TRANSPOSES,
} from "./models/onnx/mod.ts";
export type {
  OnnxActivation,
  OnnxBias,
  OnnxExportOptions,
  OnnxGather,
  OnnxGemm,
  OnnxHoist,
  OnnxLayout,
  OnnxSchedule,
  OnnxStyle,
  OnnxTranspose,
  ScanOptions,
} from "./models/onnx/mod.ts";
// Re-exported with its signature written out: the exporter's own parameter type is private
// to models/onnx/, and the public API may only name public types.
/**
 * Exports a classifier to an ONNX file's bytes: the graph style, sequence length and
 * metadata come from {@linkcode OnnxExportOptions}.
 *
 * @param layout the parameter layout
 * @param params flat parameters in layout order (float32 or float64; stored as float32)
 * @param opts style, sequence length, metadata, scan tuning
 * @returns the bytes of the `.onnx` file
 * @example
 * ```ts
 * import { exportOnnx, initParams, paramLayout } from "./mod.ts";
 * const layout = paramLayout({ arch: "lstm", vocabSize: 100, embedDim: 8, hiddenSize: 4, layers: 2 });
 * const bytes = exportOnnx(layout, initParams(layout, 1), { style: "scan", maxLen: 20, metadata: {} });
 * console.log(`${bytes.length} bytes`); // write with Deno.writeFile("model.onnx", bytes)
 * ```
 */
export const exportOnnx: (
  layout: ParamLayout,
  params: Float32Array | Float64Array,
  opts: OnnxExportOptions,
) => Uint8Array = exportOnnxBytes;

// 5. Results files and the profiles that produced them.
export { collectResultsFiles, readResultsFile, ResultsFileError } from "./bench/results/io.ts";
export type {
  CellSource,
  EpochResult,
  Gpu,
  InferenceResult,
  LatencyMs,
  Machine,
  OnnxExport,
  ReferenceLine,
  ResultsFile,
  Run,
  RunConfig,
  RunData,
  RunFailure,
  TimeToAccuracy,
} from "./bench/results/types.ts";
export { SCHEMA_VERSION } from "./bench/results/schema.ts";
export {
  getProfile,
  type InitScheme,
  learningRateOf,
  type LrSchedule,
  NAMED_PROFILES,
  type NamedProfile,
  type PerCell,
  type Profile,
  PROFILES,
} from "./bench/profiles.ts";
export type { KeepTokens, Padding } from "./bench/data/encode.ts";
export type { LabelMode } from "./bench/data/batches.ts";
