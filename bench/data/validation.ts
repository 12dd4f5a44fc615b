/**
 * A validation split carved out of TRAIN, for hyperparameter sweeps. The test split is
 * never touched.
 *
 * @module
 */

import { permutation, Rng, STREAM } from "../../models/rng.ts";
import type { EncodedSplit } from "./dataset.ts";

/**
 * How {@linkcode validationSplitRows} chooses a class's validation reviews:
 * - `"random"`: each review on its own, by a seeded permutation of the class (every sweep
 *   until 2026-12-04 used it);
 * - `"chunks"`: whole runs of {@linkcode VALIDATION_CHUNK_ROWS} consecutive reviews of the
 *   class in the dataset's file order, the runs in a seeded random order. That order keeps a
 *   movie's reviews (at most 30 per movie in IMDB) next to each other, so a random carve puts
 *   most validation reviews beside reviews of the same movie in training, while the test
 *   split's movies are not in train at all. A chunk carve shares only the movies cut at a
 *   chunk's edges with training (bench/notes/data.md measures both).
 */
export type ValidationCarve = "random" | "chunks";

/** The carves, for validation and `--help`. */
export const VALIDATION_CARVES: readonly ValidationCarve[] = ["random", "chunks"];

/** Reviews per chunk of the `"chunks"` carve (see {@linkcode ValidationCarve}). */
export const VALIDATION_CHUNK_ROWS = 100;

/** How logs and tables name a carve, e.g. "chunks of 100 consecutive reviews". */
export function carveText(carve: ValidationCarve): string {
  return carve === "random"
    ? "random reviews"
    : `chunks of ${VALIDATION_CHUNK_ROWS} consecutive reviews`;
}

/**
 * The rows `indices` of a split, in that order, as a new split.
 * @param split source split (`ids` is `[N, T]`)
 * @param indices rows to take, each < N
 * @returns a split of `indices.length` rows (copies)
 */
export function subsetSplit(split: EncodedSplit, indices: ArrayLike<number>): EncodedSplit {
  const maxLen = rowLength(split);
  const n = indices.length;
  const ids = new Int32Array(n * maxLen);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = indices[i]!;
    if (!Number.isInteger(row) || row < 0 || row >= split.n) {
      throw new RangeError(`Cannot take row ${row} of a split of ${split.n} reviews`);
    }
    ids.set(split.ids.subarray(row * maxLen, (row + 1) * maxLen), i * maxLen);
    labels[i] = split.labels[row]!;
  }
  return { ids, labels, n };
}

function rowLength(split: EncodedSplit): number {
  if (split.n <= 0 || split.ids.length % split.n !== 0 || split.labels.length !== split.n) {
    throw new RangeError(
      `Cannot use a split of ${split.n} reviews with ${split.ids.length} ids and ${split.labels.length} labels`,
    );
  }
  return split.ids.length / split.n;
}

/**
 * Split TRAIN into train′ and validation, deterministically and stratified by class.
 *
 * For each class, `round(fraction × count)` of its reviews, chosen by `carve` with draws from
 * `new Rng(seed, STREAM.split)`, go to validation; the rest stay. Both parts keep the
 * original row order. Together they cover train exactly once.
 *
 * @param train the training split
 * @param fraction share of each class that goes to validation, in (0, 1)
 * @param seed the random seed
 * @param carve how the reviews are chosen (see {@linkcode ValidationCarve})
 * @returns the remaining training rows and the validation rows
 * @example
 * ```ts
 * const { train, validation } = carveValidation(ds.train, 0.1, 1);
 * ```
 */
export function carveValidation(
  train: EncodedSplit,
  fraction: number,
  seed: number,
  carve: ValidationCarve = "random",
): { train: EncodedSplit; validation: EncodedSplit } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new RangeError(
      `Cannot carve a validation split: fraction must be in (0, 1), got ${fraction}`,
    );
  }
  const { trainRows, validationRows } = validationSplitRows(train, fraction, seed, carve);
  if (trainRows.length === 0 || validationRows.length === 0) {
    throw new RangeError(
      `Cannot carve a validation split: a fraction of ${fraction} of ${train.n} reviews leaves ` +
        `${validationRows.length} for validation and ${trainRows.length} for training; choose another fraction`,
    );
  }
  return { train: subsetSplit(train, trainRows), validation: subsetSplit(train, validationRows) };
}

/**
 * The row numbers {@link carveValidation} assigns to each part, ascending.
 * @param train the training split
 * @param fraction share of each class that goes to validation, in (0, 1)
 * @param seed the random seed
 * @param carve how the reviews are chosen (see {@linkcode ValidationCarve})
 * @returns row numbers of train′ and of validation
 */
export function validationSplitRows(
  train: EncodedSplit,
  fraction: number,
  seed: number,
  carve: ValidationCarve = "random",
): { trainRows: Uint32Array; validationRows: Uint32Array } {
  rowLength(train);
  const rng = new Rng(seed, STREAM.split);
  const inValidation = new Uint8Array(train.n);
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < train.n; i++) if (train.labels[i] === cls) rows.push(i);
    // The chunks carve draws this permutation too, unused: its chunk order comes after it in
    // the stream, so that it keeps choosing the rows of the sweeps behind `best`'s vocabulary.
    const perm = permutation(rows.length, rng);
    const take = Math.round(fraction * rows.length);
    const order = carve === "random" ? perm : chunkOrder(rows.length, rng);
    for (let k = 0; k < take; k++) inValidation[rows[order[k]!]!] = 1;
  }
  let nv = 0;
  for (let i = 0; i < train.n; i++) nv += inValidation[i]!;
  const trainRows = new Uint32Array(train.n - nv);
  const validationRows = new Uint32Array(nv);
  let a = 0, b = 0;
  for (let i = 0; i < train.n; i++) {
    if (inValidation[i]) validationRows[b++] = i;
    else trainRows[a++] = i;
  }
  return { trainRows, validationRows };
}

/**
 * The positions 0…n−1 of a class's reviews, chunk by chunk: the chunks of
 * {@linkcode VALIDATION_CHUNK_ROWS} consecutive positions in a random order, each chunk's
 * positions ascending. The validation split takes a prefix, so it is whole chunks and the
 * first reviews of one more.
 */
function chunkOrder(n: number, rng: Rng): number[] {
  const chunks = permutation(Math.ceil(n / VALIDATION_CHUNK_ROWS), rng);
  const order: number[] = [];
  for (const c of chunks) {
    const start = c * VALIDATION_CHUNK_ROWS;
    for (let k = start; k < Math.min(start + VALIDATION_CHUNK_ROWS, n); k++) order.push(k);
  }
  return order;
}
