/**
 * The fastest engine per machine: for each architecture and profile, every machine's
 * fastest engine by training time, and its speed relative to the baseline's fastest.
 *
 * @module
 */

import type { Arch } from "../bench/results/types.ts";
import { archLabel } from "./_archs.ts";
import {
  code,
  col,
  compareText,
  configsOf,
  DASH,
  distinct,
  type Doc,
  okRows,
  type RunRow,
  trainSecondsOf,
  values,
} from "./_run_rows.ts";
import { formatRatio, formatSeconds } from "./format.ts";
import type { Text } from "./model.ts";
import { median } from "./stats.ts";

/** Per machine, the fastest engine's training time for each architecture × profile. */
export function fastestEngine(
  doc: Doc,
  rows: readonly RunRow[],
  machines: readonly string[],
  baseline: string,
): void {
  const keys = configsOf(okRows(rows), (r) => ({ arch: r.run.arch, profile: r.run.profile }));
  const fastest = (arch: Arch, profile: string, machine: string) => {
    let best: { engine: string; seconds: number } | null = null;
    const here = okRows(rows).filter((r) =>
      r.run.arch === arch && r.run.profile === profile && r.machine.name === machine
    );
    for (const engine of distinct(here.map((r) => r.run.engine)).sort(compareText)) {
      const xs = values(here.filter((r) => r.run.engine === engine), trainSecondsOf);
      if (xs.length > 0 && (best === null || median(xs) < best.seconds)) {
        best = { engine, seconds: median(xs) };
      }
    }
    return best;
  };
  const tableRows = keys.map(({ arch, profile }) => {
    const base = fastest(arch, profile, baseline);
    return [
      archLabel(arch),
      code(profile),
      ...machines.map((m): Text => {
        const f = fastest(arch, profile, m);
        if (f === null) return DASH;
        const ratio = m === baseline
          ? "baseline"
          : base === null
          ? null
          : formatRatio(base.seconds / f.seconds);
        return [
          `${formatSeconds(f.seconds)} `,
          code(f.engine),
          ratio === null ? "" : ` (${ratio})`,
        ];
      }),
    ];
  });
  if (tableRows.length === 0) return;
  doc.heading(3, "Fastest engine per machine");
  doc.paragraph(
    "Train seconds per epoch of each machine's fastest engine, and its speed relative to the " +
      "baseline's fastest engine.",
  );
  doc.table({
    columns: [col("Architecture"), col("Profile"), ...machines.map((m) => col(m, "right"))],
    rows: tableRows,
  });
}
