/**
 * The order in which the report lists architectures, and how it writes their names, both
 * derived from the cell registry (`models/cells.ts`): the built-in cells first in the
 * original report's order, then any other architecture found in the results, by name.
 *
 * Cells loaded from files (`bench --cell`) record their file's SHA-256 in each run; where
 * the results hold two or more versions of one name, {@linkcode separateCellVersions} makes
 * each version an architecture of its own, `name@<hash prefix>`, written like its name.
 *
 * @module
 */

import { ARCHS, cellLabel } from "../models/cells.ts";
import type { Arch, ResultsFile } from "../bench/results/types.ts";

/** The built-in architectures, in the original report's order. */
export const ARCH_ORDER: readonly Arch[] = ARCHS;

/**
 * How the report writes an architecture: its cell's label (e.g. "LSTM"), and for one version
 * of a cell (see {@linkcode separateCellVersions}) that label and the version ("MGU@b70de6c").
 */
export function archLabel(arch: Arch): string {
  const at = arch.indexOf("@");
  return at === -1 ? cellLabel(arch) : `${cellLabel(arch.slice(0, at))}${arch.slice(at)}`;
}

/** The fewest hex digits of a hash that tell versions apart. */
const VERSION_DIGITS = 7;

/**
 * Keeps versions of a cell apart: where runs of one architecture name record two or more
 * source hashes (`Run.cell.sha256`), each of those runs gets the architecture
 * `name@<first 7 hex digits of its hash>` (more digits where two hashes share 7). Runs
 * without a hash keep their name, as do all runs of a name with one version.
 * @param files the results, as read
 * @returns the same files, with copies of the runs that were renamed
 */
export function separateCellVersions<F extends { readonly results: ResultsFile }>(
  files: readonly F[],
): F[] {
  const hashes = new Map<Arch, Set<string>>();
  for (const f of files) {
    for (const r of f.results.runs) {
      if (r.cell === undefined) continue;
      hashes.set(r.arch, (hashes.get(r.arch) ?? new Set()).add(r.cell.sha256));
    }
  }
  const digits = new Map<Arch, number>();
  for (const [arch, set] of hashes) {
    if (set.size < 2) continue;
    let n = VERSION_DIGITS;
    while (new Set([...set].map((h) => h.slice(0, n))).size < set.size) n++;
    digits.set(arch, n);
  }
  if (digits.size === 0) return [...files];
  return files.map((f) => ({
    ...f,
    results: {
      ...f.results,
      runs: f.results.runs.map((r) => {
        const n = digits.get(r.arch);
        return n === undefined || r.cell === undefined
          ? r
          : { ...r, arch: `${r.arch}@${r.cell.sha256.slice(0, n)}` };
      }),
    },
  }));
}

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

/**
 * Each architecture's chart style slot: a built-in keeps its own in every chart (RNN 0, LSTM 1,
 * GRU 2), and the other architectures of `arches` take the slots after them, in their order.
 */
export function archStyles(arches: readonly Arch[]): (arch: Arch) => number {
  const others = arches.filter((a) => archRank(a) === ARCH_ORDER.length);
  return (a) => archRank(a) + Math.max(0, others.indexOf(a));
}
