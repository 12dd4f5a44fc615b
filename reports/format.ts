/**
 * Number formatting for the report: one function per kind of quantity, so every table
 * shows the same quantity the same way.
 *
 * @module
 */

import type { Summary } from "./stats.ts";

/** An accuracy or fraction with four decimals, as the original report prints them. */
export function formatAccuracy(x: number): string {
  return x.toFixed(4);
}

/** A change of accuracy with its sign and four decimals: `+0.1234`, `−0.0012`, `+0.0000`. */
export function formatAccuracyChange(x: number): string {
  return `${x >= 0 ? "+" : "−"}${formatAccuracy(Math.abs(x))}`;
}

/** A loss with four decimals. */
export function formatLoss(x: number): string {
  return x.toFixed(4);
}

/** A small magnitude such as a difference: `0`, `3.2e-6`, `0.0123`. */
export function formatSmall(x: number): string {
  if (x === 0) return "0";
  if (Math.abs(x) < 1e-3) return trimExponent(x.toExponential(1));
  return formatSignificant(x, 3);
}

/** A learning rate in the original's notation: `1e-7`, `2e-3`, `1.5e-3`. */
export function formatLearningRate(x: number): string {
  return trimExponent(Number(x.toPrecision(6)).toExponential());
}

function trimExponent(s: string): string {
  return s.replace(/\.?0+e/, "e").replace("e+", "e").replace(/^(\d)\.0e/, "$1e");
}

/**
 * A positive quantity with `digits` significant digits and no exponent for ordinary sizes:
 * `12.4`, `0.92`, `5700`.
 */
export function formatSignificant(x: number, digits = 3): string {
  if (x === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  if (magnitude >= digits - 1) return String(Math.round(x));
  if (magnitude < -4) return trimExponent(x.toExponential(digits - 1));
  return x.toFixed(Math.max(0, digits - 1 - magnitude));
}

/** Seconds with three significant digits. */
export function formatSeconds(x: number): string {
  return formatSignificant(x, 3);
}

/** Milliseconds with three significant digits. */
export function formatMs(x: number): string {
  return formatSignificant(x, 3);
}

/** Throughput with three significant digits (integers when ≥ 100). */
export function formatRate(x: number): string {
  return formatSignificant(x, 3);
}

/** A ratio such as a relative speed: `2.05×`. */
export function formatRatio(x: number): string {
  return `${x.toFixed(2)}×`;
}

/** A fraction as a percentage: `50.0 %`. */
export function formatPercent(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

/** Bytes as GiB: `8.0 GiB`. */
export function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/**
 * A summary: the median alone for one value, else `median (min–max)`.
 *
 * @param s The summary.
 * @param format How to format each number.
 */
export function formatSummary(s: Summary, format: (x: number) => string): string {
  return s.n === 1 || s.min === s.max
    ? format(s.median)
    : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}
