/**
 * The training loop shared by every engine: epoch 0 evaluates before training, then each
 * epoch trains on the shuffled train split and evaluates on the test split in order.
 * Loss and accuracy are computed here, in float64, from the logits the engine returns,
 * so every engine is measured the same way.
 *
 * @module
 */
import { bceWithLogits } from "../models/classifier.ts";
import { batchCount, batches, dropWords, epochOrder } from "./data/batches.ts";
import { Rng, STREAM } from "../models/rng.ts";
import type { EncodedSplit } from "./data/dataset.ts";
import { type Engine, predictBatch } from "./engines/engine.ts";
import type { ProgressSink } from "./util/progress.ts";
import type { EpochResult, TimeToAccuracy } from "./results/types.ts";

/** What one pass over a split measured. */
export interface PassStats {
  /** Mean BCE over sequences. */
  loss: number;
  /** Share of sequences whose prediction (logit > 0) equals the label. */
  accuracy: number;
  /** Share of sequences predicted negative (logit ≤ 0). */
  predictedNegative: number;
  /** Sequences seen. */
  n: number;
}

/** Running sums of loss and accuracy over batches. */
export class Meter {
  #loss = 0;
  #correct = 0;
  #negative = 0;
  #n = 0;

  /** Adds one batch: its logits and labels. @returns the batch's mean loss */
  add(logits: Float32Array, labels: Float32Array, size: number): number {
    const z = logits.subarray(0, size), y = labels.subarray(0, size);
    const { loss } = bceWithLogits(z, y);
    this.#loss += loss * size;
    for (let i = 0; i < size; i++) {
      const pred = z[i]! > 0 ? 1 : 0;
      if (pred === y[i]) this.#correct++;
      if (pred === 0) this.#negative++;
    }
    this.#n += size;
    return loss;
  }

