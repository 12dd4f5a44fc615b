import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  throws as assertThrows,
} from "node:assert/strict";
import type { EncodedSplit } from "./dataset.ts";
import { carveValidation, VALIDATION_CHUNK_ROWS, validationSplitRows } from "./validation.ts";

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

Deno.test("the random carve chooses the rows it chose before carves had a name", () => {
  // Rows from the code of 39dd8e9, before the chunks carve: the default carve must keep
  // every recorded sweep's validation split.
  const rows = [...validationSplitRows(split(1000), 0.2, 42).validationRows].slice(0, 8);
  assertEquals(rows, [5, 8, 12, 29, 38, 45, 60, 65]);
  assertEquals(
    [...validationSplitRows(split(1000), 0.2, 42, "random").validationRows].slice(0, 8),
    rows,
  );
});

Deno.test("the chunks carve takes whole runs of consecutive reviews of each class", () => {
  const train = split(5000); // 1,500 positive, 3,500 negative
  const { trainRows, validationRows } = validationSplitRows(train, 0.2, 1, "chunks");
  assertEquals(trainRows.length + validationRows.length, 5000);
  assertEquals(new Set([...trainRows, ...validationRows]).size, 5000);
  const inValidation = new Set(validationRows);
  for (const [cls, count] of [[0, 3500], [1, 1500]] as const) {
    const rows = [...Array(5000).keys()].filter((i) => train.labels[i] === cls);
    assertEquals(rows.length, count);
    const taken = rows.map((r) => inValidation.has(r));
    assertEquals(taken.filter(Boolean).length, Math.round(0.2 * count));
    // Chunk by chunk of the class's positions: all taken, none, or (at most once) a prefix.
    const partial: number[] = [];
    for (let c = 0; c * VALIDATION_CHUNK_ROWS < count; c++) {
      const chunk = taken.slice(c * VALIDATION_CHUNK_ROWS, (c + 1) * VALIDATION_CHUNK_ROWS);
      const k = chunk.filter(Boolean).length;
      if (k === 0 || k === chunk.length) continue;
      assertEquals(chunk, chunk.map((_, i) => i < k), `class ${cls} chunk ${c} is not a prefix`);
      partial.push(c);
    }
    if (partial.length > 1) throw new Error(`class ${cls}: partial chunks ${partial}`);
  }
  // Deterministic per seed, and another seed takes other chunks.
  const again = validationSplitRows(train, 0.2, 1, "chunks").validationRows;
  assertEquals([...again], [...validationRows]);
  assertNotEquals([...validationSplitRows(train, 0.2, 2, "chunks").validationRows], [
    ...validationRows,
  ]);
  // And not the random carve's rows.
  assertNotEquals([...validationSplitRows(train, 0.2, 1).validationRows], [...validationRows]);
});
