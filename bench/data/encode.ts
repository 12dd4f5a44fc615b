/**
 * Token sequences → fixed-length rows of ids.
 *
 * @module
 */

import { UNK_ID, type Vocab } from "./vocab.ts";

/**
 * Where the padding goes. `"end"` is the original's (ids then zeros, so a short review ends
 * in a run of pad tokens before the "last timestep"); `"start"` puts the zeros first.
 */
export type Padding = "end" | "start";

/**
 * Which tokens a review longer than maxLen keeps: `"first"` (the original: the end of a long
 * review is cut off) or `"last"` (the beginning is cut off, so the last timestep — the only
 * state the head reads — follows the review's real last token).
 */
export type KeepTokens = "first" | "last";

/** The values of {@link KeepTokens}, for validation and messages. */
export const KEEP_TOKENS: readonly KeepTokens[] = ["first", "last"];

/** Id used for padding: the `<unk>` id, as in the original. */
export const PAD_ID = UNK_ID;

/**
 * Encode one token sequence into `out[offset, offset + maxLen)`.
 *
 * Keeps the FIRST `maxLen` tokens (as the original) or, with `keep = "last"`, the last ones;
 * maps unknown tokens to 0 and fills the rest of the row with {@link PAD_ID} at the end or at
 * the start.
 *
 * @param tokens the text's tokens
 * @param vocab the vocabulary
 * @param maxLen row length, an integer ≥ 1
 * @param padding which side gets the padding
 * @param out destination, at least `offset + maxLen` long
 * @param offset where the row starts in `out`
 * @param keep which tokens of a longer review stay (default `"first"`, the original)
 * @example
 * ```ts
 * const out = new Int32Array(4);
 * encodeTokens(["a", "b"], vocab, 4, "start", out, 0); // out = [0, 0, id(a), id(b)]
 * ```
 */
export function encodeTokens(
  tokens: string[],
  vocab: Vocab,
  maxLen: number,
  padding: Padding,
  out: Int32Array,
  offset: number,
  keep: KeepTokens = "first",
): void {
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new RangeError(`Cannot encode tokens: maxLen must be an integer ≥ 1, got ${maxLen}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + maxLen > out.length) {
    throw new RangeError(
      `Cannot encode tokens: row [${offset}, ${
        offset + maxLen
      }) does not fit in an array of ${out.length}`,
    );
  }
  const len = Math.min(tokens.length, maxLen);
  const start = padding === "end" ? offset : offset + maxLen - len;
  const from = keep === "last" ? tokens.length - len : 0;
  out.fill(PAD_ID, offset, offset + maxLen);
  const { stoi } = vocab;
  for (let i = 0; i < len; i++) out[start + i] = stoi.get(tokens[from + i]!) ?? UNK_ID;
}
