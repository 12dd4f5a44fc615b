import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  throws as assertThrows,
} from "node:assert/strict";
import type { EncodedSplit } from "./dataset.ts";
import { carveValidation, validationSplitRows } from "./validation.ts";

/** n rows of length 3, row i filled with i; labels: 30 % positive. */
function split(n: number): EncodedSplit {
  const ids = new Int32Array(n * 3);
  for (let i = 0; i < n; i++) ids.fill(i, i * 3, i * 3 + 3);
  return { ids, labels: Uint8Array.from({ length: n }, (_, i) => (i % 10 < 3 ? 1 : 0)), n };
}

const rowsOf = (s: EncodedSplit) => Array.from({ length: s.n }, (_, i) => s.ids[i * 3]!);

Deno.test("carveValidation() splits train into disjoint parts that cover it exactly", () => {
  const train = split(1000);
  const { train: rest, validation } = carveValidation(train, 0.2, 42);
  const a = rowsOf(rest);
  const b = rowsOf(validation);
  assertEquals(a.length + b.length, 1000);
  assertEquals(new Set([...a, ...b]).size, 1000);
  assertEquals([...a, ...b].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  // Rows keep their labels and ascending order.
  assertEquals([...validation.labels], b.map((r) => train.labels[r]!));
  assertEquals(b, [...b].sort((x, y) => x - y));
});

Deno.test("carveValidation() is stratified by class", () => {
  const { validation } = carveValidation(split(1000), 0.2, 42);
  const pos = validation.labels.reduce((s, l) => s + l, 0);
  assertEquals([validation.n - pos, pos], [140, 60]); // 20 % of 700 negatives and 300 positives
});

Deno.test("carveValidation() is deterministic per seed", () => {
  const s = split(500);
  const a = validationSplitRows(s, 0.1, 1);
  assertEquals([...a.validationRows], [...validationSplitRows(s, 0.1, 1).validationRows]);
  assertNotEquals([...a.validationRows], [...validationSplitRows(s, 0.1, 2).validationRows]);
});

Deno.test("carveValidation() refuses fractions outside (0, 1) and empty parts", () => {
  assertThrows(() => carveValidation(split(10), 0, 1), /fraction must be in \(0, 1\)/);
  assertThrows(() => carveValidation(split(10), 1, 1), /fraction must be in \(0, 1\)/);
  assertThrows(() => carveValidation(split(10), 0.01, 1), /leaves 0 for validation/);
});
