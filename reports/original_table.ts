/**
 * The original table, reproduced: the original report's numbers per architecture, each
 * followed by a row per profile and engine run here; the reproductions are read after the
 * original's epoch counts, other profiles after their last epoch.
 *
 * @module
 */

import { ARCH_ORDER, archLabel } from "./_archs.ts";
import {
  code,
  col,
  DASH,
  distinct,
  type Doc,
  groupRuns,
  okRows,
  type RunRow,
  runsCell,
  summaryCell,
} from "./_run_rows.ts";
import { formatAccuracy, formatLearningRate } from "./format.ts";
import type { Text } from "./model.ts";
import { comparisonEpoch, originalPerArch, originalResult } from "./original_results.ts";

/** The original report's table beside every profile and engine run here. */
export function originalTable(doc: Doc, rows: readonly RunRow[]): void {
  doc.heading(2, "The original table, reproduced");
  doc.paragraph(
    "The original report's results table (“Результаты”) beside every profile run here: ",
    code("original-labels"),
    " (the original's setup and label handling), ",
    code("original"),
    " (the same with correct labels), ",
    code("fixed"),
    " (the fewest changes that let the architecture learn) and ",
    code("best"),
    " (the strongest model the suite trains).",
  );
  const tableRows: Text[][] = [];
  for (const arch of ARCH_ORDER) {
    const o = originalResult(arch);
    if (o === undefined) continue;
    tableRows.push([
      { strong: archLabel(arch) },
      "original report",
      "PyTorch",
      DASH,
      String(o.epochs),
      formatLearningRate(o.learningRate),
      formatAccuracy(o.accuracy),
      DASH,
      DASH,
    ]);
    for (const g of groupRuns(rows.filter((r) => r.run.arch === arch), false)) {
      const ok = okRows(g.rows);
      const read = ok.map((r) => comparisonEpoch(r.run)).filter((e) => e !== undefined);
      const epochs = distinct(read.map((e) => e.epoch)).sort((a, b) => a - b);
      const lrs = distinct(g.rows.map((r) => r.run.config.learningRate)).sort((a, b) => a - b);
      const pos = distinct(g.rows.map((r) => r.run.data.testPositiveFraction)).sort();
      tableRows.push([
        archLabel(arch),
        code(g.profile),
        code(g.engine),
        runsCell(g.rows),
        epochs.length === 0 ? DASH : epochs.join(", "),
        lrs.map(formatLearningRate).join(", "),
        ok.length === 0
          ? `${DASH} (failed)`
          : summaryCell(read.map((e) => e.testAccuracy), formatAccuracy),
        summaryCell(read.map((e) => e.testPredictedNegativeFraction), formatAccuracy),
        pos.map(formatAccuracy).join(", "),
      ]);
    }
  }
  doc.table({
    columns: [
      col("Architecture"),
      col("Results from"),
      col("Engine"),
      col("Runs", "right"),
      col("Epochs", "right"),
      col("Learning rate", "right"),
      col("Accuracy", "right"),
      col("Predicted negative", "right"),
      col("Positive test labels", "right"),
    ],
    rows: tableRows,
  });
  doc.paragraph(
    "Accuracy and the share of test reviews predicted negative are read after the epochs in " +
      "the Epochs column: for ",
    code("original-labels"),
    " and ",
    code("original"),
    ` after the original's own epoch counts (${originalPerArch((o) => String(o.epochs))}), ` +
      "for other profiles after the last epoch.",
  );
}
