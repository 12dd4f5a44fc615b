/**
 * The order in which the report lists architectures, and how it writes their names, both
 * derived from the cell registry (`models/cells.ts`): the built-in cells first in the
 * original report's order, then any other architecture found in the results, by name.
 *
 * @module
 */

import { ARCHS, cellLabel } from "../models/cells.ts";
import type { Arch } from "../bench/results/types.ts";

/** The built-in architectures, in the original report's order. */
export const ARCH_ORDER: readonly Arch[] = ARCHS;

/** How the report writes an architecture: its cell's label (e.g. "LSTM"). */
export const archLabel: (arch: Arch) => string = cellLabel;

/** An architecture's rank: a built-in's place in {@linkcode ARCH_ORDER}, after them any other. */
export function archRank(arch: Arch): number {
  const i = ARCH_ORDER.indexOf(arch);
  return i === -1 ? ARCH_ORDER.length : i;
}

/** Compares architectures in report order: built-ins first, then the others by name. */
export function compareArchs(a: Arch, b: Arch): number {
  return archRank(a) - archRank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The distinct architectures among `archs`, in report order. */
export function archesOf(archs: Iterable<Arch>): Arch[] {
  return [...new Set(archs)].sort(compareArchs);
}