  /** The totals so far. */
  stats(): PassStats {
    const n = Math.max(this.#n, 1);
    return {
      loss: this.#loss / n,
      accuracy: this.#correct / n,
      predictedNegative: this.#negative / n,
      n: this.#n,
    };
  }
}

/**
 * The median of timed epochs by train + eval seconds (the lower middle of an even count), as
 * `gpu-check` and `bench --peers` take an engine's epoch.
 * @param epochs at least one
 */
export function medianEpoch<
  E extends { readonly trainSeconds: number; readonly evalSeconds: number },
>(
  epochs: readonly E[],
): E {
  if (epochs.length === 0) throw new Error("Internal error: no epochs to take the median of");
  const total = (e: E) => e.trainSeconds + e.evalSeconds;
  const sorted = [...epochs].sort((a, b) => total(a) - total(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Raised when the loss or the logits stop being finite. */
export class NonFiniteError extends Error {
  constructor(readonly epoch: number, readonly batch: number, what: string) {
    super(
      `Training diverged at epoch ${epoch}, batch ${batch}: ${what} is not finite ` +
        `(lower the learning rate or set gradient clipping)`,
    );
  }
}

/** What {@linkcode trainAndEvaluate} needs. */
export interface LoopOptions {
  readonly engine: Engine;
  readonly train: EncodedSplit;
  /** The split evaluated after each epoch: test, or a validation split carved from train. */
  readonly test: EncodedSplit;
  /** Labels actually used for training (after the label mode). */
  readonly trainLabels: Uint8Array;
  /** Labels actually used for evaluation (after the label mode). */
  readonly testLabels: Uint8Array;
  readonly maxLen: number;
  readonly batchSize: number;
  readonly epochs: number;
  readonly seed: number;
  readonly limitBatches: number | null;
  /** Record when test accuracy first reaches this. */
  readonly targetAccuracy: number;
  /** Label for progress lines, e.g. "lstm original native seed 1". */
  readonly label: string;
  readonly progress: ProgressSink;
  /** Learning rate for an epoch (1-based); null keeps the engine's rate. */
  readonly lrForEpoch?: (epoch: number) => number | null;
  /**
   * Learning rate for one training step, set before it (schedules): `epoch` is 1-based,
   * `batch` 0-based of `batchesPerEpoch`; null keeps the engine's rate. A pure function of
   * its arguments, so a resumed run gets the same rates.
   */
  readonly lrForStep?: (epoch: number, batch: number, batchesPerEpoch: number) => number | null;
  /**
   * Word dropout probability for training batches (see `dropWords`); the draws come from
   * `new Rng(seed, (STREAM.dropout << 16) | epoch)`, so a resumed epoch repeats them.
   * @default 0
   */
  readonly wordDropout?: number;
  /** Called after each epoch with every result so far (checkpoints). */
  readonly onEpoch?: (
    results: readonly EpochResult[],
    tta: TimeToAccuracy | null,
  ) => Promise<void> | void;
  /** Continue after these completed epochs (from a checkpoint) instead of from scratch. */
  readonly resumeFrom?: { epochs: readonly EpochResult[]; timeToAccuracy: TimeToAccuracy | null };
  /** Polled between batches; returning true stops the loop with {@linkcode InterruptedError}. */
  readonly shouldStop?: () => boolean;
}

/** Raised when the user interrupts (Ctrl-C) between two batches. */
export class InterruptedError extends Error {
  constructor(readonly epoch: number) {
    super(`Interrupted during epoch ${epoch}`);
  }
}

/** The loop's result. */
export interface LoopResult {
  epochs: EpochResult[];
  timeToAccuracy: TimeToAccuracy | null;
}

/**
 * Evaluates a split in order, without training.
 * @returns the pass statistics
 */
export async function evaluate(
  engine: Engine,
  split: EncodedSplit,
  labels: Uint8Array,
  o: { maxLen: number; batchSize: number; limitBatches: number | null; epoch: number },
  progress?: ProgressSink,
  label = "eval",
): Promise<PassStats> {
  const meter = new Meter();
  const order = epochOrder(split.n, 0, 0, false);
  const nb = batchCount(split.n, o.batchSize, o.limitBatches ?? undefined);
  progress?.start(label, nb, "batches");
  let i = 0;
  for (
    const b of batches(split, labels, order, o.batchSize, o.maxLen, o.limitBatches ?? undefined)
  ) {
    const logits = await predictBatch(engine, b);
    const loss = meter.add(logits, b.labels, b.size);
    if (!Number.isFinite(loss)) throw new NonFiniteError(o.epoch, b.index, "the evaluation loss");
    progress?.update(++i);
  }
  return meter.stats();
}

/**
 * Epoch 0 (evaluation before training), then `epochs` epochs of training and evaluation.
 * @returns one result per epoch and the time to the target accuracy
 */
export async function trainAndEvaluate(o: LoopOptions): Promise<LoopResult> {
  const results: EpochResult[] = [...(o.resumeFrom?.epochs ?? [])];
  const limit = o.limitBatches ?? undefined;
  let trainClock = results.reduce((s, r) => s + (r.trainSeconds ?? 0), 0);
  let tta: TimeToAccuracy | null = o.resumeFrom?.timeToAccuracy ?? null;
  const evalOpts = { maxLen: o.maxLen, batchSize: o.batchSize, limitBatches: o.limitBatches };
  for (let epoch = results.length; epoch <= o.epochs; epoch++) {
    let train: PassStats | null = null, trainSeconds: number | null = null;
    if (epoch > 0) {
      const lr = o.lrForEpoch?.(epoch) ?? null;
      if (lr !== null) o.engine.setLearningRate(lr);
      const order = epochOrder(o.train.n, o.seed, epoch, true);
      const nb = batchCount(o.train.n, o.batchSize, limit);
      o.progress.start(`${o.label} epoch ${epoch}/${o.epochs} train`, nb, "batches");
      const meter = new Meter();
      const p = o.wordDropout ?? 0;
      const dropRng = p > 0 ? new Rng(o.seed, (STREAM.dropout << 16) | epoch) : null;
      const t0 = performance.now();
      let i = 0;
      for (const b of batches(o.train, o.trainLabels, order, o.batchSize, o.maxLen, limit)) {
        if (o.shouldStop?.()) throw new InterruptedError(epoch);
        const stepLr = o.lrForStep?.(epoch, b.index, nb) ?? null;
        if (stepLr !== null) o.engine.setLearningRate(stepLr);
        // With word dropout the engine gets the changed ids only (no `source` rows to
        // re-read from a copy of the split).
        const logits = await o.engine.trainStep(
          dropRng === null
            ? b
            : { ids: dropWords(b.ids, p, dropRng), labels: b.labels, size: b.size },
        );
        const loss = meter.add(logits, b.labels, b.size);
        if (!Number.isFinite(loss)) throw new NonFiniteError(epoch, b.index, "the training loss");
        o.progress.update(++i, `loss ${loss.toFixed(4)}`);
      }
      trainSeconds = (performance.now() - t0) / 1000;
      trainClock += trainSeconds;
      train = meter.stats();
    }
    const t1 = performance.now();
    const test = await evaluate(
      o.engine,
      o.test,
      o.testLabels,
      { ...evalOpts, epoch },
      o.progress,
      `${o.label} epoch ${epoch}/${o.epochs} eval`,
    );
    const evalSeconds = (performance.now() - t1) / 1000;
    const r: EpochResult = {
      epoch,
      trainLoss: train?.loss ?? null,
      trainAccuracy: train?.accuracy ?? null,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      testPredictedNegativeFraction: test.predictedNegative,
      trainSeconds,
      evalSeconds,
    };
    results.push(r);
    o.progress.end(
      `${o.label} epoch ${epoch}: ` +
        (train ? `train loss ${train.loss.toFixed(4)} acc ${train.accuracy.toFixed(4)} ` : "") +
        `test loss ${test.loss.toFixed(4)} acc ${test.accuracy.toFixed(4)} ` +
        `(train ${trainSeconds?.toFixed(1) ?? "-"}s, eval ${evalSeconds.toFixed(1)}s)`,
    );
    if (tta === null && epoch > 0 && test.accuracy >= o.targetAccuracy) {
      tta = { target: o.targetAccuracy, seconds: trainClock, epoch };
    }
    await o.onEpoch?.(results, tta);
  }
  return { epochs: results, timeToAccuracy: tta };
}
