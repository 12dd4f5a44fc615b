/**
 * Labels as the engines see them, the per-epoch order, and mini-batches.
 *
 * Dimension letters: N reviews in a split, B reviews in a batch, T = maxLen tokens per row.
 *
 * @module
 */

import { permutation, Rng, STREAM } from "../../models/rng.ts";
import type { EncodedSplit } from "./dataset.ts";

/**
 * How labels reach the loss. `"correct"`: 1 = positive, 0 = negative. `"original"`: the
 * report's bug, every label 0 (see {@link originalLabel}).
 */
export type LabelMode = "correct" | "original";

/**
 * The original code's label transform, `1 if label == 'pos' else 0`, applied to what
 * torchtext ≥ 0.14 really yields: the integers 1 (neg) and 2 (pos). No integer equals
 * `'pos'`, so this is 0 for every review.
 *
 * @param torchtextLabel the label as torchtext's IMDB dataset gives it
 * @returns the label the original trained and evaluated on
 */
export function originalLabel(torchtextLabel: number | string): 0 | 1 {
  return torchtextLabel === "pos" ? 1 : 0;
}

/**
 * Labels for a label mode.
 *
 * @param labels the true labels, 0 | 1 (1 = positive), `[N]`
 * @param mode `"correct"` keeps them; `"original"` reproduces the report's handling
 *   (torchtext's integer label 1 | 2 through {@link originalLabel}), which gives all 0
 * @returns a new array, `[N]`
 * @example
 * ```ts
 * applyLabelMode(new Uint8Array([0, 1]), "original"); // Uint8Array [0, 0]
 * ```
 */
export function applyLabelMode(labels: Uint8Array, mode: LabelMode): Uint8Array {
  switch (mode) {
    case "correct":
      return labels.slice();
    case "original": {
      const out = new Uint8Array(labels.length);
      for (let i = 0; i < labels.length; i++) out[i] = originalLabel(labels[i]! + 1);
      return out;
    }
    default:
      throw new RangeError(
        `Cannot apply label mode ${JSON.stringify(mode)}: use "correct" or "original"`,
      );
  }
}

/** Epochs are limited so that `(STREAM.shuffle << 16) | epoch` names distinct streams. */
const MAX_EPOCHS = 1 << 16;

/**
 * The order in which one epoch visits a split.
 *
 * Shuffled orders are Fisher–Yates permutations from `models/rng.ts`, drawn from
 * `new Rng(seed, (STREAM.shuffle << 16) | epoch)`: a stream of its own per (seed, epoch),
 * distinct from the plain `STREAM.*` streams (which are < 2^16), so the same seed and epoch
 * give the same order in every engine.
 *
 * @param n split size
 * @param seed the run's random seed
 * @param epoch epoch index, 0-based, < 65536
 * @param shuffle false → identity (the test set is read in order)
 * @returns a permutation of `0..n-1`
 */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Uint32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`Cannot order an epoch: n must be an integer ≥ 0, got ${n}`);
  }
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= MAX_EPOCHS) {
    throw new RangeError(
      `Cannot order epoch ${epoch}: the epoch must be an integer in [0, ${MAX_EPOCHS})`,
    );
  }
  if (!shuffle) {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }
  return permutation(n, new Rng(seed, (STREAM.shuffle << 16) | epoch));
}

/** One mini-batch; its arrays are fresh copies that the caller may keep. */
export interface Batch {
  /**
   * Token ids, `[B, T]` row-major: gathered from the split on first read (an engine that
   * keeps the split on its device reads `source` instead, and the copy is never made).
   */
  readonly ids: Int32Array;
  /** Labels as 0 or 1, `[B]`. */
  labels: Float32Array;
  /** B: reviews in this batch (the last one may be smaller). */
  size: number;
  /** 0-based batch number within the epoch. */
  index: number;
  /**
   * The split and the rows `ids` was copied from (an engine may keep the split on its
   * device and upload only the rows, see `BatchSource` in `engines/engine.ts`).
   */
  source: { split: EncodedSplit; rows: Uint32Array };
}

/**
 * Number of batches {@link batches} yields.
 * @param n reviews visited (the order's length)
 * @param batchSize reviews per batch, ≥ 1
 * @param limitBatches stop after this many batches (default: no limit)
 * @returns `min(ceil(n / batchSize), limitBatches)`
 */
