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
 *   {@link tokenizeReference} applies the chain literally; {@link tokenize} is a faster
 *   equivalent, tested against it.
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
 * The executable specification: torchtext's rule chain applied literally (lower-case, the
 * twelve replacements in order, split). {@link tokenize} must return the same tokens for
 * every input; tests compare the two.
 *
 * @param text any string
 * @returns the tokens, never empty strings
 */
export function tokenizeReference(text: string): string[] {
  let line = text.toLowerCase();
  for (const [pattern, replacement] of RULES) line = line.replace(pattern, replacement);
  // After the last rule every whitespace run is one U+0020, so splitting on it and dropping
  // the empty ends is Python's `str.split()`.
  const tokens: string[] = [];
  for (const p of line.split(" ")) if (p !== "") tokens.push(p);
  return tokens;
}

/** Per ASCII code: 1 = a punctuation mark that becomes its own token, 2 = a separator. */
const ASCII_CLASS = new Uint8Array(128);
for (const c of "'.,()!?") ASCII_CLASS[c.charCodeAt(0)] = 1;
for (const c of ";:\t\n\v\f\r\x1c\x1d\x1e\x1f ") ASCII_CLASS[c.charCodeAt(0)] = 2;

/** Python whitespace above ASCII (see {@link PY_WHITESPACE}). */
function isWideSpace(c: number): boolean {
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/**
 * The tokens of a text as spans of its normalised form, without building strings: calls
 * `emit(line, start, end)` for each token, where the token is `line.slice(start, end)`,
 * in order, until `emit` returns false. The tokens are exactly {@link tokenize}'s.
 *
 * After removing `"` and replacing `<br />` (the only rules whose order matters: removing a
 * quote can complete a `<br />`), the remaining rules each touch one character and cannot
 * create or break a match of another, so one scan applies them all.
 *
 * @param text any string (a review)
 * @param emit receives each token's span; returns false to stop early
 */
export function scanTokens(
  text: string,
  emit: (line: string, start: number, end: number) => boolean,
): void {
  let line = text.toLowerCase();
  if (line.includes('"')) line = line.replaceAll('"', "");
  if (line.includes("<br />")) line = line.replaceAll("<br />", " ");
  let start = -1; // start of the word being scanned, or -1
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    const kind = c < 128 ? ASCII_CLASS[c]! : isWideSpace(c) ? 2 : 0;
    if (kind === 0) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0) {
      if (!emit(line, start, i)) return;
      start = -1;
    }
    if (kind === 1 && !emit(line, i, i + 1)) return;
  }
  if (start >= 0) emit(line, start, n);
}

/**
 * Split a text into tokens exactly as torchtext's `get_tokenizer("basic_english")`.
 *
 * Same result as {@link tokenizeReference} (the literal rule chain), about twice as fast
 * (see {@link scanTokens}).
 *
 * @param text any string (a review)
 * @returns the tokens, never empty strings
 * @example
 * ```ts
 * tokenize("Don't <br />stop!"); // ["don", "'", "t", "stop", "!"]
 * ```
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  scanTokens(text, (line, start, end) => {
    tokens.push(line.slice(start, end));
    return true;
  });
  return tokens;
}
