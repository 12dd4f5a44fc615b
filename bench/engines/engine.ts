/**
 * The interface every training engine implements (tfjs, native C, CUDA). The training
 * loop, checkpoints and tests talk only to this. Initialisation and shuffling are NOT
 * the engine's business: the loop hands every engine the same float64 initial
 * parameters (from `models/classifier.ts`) and the same batches.
 *
 * Letters: B batch, T = maxLen timesteps.
 *
 * @module
 */
import type { AdamConfig } from "../../models/adam.ts";
import type { ModelConfig, ParamLayout } from "../../models/classifier.ts";

/**
 * Where a batch's rows come from: the whole split and the batch's row indices into it, so
 * an engine that keeps the split on its device (cuda) uploads the split once and each
 * batch's indices only. The split must not change while an engine uses it.
 */
export interface BatchSource {
  /** The split: `ids` is `[n, T]`, row-major. */
  readonly split: { readonly ids: Int32Array; readonly n: number };
  /** The batch's rows of the split, `[size]` (`ids` holds exactly these rows). */
  readonly rows: Uint32Array;
}

/** One batch. */
export interface Batch {
  /** Token ids `[size, T]`, row-major. */
  readonly ids: Int32Array;
  /** Labels `[size]` in {0, 1}. */
  readonly labels: Float32Array;
  /** Number of sequences (≤ the configured batch size; the last batch may be short). */
  readonly size: number;
  /** Optional: the split and rows `ids` was copied from (engines may ignore it). */
  readonly source?: BatchSource;
}

/** What an engine is built from. */
export interface EngineOptions {
  /** The model shape. */
  readonly model: ModelConfig;
  /** The parameter layout of `model` (flat order shared by every engine). */
  readonly layout: ParamLayout;
  /** Sequence length T. */
  readonly maxLen: number;
  /** Largest batch the engine will see. */
  readonly batchSize: number;
  /** Adam's hyperparameters (the learning rate may change later, see `setLearningRate`). */
  readonly optimizer: AdamConfig;
  /** Clip the global gradient L2 norm to this before Adam; null = no clipping. */
  readonly gradClip: number | null;
  /** CPU threads to use; null = all cores. */
  readonly threads: number | null;
}

/** Adam's state in layout order, for checkpoints. */
export interface OptimizerState {
  /** First moments, one per parameter. */
  readonly m: Float32Array;
  /** Second moments, one per parameter. */
  readonly v: Float32Array;
  /** Adam steps taken (the bias corrections' exponent). */
  readonly step: number;
}

/** A training engine. All arrays are in the flat layout order of `paramLayout`. */
export interface Engine {
  /** Short id recorded in results: "tfjs-cpu", "tfjs-wasm", "tfjs-tensorflow", "native", "cuda". */
  readonly name: string;
  /** Human description: backend, compiler and flags, threads, device. */
  readonly detail: string;
  /** Loads parameters and resets the optimizer state to zero. */
  setParams(params: Float64Array | Float32Array): void;
  /** The current parameters, float32. */
  getParams(): Float32Array;
  /** Adam's moments and step count. */
  getOptimizerState(): OptimizerState;
  /** Restores Adam's moments and step count. */
  setOptimizerState(state: OptimizerState): void;
  /** Changes the learning rate for the following steps (schedules). */
  setLearningRate(lr: number): void;
  /**
   * Forward, backward and one Adam step on a batch.
   * @returns the logits `[size]` of the forward pass BEFORE the update
   */
  trainStep(batch: Batch): Promise<Float32Array>;
  /**
   * Forward only.
   * @param source optional: the split and rows `ids` was copied from (see {@linkcode BatchSource})
   * @returns logits `[size]`
   */
  predict(ids: Int32Array, size: number, source?: BatchSource): Promise<Float32Array>;
  /**
   * Optional, for engines that keep splits on their device: forward only, reading the batch
   * from its split by rows, so the caller need not gather its ids (see `predictBatch`).
   * @returns logits `[size]`
   */
  predictRows?(source: BatchSource, size: number): Promise<Float32Array>;
  /**
   * Mean BCE loss and the full parameter gradient at the current parameters, without
   * updating anything (tests compare it with the float64 reference).
   */
  lossAndGrad(batch: Batch): Promise<{ loss: number; grad: Float32Array }>;
  /** Frees native memory, tensors, workers. Safe to call twice. */
  dispose(): void;
}

/** Whether an engine can run here, and if not, why (for `--engine auto` and errors). */
export type Availability = { readonly ok: true; readonly detail: string } | {
  readonly ok: false;
  readonly reason: string;
};

/**
 * Forward only on a batch: from its split rows when the engine reads splits on its device
 * (no gathered copy of the ids is made), else from its ids.
 *
 * @param engine the engine
 * @param batch the batch; its `ids` is read only when needed
 * @returns logits `[batch.size]`
 */
export function predictBatch(
  engine: Engine,
  batch: { readonly ids: Int32Array; readonly size: number; readonly source?: BatchSource },
): Promise<Float32Array> {
  const s = batch.source;
  if (engine.predictRows && s && s.rows.length >= batch.size) {
    return engine.predictRows(s, batch.size);
  }
  return engine.predict(batch.ids, batch.size, s);
}
