import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { bootstrapMedianInterval, median, summarize } from "./stats.ts";

Deno.test("median() takes the middle value, or the mean of the two middle values", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 2, 3]), 2.5);
  assertEquals(median([7]), 7);
});

Deno.test("median() refuses an empty or non-finite sample", () => {
  assertThrows(() => median([]), RangeError);
  assertThrows(() => median([1, NaN]), RangeError);
});

Deno.test("summarize() gives median, min, max and count", () => {
  assertEquals(summarize([0.8, 0.9, 0.85, 0.7]), { median: 0.825, min: 0.7, max: 0.9, n: 4 });
});

Deno.test("bootstrapMedianInterval() is deterministic and brackets the median", () => {
  const xs = [0.84, 0.85, 0.83, 0.86, 0.84, 0.9, 0.82];
  const a = bootstrapMedianInterval(xs, { seed: 3 });
  const b = bootstrapMedianInterval(xs, { seed: 3 });
  assertEquals(a, b);
  const m = median(xs);
  assertEquals(a.low <= m && m <= a.high, true);
  assertEquals(a.low >= 0.82 && a.high <= 0.9, true);
  assertEquals(bootstrapMedianInterval([5, 5, 5]), { low: 5, high: 5 });
});
