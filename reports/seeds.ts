/**
 * Several seeds: for configurations run with more than one seed, the spread of the last
 * epoch's accuracy and loss, and of the epoch time, across seeds.
 *
 * @module
 */

import {
  col,
  DASH,
  distinct,
  type Doc,
  groupRuns,
  keyCells,
  keyColumns,
  lastEpoch,
  okRows,
  type RunRow,
  summaryCell,
  trainSecondsOf,
  values,
} from "./_run_rows.ts";
import { formatAccuracy, formatLoss, formatSeconds } from "./format.ts";
import { bootstrapMedianInterval } from "./stats.ts";

/** Adds a table of the spread across seeds of each configuration run with several. */
export function seeds(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(2, "Several seeds");
  const groups = groupRuns(okRows(rows), byMachine).filter((g) =>
    distinct(g.rows.map((r) => r.run.seed)).length > 1
  );
  if (groups.length === 0) {
    doc.paragraph(
      "Every configuration here ran with one seed, so the spread across seeds is not shown.",
    );
    return;
  }
  doc.paragraph(
    "Statistic: the median over seeds, with the smallest and largest value in brackets; with " +
      "5 or more seeds also a 95 % percentile-bootstrap interval of the median (Efron and " +
      "Tibshirani 1993; 2000 resamples, fixed seed). Values are from the last epoch.",
  );
  const interval = (xs: number[]) => {
    if (xs.length < 5) return DASH;
    const { low, high } = bootstrapMedianInterval(xs);
    return `${formatAccuracy(low)}–${formatAccuracy(high)}`;
  };
  doc.table({
    columns: [
      ...keyColumns(byMachine),
      col("Seeds"),
      col("Accuracy", "right"),
      col("95 % interval of the median", "right"),
      col("Test loss", "right"),
      col("Train s/epoch", "right"),
    ],
    rows: groups.map((g) => {
      const acc = values(g.rows, (r) => lastEpoch(r.run)?.testAccuracy ?? null);
      return [
        ...keyCells(g),
        distinct(g.rows.map((r) => r.run.seed)).sort((a, b) => a - b).join(", "),
        summaryCell(acc, formatAccuracy),
        interval(acc),
        summaryCell(values(g.rows, (r) => lastEpoch(r.run)?.testLoss ?? null), formatLoss),
        summaryCell(values(g.rows, trainSecondsOf), formatSeconds),
      ];
    }),
  });
}
