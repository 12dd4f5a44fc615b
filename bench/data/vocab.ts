/**
 * The vocabulary, built like torchtext's `build_vocab_from_iterator(..., specials=["<unk>"])`
 * with `set_default_index(0)`: `<unk>` at index 0, then tokens by descending frequency,
 * ties in Python string order (by code point), unknown tokens → 0.
 *
 * @module
 */

/** A token ↔ id mapping. `itos[stoi.get(t)!] === t` for every token `t` in it. */
export interface Vocab {
  /** Tokens by id; `itos[0]` is {@link UNK}. */
  itos: string[];
  /** Ids by token. */
  stoi: Map<string, number>;
}

/** The unknown-token special, always at index 0. */
export const UNK = "<unk>";
/** Id of {@link UNK}; also the id that unknown tokens and padding get. */
export const UNK_ID = 0;

/**
 * Version of the vocabulary rules; part of the dataset hash, so bump it whenever
 * `buildVocab()` could give a different order for the same counts.
 */
export const VOCAB_RULES = "torchtext-build_vocab_from_iterator/specials=<unk>/(-freq,codepoint)/1";

/** Options of {@link buildVocab}. */
export interface VocabOptions {
  /**
   * Tokens seen fewer times than this are left out.
   * @default 1
   */
  minFreq?: number;
  /**
   * Largest vocabulary size, `<unk>` included (torchtext's `max_tokens`): the
   * `maxSize - 1` most frequent tokens are kept. At least 2.
   * @default unlimited
   */
  maxSize?: number;
}

/**
 * Compare two strings by Unicode code point, as Python compares `str`.
 *
 * JavaScript's `<` compares UTF-16 code units, which puts U+10000… before U+E000…U+FFFF;
 * Python does not. Lone surrogates compare as their own code point, as in Python.
 *
 * @returns negative, zero or positive, like a `sort` comparator
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  const ca = a.charCodeAt(i);
  const cb = b.charCodeAt(i);
  if (!isSurrogate(ca) && !isSurrogate(cb)) {
    // A shared high surrogate just before i pairs with a low surrogate at i in at most one
    // of the strings; neither unit here is one, so both code points start at i.
    return ca - cb;
  }
  // Back up to the start of a pair that straddles i, then compare whole code points.
  let j = i;
  if (j > 0 && isHigh(a.charCodeAt(j - 1))) j--;
  while (j < a.length && j < b.length) {
    const pa = a.codePointAt(j)!;
    const pb = b.codePointAt(j)!;
    if (pa !== pb) return pa - pb;
    j += pa > 0xffff ? 2 : 1;
  }
  return (a.length - j) - (b.length - j);
}

function isSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdfff;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/**
 * Add every token of one text to a frequency table.
 * @param counts the table, updated in place
 * @param tokens the text's tokens
 */
export function countTokens(counts: Map<string, number>, tokens: Iterable<string>): void {
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
}

/**
 * Build a vocabulary from a frequency table (see {@link buildVocab}).
 * @param counts token → number of occurrences
 * @param opts size limits
 * @returns the vocabulary
 */
export function vocabFromCounts(counts: Map<string, number>, opts: VocabOptions = {}): Vocab {
  const { minFreq = 1, maxSize = Infinity } = opts;
  if (!(minFreq >= 1) || !Number.isInteger(minFreq)) {
    throw new RangeError(
      `Cannot build a vocabulary: minFreq must be an integer ≥ 1, got ${minFreq}`,
    );
  }
  if (!(maxSize >= 2) || (maxSize !== Infinity && !Number.isInteger(maxSize))) {
    throw new RangeError(
      `Cannot build a vocabulary: maxSize must be an integer ≥ 2 (it counts <unk>), got ${maxSize}`,
    );
  }
  const entries = [...counts];
  entries.sort((x, y) => y[1] - x[1] || compareCodePoints(x[0], y[0]));
  // torchtext cuts the sorted list to max_tokens - len(specials) first, then drops tokens
  // equal to a special, then applies min_freq; the same order here.
  const kept = maxSize === Infinity ? entries : entries.slice(0, maxSize - 1);
  const itos = [UNK];
  for (const [token, freq] of kept) {
    if (token !== UNK && freq >= minFreq) itos.push(token);
  }
  const stoi = new Map<string, number>();
  for (let i = 0; i < itos.length; i++) stoi.set(itos[i]!, i);
  return { itos, stoi };
}

/**
 * Build a vocabulary from tokenized texts, like torchtext's
 * `build_vocab_from_iterator(texts, min_freq, specials=["<unk>"], max_tokens)`.
 *
 * @param tokenized the tokens of every text (the training split only)
 * @param opts size limits
 * @returns `<unk>` at 0, then tokens by descending frequency, ties by code point
 * @example
 * ```ts
 * const v = buildVocab([["b", "a"], ["a"]]);
 * v.itos; // ["<unk>", "a", "b"]
 * ```
 */
export function buildVocab(tokenized: Iterable<string[]>, opts: VocabOptions = {}): Vocab {
  const counts = new Map<string, number>();
  for (const tokens of tokenized) countTokens(counts, tokens);
  return vocabFromCounts(counts, opts);
}

/**
 * @param vocab the vocabulary
 * @param token a token
 * @returns its id, or {@link UNK_ID} when it is not in the vocabulary
 */
export function tokenId(vocab: Vocab, token: string): number {
  return vocab.stoi.get(token) ?? UNK_ID;
}
