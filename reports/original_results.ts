/**
 * The original report's results table as data, and how a run here is compared with it: at
 * which epoch its accuracy is read, and which profiles reproduce the original's setup.
 *
 * @module
 */

import type { Arch, EpochResult, Run } from "../bench/results/types.ts";
import { ARCH_ORDER, archLabel } from "./_archs.ts";
import { lastEpoch } from "./_run_rows.ts";

/** One row of the original report's table. */
export interface OriginalResult {
  /** The table's epochs column. */
  epochs: number;
  /** The table's learning-rate column. */
  learningRate: number;
  /** The table's accuracy column. */
  accuracy: number;
}

/** The original report's table (its «Результаты» section). */
export const ORIGINAL_RESULTS: Readonly<Record<"rnn" | "lstm" | "gru", OriginalResult>> = {
  rnn: { epochs: 5, learningRate: 1e-7, accuracy: 0.9606 },
  lstm: { epochs: 2, learningRate: 1e-10, accuracy: 0.9994 },
  gru: { epochs: 3, learningRate: 1e-9, accuracy: 0.9973 },
};

/** The original's row of an architecture, or undefined for one it did not train. */
export function originalResult(arch: Arch): OriginalResult | undefined {
  return Object.hasOwn(ORIGINAL_RESULTS, arch)
    ? ORIGINAL_RESULTS[arch as keyof typeof ORIGINAL_RESULTS]
    : undefined;
}

/**
 * One column of the original's table as text: each architecture's label and `show` of its
 * row, in report order, separated by commas.
 */
export function originalPerArch(show: (o: OriginalResult) => string): string {
  return ARCH_ORDER.flatMap((a) => {
    const o = originalResult(a);
    return o === undefined ? [] : [`${archLabel(a)} ${show(o)}`];
  }).join(", ");
}

/** Profiles that reproduce the original's setup (its learning rates and shape). */
export const REPRODUCTIONS = new Set(["original-labels", "original"]);

/** The epoch a run's accuracy is read at in the original-table comparison. */
export function comparisonEpoch(run: Run): EpochResult | undefined {
  const last = lastEpoch(run);
  if (last === undefined || !REPRODUCTIONS.has(run.profile)) return last;
  const wanted = originalResult(run.arch)?.epochs;
  if (wanted === undefined) return last;
  return run.epochs[Math.min(wanted, last.epoch)];
}
