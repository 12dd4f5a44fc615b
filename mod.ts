/**
 * rnnbench: a reproducible benchmark suite for recurrent text classifiers (vanilla RNN,
 * GRU, LSTM) on IMDB. Each architecture is written once as typed cell code
 * (`models/cells.ts`); tracing it yields an IR that is lowered to a float64 reference,
 * TensorFlow.js, generated C, and ONNX.
 *
 * This module only re-exports the public API.
 *
 * @example
 * ```ts
 * import { cellGraph, initParams, paramLayout, referenceForward } from "./mod.ts";
 * const layout = paramLayout({ arch: "gru", vocabSize: 10, embedDim: 4, hiddenSize: 3, layers: 2 });
 * const p = initParams(layout, 1);
 * const { logits } = referenceForward(layout, p, new Int32Array([1, 2, 3, 4]), 2, 2);
 * console.log(cellGraph("gru").nodes.length, logits);
 * ```
 *
 * @module
 */
export {
  type CellGraph,
  type CellOps,
  type CellSpec,
  type Node,
  type OpName,
  OPS,
  trace,
} from "./models/ir.ts";
export { type Arch, ARCHS, cellGraph, gru, lstm, rnn } from "./models/cells.ts";
export { backward, type BackwardGraph, GRAD_RULES } from "./models/grad.ts";
export {
  bceWithLogits,
  initParams,
  type ModelConfig,
  type ParamLayout,
  paramLayout,
} from "./models/classifier.ts";
export { adamConfig, adamStep } from "./models/adam.ts";
export { referenceForward, referenceLossAndGrad } from "./models/reference.ts";
export { Rng } from "./models/rng.ts";
export { getProfile, type Profile, PROFILES } from "./bench/profiles.ts";
export type { Engine, EngineOptions } from "./bench/engines/engine.ts";
export type { ResultsFile, Run } from "./bench/results/schema.ts";
