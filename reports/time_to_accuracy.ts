/**
 * Time to accuracy: per configuration, the training seconds and the epoch at which the test
 * accuracy first reached its target.
 *
 * @module
 */

import {
  col,
  distinct,
  type Doc,
  groupRuns,
  keyCells,
  keyColumns,
  okRows,
  plural,
  type RunRow,
  summaryCell,
} from "./_run_rows.ts";
import { formatAccuracy, formatSeconds } from "./format.ts";

/** Adds a table of the time to accuracy of each configuration that records one. */
export function timeToAccuracy(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(3, "Time to accuracy");
  const groups = groupRuns(okRows(rows), byMachine).filter((g) =>
    g.rows.some((r) => r.run.timeToAccuracy !== null)
  );
  if (groups.length === 0) {
    doc.paragraph("No run in these results records a time to accuracy.");
    return;
  }
  doc.paragraph(
    "Training seconds until the test accuracy first reached the target, and the epoch it " +
      "happened in. Several runs: median (min–max).",
  );
  doc.table({
    columns: [
      ...keyColumns(byMachine),
      col("Target", "right"),
      col("Reached in", "right"),
      col("Seconds", "right"),
      col("Epoch", "right"),
    ],
    rows: groups.map((g) => {
      const reached = g.rows.flatMap((r) => r.run.timeToAccuracy ?? []);
      const targets = distinct(reached.map((t) => t.target)).sort();
      return [
        ...keyCells(g),
        targets.map(formatAccuracy).join(", "),
        `${reached.length} of ${plural(g.rows.length, "run")}`,
        summaryCell(reached.map((t) => t.seconds), formatSeconds),
        summaryCell(reached.map((t) => t.epoch), (x) => String(x)),
      ];
    }),
  });
}
