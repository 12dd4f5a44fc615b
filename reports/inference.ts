/**
 * Inference throughput and latency per configuration, execution provider, batch size and
 * number of workers, and one line per provider and reason for what was not measured.
 *
 * @module
 */

import type { Run } from "../bench/results/types.ts";
import {
  code,
  col,
  compareProfiles,
  compareText,
  DASH,
  distinct,
  type Doc,
  type Group,
  groupRuns,
  keyCells,
  keyColumns,
  okRows,
  type RunRow,
  summaryCell,
} from "./_run_rows.ts";
import { formatMs, formatRate } from "./format.ts";
import type { Inline } from "./model.ts";

/** The inference measurements of one configuration, provider, batch size and worker count. */
export interface InferenceRow {
  group: Group;
  provider: string;
  batchSize: number;
  workers: number;
  results: Run["inference"];
}

/**
 * The inference measurements of the completed runs: one row per configuration, provider,
 * batch size and worker count, in report order.
 */
export function inferenceRows(rows: readonly RunRow[], byMachine: boolean): InferenceRow[] {
  const out: InferenceRow[] = [];
  for (const g of groupRuns(okRows(rows), byMachine)) {
    const byKey = new Map<string, InferenceRow>();
    for (const r of g.rows) {
      for (const m of r.run.inference) {
        const key = JSON.stringify([m.provider, m.batchSize, m.workers]);
        let row = byKey.get(key);
        if (row === undefined) {
          row = {
            group: g,
            provider: m.provider,
            batchSize: m.batchSize,
            workers: m.workers,
            results: [],
          };
          byKey.set(key, row);
        }
        row.results.push(m);
      }
    }
    out.push(
      ...[...byKey.values()].sort((a, b) =>
        compareText(a.provider, b.provider) || a.batchSize - b.batchSize || a.workers - b.workers
      ),
    );
  }
  return out;
}

/** Adds a table of inference throughput and latency, and a line for what was not measured. */
export function inference(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(3, "Inference throughput and latency");
  const all = inferenceRows(rows, byMachine);
  if (all.length === 0) {
    doc.paragraph("No inference measurement in these results.");
    untimed(doc, rows);
    return;
  }
  // Rows with no figure at all (a provider that was unavailable for every run of them) are
  // not repeated in the table: one line per provider and reason says what was not measured.
  const measured = all.filter((r) => r.results.some((m) => m.sequencesPerSecond !== null));
  const notMeasured = all.filter((r) => !measured.includes(r));
  const reasonsOf = (r: InferenceRow) => distinct(r.results.flatMap((m) => m.unavailable ?? []));
  if (measured.length > 0) {
    doc.paragraph(
      "ONNX Runtime on the exported model, per execution provider, batch size and number of " +
        "workers (one session each). Latency is per call. Several runs: median (min–max).",
    );
    const pct = (r: InferenceRow, p: "p50" | "p95" | "p99") =>
      summaryCell(r.results.flatMap((m) => m.latencyMs === null ? [] : [m.latencyMs[p]]), formatMs);
    const withReasons = measured.some((r) => reasonsOf(r).length > 0);
    doc.table({
      columns: [
        ...keyColumns(byMachine),
        col("Provider"),
        col("Batch", "right"),
        col("Workers", "right"),
        col("Sequences/s", "right"),
        col("p50 ms", "right"),
        col("p95 ms", "right"),
        col("p99 ms", "right"),
        ...(withReasons ? [col("Unavailable because")] : []),
      ],
      rows: measured.map((r) => {
        const reasons = reasonsOf(r);
        return [
          ...keyCells(r.group),
          code(r.provider),
          String(r.batchSize),
          String(r.workers),
          summaryCell(r.results.flatMap((m) => m.sequencesPerSecond ?? []), formatRate),
          pct(r, "p50"),
          pct(r, "p95"),
          pct(r, "p99"),
          ...(withReasons ? [reasons.length === 0 ? DASH : reasons.join("; ")] : []),
        ];
      }),
    });
  }
  const byReason = new Map<string, { provider: string; reason: string; rows: InferenceRow[] }>();
  for (const r of notMeasured) {
    const reason = reasonsOf(r).join("; ") || "no figure recorded";
    const key = JSON.stringify([r.provider, reason]);
    const entry = byReason.get(key) ?? { provider: r.provider, reason, rows: [] };
    entry.rows.push(r);
    byReason.set(key, entry);
  }
  const sorted = [...byReason.values()].sort((a, b) =>
    compareText(a.provider, b.provider) || compareText(a.reason, b.reason)
  );
  doc.list(sorted.map(({ provider, reason, rows: rs }): Inline[] => {
    const batches = distinct(rs.map((r) => r.batchSize)).sort((a, b) => a - b);
    const workers = distinct(rs.map((r) => r.workers)).sort((a, b) => a - b);
    const configs = distinct(rs.map((r) => r.group)).length; // one Group object per configuration
    const machines = distinct(rs.flatMap((r) => r.group.machine ?? [])).sort(compareText);
    return [
      { strong: "Not measured:" },
      " ",
      code(provider),
      ` (${configs === 1 ? "1 configuration" : `${configs} configurations`}`,
      ...(machines.length === 0 ? [] : [
        " on ",
        ...machines.flatMap((m, i) => [
          ...(i === 0 ? [] : [", "]),
          code(m),
        ]),
      ]),
      `; batch ${batches.join(", ")}; ` +
      `${workers.join(", ")} worker${workers.length === 1 && workers[0] === 1 ? "" : "s"}): ` +
      reason,
    ];
  }));
  untimed(doc, rows);
}

/**
 * One line for the runs whose model was exported and checked but not timed (a profile with
 * `inferSeconds` 0: the ladder's rungs between named profiles; a second or later seed of a
 * profile and cell), naming their profiles.
 */
function untimed(doc: Doc, rows: readonly RunRow[]): void {
  const runs = okRows(rows).filter((r) => r.run.onnx !== null && r.run.inference.length === 0);
  if (runs.length === 0) return;
  const profiles = distinct(runs.map((r) => r.run.profile)).sort(compareProfiles);
  doc.list([[
    { strong: "Not timed:" },
    ` ${runs.length === 1 ? "1 run" : `${runs.length} runs`} of `,
    ...profiles.flatMap((p, i) => [...(i === 0 ? [] : [", "]), code(p)]),
    ": exported and checked for parity only (a profile with inferSeconds 0 times no " +
    "inference: the ladder's rungs between named profiles, whose shapes the named profiles " +
    "around them time; of several seeds of one profile and cell, only the first is timed, " +
    "the others' graphs being the same).",
  ]]);
}
