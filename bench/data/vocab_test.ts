import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { createHash } from "node:crypto";
import { loadFixture } from "./imdb.ts";
import { tokenize } from "./tokenizer.ts";
import { buildVocab, compareCodePoints, tokenId, UNK, UNK_ID } from "./vocab.ts";

Deno.test("buildVocab() puts <unk> at 0, then tokens by descending frequency", () => {
  const v = buildVocab([["b", "a", "b"], ["c", "b", "a"]]);
  assertEquals(v.itos, [UNK, "b", "a", "c"]);
  assertEquals(v.stoi.get("b"), 1);
  assertEquals(tokenId(v, "never seen"), UNK_ID);
});

Deno.test("buildVocab() breaks frequency ties by code point, not by locale", () => {
  // localeCompare would give a, B, é; Python's sort gives B (U+42), a (U+61), é (U+E9).
  const v = buildVocab([["é", "a", "B"]]);
  assertEquals(v.itos, [UNK, "B", "a", "é"]);
});

Deno.test("buildVocab() sorts astral characters after U+E000..U+FFFF, as Python does", () => {
  // UTF-16 code units would put U+1F600 (D83D DE00) before U+FF01.
  const v = buildVocab([["\u{1F600}", "\uFF01", "z"]]);
  assertEquals(v.itos, [UNK, "z", "\uFF01", "\u{1F600}"]);
  assertEquals(compareCodePoints("\u{1F600}", "\uFF01") > 0, true);
  assertEquals(compareCodePoints("ab", "abc") < 0, true);
  assertEquals(compareCodePoints("x\u{1F600}", "x\u{1F601}") < 0, true);
  assertEquals(compareCodePoints("same", "same"), 0);
});

Deno.test("buildVocab() keeps <unk> at 0 even when the text contains the token <unk>", () => {
  const v = buildVocab([["<unk>", "<unk>", "a"]]);
  assertEquals(v.itos, [UNK, "a"]);
});

Deno.test("buildVocab() applies minFreq and maxSize (maxSize counts <unk>)", () => {
  const texts = [["a", "a", "a", "b", "b", "c"]];
  assertEquals(buildVocab(texts, { minFreq: 2 }).itos, [UNK, "a", "b"]);
  assertEquals(buildVocab(texts, { maxSize: 2 }).itos, [UNK, "a"]);
  assertEquals(buildVocab(texts, { maxSize: 100 }).itos, [UNK, "a", "b", "c"]);
  assertThrows(() => buildVocab(texts, { maxSize: 1 }), /maxSize must be an integer ≥ 2/);
  assertThrows(() => buildVocab(texts, { minFreq: 0 }), /minFreq must be an integer ≥ 1/);
});

Deno.test("buildVocab() on the fixture's train split matches a Python run of torchtext's rules", async () => {
  // Golden values from Python 3.11: Counter over the tokens, sorted by (-freq, token),
  // "<unk>" first. The full 25,000-review train split gave 100,683 entries, identical too.
  const { train } = await loadFixture(new URL("../../fixtures/imdb_small.json", import.meta.url));
  const v = buildVocab(train.map((r) => tokenize(r.text)));
  assertEquals(v.itos.length, 15_781);
  assertEquals(v.itos.slice(0, 12), [
    UNK,
    "the",
    ".",
    ",",
    "a",
    "and",
    "of",
    "to",
    "'",
    "is",
    "it",
    "in",
  ]);
  const sha = createHash("sha256").update(v.itos.join("\n")).digest("hex");
  assertEquals(sha, "086c0c2e181651b0570ab8d4bf1a8f07a9dd5e39fb49e1549b2a518ada9eaefd");
});
