import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  formatGiB,
  formatLearningRate,
  formatRatio,
  formatSignificant,
  formatSmall,
  formatSummary,
} from "./format.ts";

Deno.test("formatLearningRate() writes rates as the original report does", () => {
  assertEquals([1e-7, 1e-10, 1e-9, 2e-3, 0.0015, 0.1 + 0.2].map(formatLearningRate), [
    "1e-7",
    "1e-10",
    "1e-9",
    "2e-3",
    "1.5e-3",
    "3e-1",
  ]);
});

Deno.test("formatSignificant() keeps three significant digits without exponents", () => {
  assertEquals([12.43, 0.9204, 5700.4, 0.0712, 0].map((x) => formatSignificant(x)), [
    "12.4",
    "0.920",
    "5700",
    "0.0712",
    "0",
  ]);
});

Deno.test("formatSmall() uses exponents below 1e-3", () => {
  assertEquals([0, 3.04e-6, 3.24e-6, 0.0123].map(formatSmall), ["0", "3e-6", "3.2e-6", "0.0123"]);
});

Deno.test("formatSummary() shows min–max only when the values differ", () => {
  const f = (x: number) => x.toFixed(2);
  assertEquals(formatSummary({ median: 1, min: 1, max: 1, n: 3 }, f), "1.00");
  assertEquals(formatSummary({ median: 1, min: 0.5, max: 2, n: 3 }, f), "1.00 (0.50–2.00)");
});

Deno.test("formatRatio() and formatGiB()", () => {
  assertEquals(formatRatio(2.049), "2.05×");
  assertEquals(formatGiB(8 * 2 ** 30), "8.0 GiB");
});
