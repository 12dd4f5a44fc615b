/**
 * The data pipeline: IMDB reviews → torchtext `basic_english` tokens → vocabulary from TRAIN
 * → fixed-length id rows (cached on disk, keyed by a dataset hash) → labels, epoch orders
 * and mini-batches.
 *
 * ```ts
 * import { batches, epochOrder, loadDataset } from "./bench/data/mod.ts";
 * const ds = await loadDataset({ source: "fixture", maxLen: 200, padding: "end", cacheDir: ".cache/data" });
 * for (const b of batches(ds.train, ds.train.labels, epochOrder(ds.train.n, 1, 0, true), 64, 200)) {
 *   // b.ids: [b.size, 200]
 * }
 * ```
 *
 * @module
 */

export { tokenize, TOKENIZER_VERSION } from "./tokenizer.ts";
export {
  DEFAULT_FIXTURE_URL,
  FIXTURE_MAGIC,
  FIXTURE_REGENERATE,
  FIXTURE_VERSION,
  type FixtureFile,
  IMDB_PACKAGE_URL,
  IMDB_QUARTERS,
  loadFixture,
  loadImdbPackage,
  parseFixture,
  parseImdbPackage,
  type Review,
  type Splits,
} from "./imdb.ts";
export {
  buildVocab,
  compareCodePoints,
  countTokens,
  tokenId,
  UNK,
  UNK_ID,
  type Vocab,
  VOCAB_RULES,
  vocabFromCounts,
  type VocabOptions,
} from "./vocab.ts";
export { encodeTokens, PAD_ID, type Padding } from "./encode.ts";
export {
  type DataOptions,
  DATASET_FORMAT,
  type EncodedDataset,
  type EncodedSplit,
  type EncodeOptions,
  encodeSplits,
  loadDataset,
  positiveFraction,
} from "./dataset.ts";
export {
  applyLabelMode,
  type Batch,
  batchCount,
  batches,
  epochOrder,
  type LabelMode,
  originalLabel,
} from "./batches.ts";
export { carveValidation, subsetSplit, validationSplitRows } from "./validation.ts";
