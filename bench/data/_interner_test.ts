import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { TokenInterner } from "./_interner.ts";

Deno.test("TokenInterner numbers spans in first-seen order and finds them again after growing", () => {
  const interner = new TokenInterner();
  const words = Array.from({ length: 100_000 }, (_, i) => `w${i.toString(36)}`);
  const line = words.join(" ");
  const spans: [number, number][] = [];
  let at = 0;
  for (const w of words) {
    spans.push([at, at + w.length]);
    at += w.length + 1;
  }
  spans.forEach(([s, e], i) => assertEquals(interner.find(line, s, e, true), i));
  assertEquals(interner.size, 100_000);
  spans.forEach(([s, e], i) => assertEquals(interner.find(line, s, e, false), i));
  assertEquals(interner.tokens[12_345], words[12_345]);
  assertEquals(interner.find("w-unknown", 0, 9, false), -1);
  assertEquals(interner.size, 100_000);
  // A prefix of a known token is a different token.
  assertEquals(interner.find(line, 0, 1, false), -1);
});
