/**
 * torchtext's `basic_english` tokenizer, reproduced exactly.
 *
 * torchtext (≥ 0.12, pure Python) lower-cases the line with `str.lower()`, applies twelve
 * `re.sub` rules in a fixed order and splits with `str.split()`. Two Python details matter
 * on the IMDB texts and are honoured here:
 *
 * - Python's `\s` (str patterns) and `str.split()` treat U+001C–U+001F and U+0085 as
 *   whitespace, JavaScript's `\s` does not (and it adds U+FEFF, which Python does not).
 *   The IMDB texts contain U+0085 about 1,500 times, so the whitespace class below is
 *   Python's `str.isspace()` set, spelled out.
 * - The rules run one after another, so a later rule sees the output of an earlier one
 *   (`<"br />` becomes `<br />` after the quote rule and then matches the line-break rule).
 *   A single-pass scanner would differ; this file keeps the chain.
 *
 * @module
 */

/**
 * Version of the tokenizer's behaviour; part of the dataset hash, so bump it whenever
 * `tokenize()` could return something different for some input.
 */
export const TOKENIZER_VERSION = "torchtext-basic_english/py-whitespace/1";

/** Python 3's `str.isspace()` set (Unicode 15), which is also what `re`'s `\s` matches. */
const PY_WHITESPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/**
 * torchtext's `_patterns` / `_replacements`, in order (pattern → replacement).
 * Replacement strings contain no `$`, so `String.prototype.replace` inserts them verbatim.
 */
const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/'/g, " '  "],
  [/"/g, ""],
  [/\./g, " . "],
  [/<br \/>/g, " "],
  [/,/g, " , "],
  [/\(/g, " ( "],
  [/\)/g, " ) "],
  [/!/g, " ! "],
  [/\?/g, " ? "],
  [/;/g, " "],
  [/:/g, " "],
  [new RegExp(`[${PY_WHITESPACE}]+`, "g"), " "],
];

/**
 * Split a text into tokens exactly as torchtext's `get_tokenizer("basic_english")`.
 *
 * @param text any string (a review)
 * @returns the tokens, never empty strings
 * @example
 * ```ts
 * tokenize("Don't <br />stop!"); // ["don", "'", "t", "stop", "!"]
 * ```
 */
export function tokenize(text: string): string[] {
  let line = text.toLowerCase();
  for (const [pattern, replacement] of RULES) line = line.replace(pattern, replacement);
  // After the last rule every whitespace run is one U+0020, so splitting on it and dropping
  // the empty ends is Python's `str.split()`.
  const parts = line.split(" ");
  const tokens: string[] = [];
  for (const p of parts) if (p !== "") tokens.push(p);
  return tokens;
}
