import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  throws as assertThrows,
} from "node:assert/strict";
import {
  applyLabelMode,
  batchCount,
  batches,
  dropWords,
  epochOrder,
  originalLabel,
} from "./batches.ts";
import { Rng } from "../../models/rng.ts";
import type { EncodedSplit } from "./dataset.ts";
import { DEFAULT_FIXTURE_URL, loadFixture } from "./imdb.ts";

Deno.test("applyLabelMode('original') turns every label into 0, as the report's code did", async () => {
  const { train } = await loadFixture(DEFAULT_FIXTURE_URL);
  const labels = Uint8Array.from(train, (r) => r.label);
  const original = applyLabelMode(labels, "original");
  assertEquals(original.length, 800);
  assertEquals(original.every((l) => l === 0), true);
  // torchtext ≥ 0.14 yields 1 (neg) and 2 (pos); neither equals 'pos'.
  assertEquals([originalLabel(1), originalLabel(2), originalLabel("pos")], [0, 0, 1]);
});

Deno.test("applyLabelMode('correct') keeps the fixture's 50/50 labels in a new array", async () => {
  const { train } = await loadFixture(DEFAULT_FIXTURE_URL);
  const labels = Uint8Array.from(train, (r) => r.label);
  const correct = applyLabelMode(labels, "correct");
  assertEquals(correct.reduce((s, l) => s + l, 0), 400);
  assertEquals([...correct], [...labels]);
  correct[0] = 1;
  assertEquals(labels[0], 0, "the input is not modified");
  assertThrows(
    () => applyLabelMode(labels, "other" as "correct"),
    /Cannot apply label mode "other"/,
  );
});

Deno.test("epochOrder() is a deterministic permutation that changes with seed and epoch", () => {
  const a = epochOrder(1000, 7, 3, true);
  assertEquals([...a], [...epochOrder(1000, 7, 3, true)]);
  assertEquals([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assertNotEquals([...a], [...epochOrder(1000, 7, 4, true)]);
  assertNotEquals([...a], [...epochOrder(1000, 8, 3, true)]);
  assertNotEquals([...a], Array.from({ length: 1000 }, (_, i) => i));
});

Deno.test("epochOrder() without shuffling is the identity", () => {
  assertEquals([...epochOrder(5, 7, 0, false)], [0, 1, 2, 3, 4]);
  assertEquals(epochOrder(0, 7, 0, true).length, 0);
  assertThrows(() => epochOrder(5, 7, 65_536, true), /epoch must be an integer in \[0, 65536\)/);
  assertThrows(() => epochOrder(-1, 7, 0, true), /n must be an integer ≥ 0/);
});

/** A split of n rows of length T whose row i is filled with i; label = i % 2. */
function rowNumbered(n: number, T: number): EncodedSplit {
  const ids = new Int32Array(n * T);
  for (let i = 0; i < n; i++) ids.fill(i, i * T, (i + 1) * T);
  return { ids, labels: Uint8Array.from({ length: n }, (_, i) => i % 2), n };
}

Deno.test("batches() follows the order and keeps the last partial batch", () => {
  const split = rowNumbered(10, 3);
  const order = epochOrder(10, 1, 0, true);
  const got = [...batches(split, split.labels, order, 4, 3)];
  assertEquals(got.map((b) => b.size), [4, 4, 2]);
  assertEquals(got.map((b) => b.index), [0, 1, 2]);
  assertEquals(batchCount(10, 4), 3);
  const rows = got.flatMap((b) => Array.from({ length: b.size }, (_, k) => b.ids[k * 3]!));
  assertEquals(rows, [...order]);
  for (const b of got) {
    assertEquals(b.ids.length, b.size * 3);
    for (let k = 0; k < b.size; k++) {
      const row = b.ids[k * 3]!;
      assertEquals([...b.ids.subarray(k * 3, k * 3 + 3)], [row, row, row]);
      assertEquals(b.labels[k], row % 2);
    }
  }
});

Deno.test("batches() gathers a batch's ids from its rows only when they are read, once", () => {
  const split = rowNumbered(6, 2);
  const [b] = [...batches(split, split.labels, Uint32Array.of(5, 2, 4), 3, 2)];
  const before = split.ids.slice();
  split.ids.fill(9, 4, 6); // row 2 changes before the batch's ids are first read
  assertEquals([...b!.source.rows], [5, 2, 4]);
  assertEquals([...b!.ids], [5, 5, 9, 9, 4, 4]);
  if (b!.ids !== b!.ids) throw new Error("a second read gathered again");
  split.ids.set(before);
});

Deno.test("batches() stops after limitBatches and batchCount() agrees", () => {
  const split = rowNumbered(10, 2);
  const order = epochOrder(10, 1, 0, false);
  assertEquals([...batches(split, split.labels, order, 4, 2, 2)].map((b) => b.size), [4, 4]);
  assertEquals(batchCount(10, 4, 2), 2);
  assertEquals(batchCount(10, 4, 99), 3);
  assertEquals([...batches(split, split.labels, order, 4, 2, 0)].length, 0);
  assertEquals([...batches(split, split.labels, order, 10, 2)].map((b) => b.size), [10]);
});

Deno.test("batches() refuses mismatched shapes and bad sizes", () => {
  const split = rowNumbered(4, 2);
  const order = epochOrder(4, 1, 0, false);
  assertThrows(
    () => [...batches(split, new Uint8Array(3), order, 2, 2)],
    /3 labels for a split of 4/,
  );
  assertThrows(() => [...batches(split, split.labels, order, 2, 3)], /expected n × maxLen/);
  assertThrows(
    () => [...batches(split, split.labels, order, 0, 2)],
    /batchSize must be an integer ≥ 1/,
  );
  assertThrows(
    () => [...batches(split, split.labels, Uint32Array.of(0, 9), 2, 2)],
    /order\[1\] = 9 is outside a split of 4/,
  );
});

Deno.test("dropWords() turns about p of the non-padding tokens into <unk>, deterministically", () => {
  const ids = Int32Array.from({ length: 20_000 }, (_, i) => (i % 4 === 0 ? 0 : 1 + (i % 97)));
  const copy = ids.slice();
  const a = dropWords(ids, 0.25, new Rng(3, 9));
  assertEquals([...ids], [...copy], "the input is not modified");
  assertEquals([...a], [...dropWords(ids, 0.25, new Rng(3, 9))], "same stream, same drops");
  assertNotEquals([...a], [...dropWords(ids, 0.25, new Rng(4, 9))]);
  let dropped = 0, words = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === 0) assertEquals(a[i], 0, "padding stays padding");
    else {
      words++;
      if (a[i] === 0) dropped++;
      else assertEquals(a[i], ids[i], "a kept token is unchanged");
    }
  }
  const rate = dropped / words; // 15,000 Bernoulli(0.25) draws: σ ≈ 0.0035
  if (!(rate > 0.235 && rate < 0.265)) throw new Error(`drop rate ${rate}, want ≈ 0.25`);
  assertEquals([...dropWords(ids, 0, new Rng(1))], [...ids]);
  for (const p of [-0.1, 1, Number.NaN]) {
    assertThrows(() => dropWords(ids, p, new Rng(1)), /probability must be in \[0, 1\)/);
  }
});