export function batchCount(n: number, batchSize: number, limitBatches?: number): number {
  checkBatchArgs(batchSize, limitBatches);
  const all = Math.ceil(n / batchSize);
  return limitBatches === undefined ? all : Math.min(all, limitBatches);
}

function checkBatchArgs(batchSize: number, limitBatches: number | undefined): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Cannot make batches: batchSize must be an integer ≥ 1, got ${batchSize}`);
  }
  if (limitBatches !== undefined && (!Number.isInteger(limitBatches) || limitBatches < 0)) {
    throw new RangeError(
      `Cannot make batches: limitBatches must be an integer ≥ 0, got ${limitBatches}`,
    );
  }
}

/**
 * Mini-batches of a split in a given order. The last partial batch is kept (PyTorch
 * `DataLoader`'s default `drop_last=False`).
 *
 * @param split the encoded split (`ids` is `[N, T]`)
 * @param labels labels to use, `[N]` (see {@link applyLabelMode})
 * @param order which rows to visit, in order (see {@link epochOrder})
 * @param batchSize B, reviews per batch
 * @param maxLen T, the split's row length
 * @param limitBatches stop after this many batches (default: all)
 * @example
 * ```ts
 * for (const b of batches(ds.train, labels, epochOrder(ds.train.n, 1, 0, true), 1000, 200)) {
 *   // b.ids is [b.size, 200]
 * }
 * ```
 */
export function* batches(
  split: EncodedSplit,
  labels: Uint8Array,
  order: Uint32Array,
  batchSize: number,
  maxLen: number,
  limitBatches?: number,
): Generator<Batch> {
  checkBatchArgs(batchSize, limitBatches);
  if (split.ids.length !== split.n * maxLen) {
    throw new RangeError(
      `Cannot make batches: ids has ${split.ids.length} entries, expected n × maxLen = ${split.n} × ${maxLen}`,
    );
  }
  if (labels.length !== split.n) {
    throw new RangeError(
      `Cannot make batches: ${labels.length} labels for a split of ${split.n} reviews`,
    );
  }
  const count = batchCount(order.length, batchSize, limitBatches);
  for (let index = 0; index < count; index++) {
    const from = index * batchSize;
    const size = Math.min(batchSize, order.length - from);
    const rows = order.subarray(from, from + size);
    const out = new Float32Array(size);
    for (let b = 0; b < size; b++) {
      const row = rows[b]!;
      if (row >= split.n) {
        throw new RangeError(
          `Cannot make batches: order[${
            from + b
          }] = ${row} is outside a split of ${split.n} reviews`,
        );
      }
      out[b] = labels[row]!;
    }
    let ids: Int32Array | null = null;
    yield {
      get ids() {
        return ids ??= gatherRows(split.ids, rows, maxLen);
      },
      labels: out,
      size,
      index,
      source: { split, rows },
    };
  }
}

/** The rows `rows` of a `[n, T]` matrix, as a fresh `[rows.length, T]` copy. */
function gatherRows(ids: Int32Array, rows: Uint32Array, T: number): Int32Array {
  const out = new Int32Array(rows.length * T);
  for (let b = 0; b < rows.length; b++) {
    const r = rows[b]!;
    out.set(ids.subarray(r * T, (r + 1) * T), b * T);
  }
  return out;
}

/**
 * Word dropout for a training batch: each token id other than 0 becomes 0 (`<unk>`, which
 * is also the padding id) with probability `p`, drawn in row-major order from `rng`. The
 * review keeps its length and positions; only which words the model sees changes.
 * Evaluation never drops words.
 *
 * @param ids token ids `[B, T]` (not modified)
 * @param p drop probability, 0 ≤ p < 1
 * @param rng the random stream (one per (seed, epoch): `STREAM.dropout`, see `bench/train.ts`)
 * @returns a new array `[B, T]`
 * @example
 * ```ts
 * import { Rng } from "../../models/rng.ts";
 * dropWords(new Int32Array([0, 5, 7]), 0.5, new Rng(1)); // e.g. Int32Array [0, 0, 7]
 * ```
 */
export function dropWords(ids: Int32Array, p: number, rng: Rng): Int32Array {
  if (!(p >= 0 && p < 1)) {
    throw new RangeError(`Cannot drop words: the probability must be in [0, 1), got ${p}`);
  }
  const out = ids.slice();
  if (p === 0) return out;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== 0 && rng.uniform() < p) out[i] = 0;
  }
  return out;
}
