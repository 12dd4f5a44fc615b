import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { encodeTokens } from "./encode.ts";
import { buildVocab } from "./vocab.ts";

const vocab = buildVocab([["a", "a", "a", "b", "b", "c"]]); // a=1, b=2, c=3

Deno.test("encodeTokens() pads at the end with 0 by default (the original)", () => {
  const out = new Int32Array(5).fill(9);
  encodeTokens(["a", "b"], vocab, 5, "end", out, 0);
  assertEquals([...out], [1, 2, 0, 0, 0]);
});

Deno.test("encodeTokens() pads at the start when asked", () => {
  const out = new Int32Array(5).fill(9);
  encodeTokens(["a", "b"], vocab, 5, "start", out, 0);
  assertEquals([...out], [0, 0, 0, 1, 2]);
});

Deno.test("encodeTokens() keeps the FIRST maxLen tokens on both padding sides", () => {
  const tokens = ["c", "b", "a", "a", "b"];
  for (const padding of ["end", "start"] as const) {
    const out = new Int32Array(3);
    encodeTokens(tokens, vocab, 3, padding, out, 0);
    assertEquals([...out], [3, 2, 1], padding);
  }
});

Deno.test("encodeTokens() keeps the LAST maxLen tokens when asked, on both padding sides", () => {
  const tokens = ["c", "b", "a", "a", "b"];
  for (const padding of ["end", "start"] as const) {
    const out = new Int32Array(3);
    encodeTokens(tokens, vocab, 3, padding, out, 0, "last");
    assertEquals([...out], [1, 1, 2], padding);
  }
  // A short review is the same whichever tokens a long one would keep.
  const a = new Int32Array(5), b = new Int32Array(5);
  encodeTokens(["a", "b"], vocab, 5, "start", a, 0, "first");
  encodeTokens(["a", "b"], vocab, 5, "start", b, 0, "last");
  assertEquals([...a], [...b]);
});

Deno.test("encodeTokens() maps unknown tokens to 0 and writes only its own row", () => {
  const out = new Int32Array(9).fill(7);
  encodeTokens(["a", "zzz", "c"], vocab, 3, "end", out, 3);
  assertEquals([...out], [7, 7, 7, 1, 0, 3, 7, 7, 7]);
});

Deno.test("encodeTokens() fills a whole row of padding for an empty text", () => {
  const out = new Int32Array(3).fill(5);
  encodeTokens([], vocab, 3, "start", out, 0);
  assertEquals([...out], [0, 0, 0]);
});

Deno.test("encodeTokens() refuses a row that does not fit", () => {
  assertThrows(() => encodeTokens(["a"], vocab, 4, "end", new Int32Array(6), 3), /does not fit/);
  assertThrows(() => encodeTokens(["a"], vocab, 0, "end", new Int32Array(6), 0), /maxLen/);
});
