/**
 * Summary statistics for the report: pure functions over plain number arrays.
 *
 * Methods and where they come from:
 * - median: the sample median (the middle order statistic, or the mean of the two middle
 *   ones), as used by hyperfine and criterion for timing summaries because it is robust to
 *   the occasional slow outlier;
 * - min and max: the range, shown beside the median when there are several runs, so the
 *   reader sees every run's spread rather than a parametric interval;
 * - bootstrap interval: the percentile bootstrap of Efron & Tibshirani, "An Introduction
 *   to the Bootstrap" (1993), ch. 13, resampling with replacement from a fixed-seed
 *   generator so reports are reproducible.
 *
 * @module
 */

/** Median, min, max and count of a sample. */
export interface Summary {
  /** The sample median. */
  median: number;
  /** The smallest value. */
  min: number;
  /** The largest value. */
  max: number;
  /** Sample size. */
  n: number;
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function assertSample(values: readonly number[], what: string): void {
  if (values.length === 0) throw new RangeError(`Cannot compute the ${what}: no values`);
  if (values.some((v) => !Number.isFinite(v))) {
    throw new RangeError(`Cannot compute the ${what}: values must be finite`);
  }
}

/**
 * The sample median: the middle value, or the mean of the two middle values.
 *
 * @param values A non-empty sample of finite numbers.
 * @returns The median.
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * median([3, 1, 2]); // 2
 * median([4, 1, 2, 3]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  assertSample(values, "median");
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Median, min and max of a sample.
 *
 * @param values A non-empty sample of finite numbers.
 * @returns The summary.
 *
 * @example
 * ```ts
 * import { summarize } from "./stats.ts";
 * summarize([3, 1, 2]); // { median: 2, min: 1, max: 3, n: 3 }
 * ```
 */
export function summarize(values: readonly number[]): Summary {
  assertSample(values, "summary");
  const s = sorted(values);
  return { median: median(s), min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Options of {@linkcode bootstrapMedianInterval}. */
export interface BootstrapOptions {
  /** Resamples drawn. @default {2000} */
  resamples?: number;
  /** Coverage of the interval. @default {0.95} */
  confidence?: number;
  /** Seed of the resampling generator. @default {1} */
  seed?: number;
}

/**
 * Percentile-bootstrap confidence interval of the median (Efron & Tibshirani 1993,
 * ch. 13): draw `resamples` samples with replacement, take each one's median, and return
 * the `(1 - confidence) / 2` and `(1 + confidence) / 2` quantiles of those medians
 * (nearest rank). Deterministic for a given seed.
 *
 * @param values A non-empty sample of finite numbers.
 * @param options Resamples, confidence and seed.
 * @returns The interval's lower and upper bounds.
 *
 * @example
 * ```ts
 * import { bootstrapMedianInterval } from "./stats.ts";
 * const { low, high } = bootstrapMedianInterval([0.84, 0.85, 0.83, 0.86, 0.84]);
 * ```
 */
export function bootstrapMedianInterval(
  values: readonly number[],
  options: BootstrapOptions = {},
): { low: number; high: number } {
  const { resamples = 2000, confidence = 0.95, seed = 1 } = options;
  assertSample(values, "bootstrap interval");
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`Cannot bootstrap: confidence ${confidence} is not in (0, 1)`);
  }
  const random = mulberry32(seed);
  const n = values.length;
  const medians = new Float64Array(resamples);
  const sample = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = values[Math.floor(random() * n)]!;
    medians[r] = median(sample);
  }
  medians.sort();
  const rank = (q: number) =>
    medians[Math.min(resamples - 1, Math.max(0, Math.ceil(q * resamples) - 1))]!;
  return { low: rank((1 - confidence) / 2), high: rank((1 + confidence) / 2) };
}

/** Mulberry32 (Tommy Ettinger): a small 32-bit generator, good enough for resampling. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
