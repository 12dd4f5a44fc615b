/**
 * The speed section's opening: which runs used a GPU, and the seconds per epoch of training
 * and evaluation per configuration.
 *
 * @module
 */

import {
  code,
  col,
  distinct,
  type Doc,
  evalSecondsOf,
  groupRuns,
  joinInline,
  keyCells,
  keyColumns,
  okRows,
  type RunRow,
  summaryCell,
  trainSecondsOf,
  values,
} from "./_run_rows.ts";
import { formatSeconds } from "./format.ts";

function isGpuEngine(engine: string): boolean {
  return /cuda|gpu|webgpu|rocm|hip/i.test(engine);
}

/** Adds the speed heading, the GPU runs, and a table of seconds per epoch per configuration. */
export function speed(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(2, "Speed");
  const gpuRows = rows.filter((r) => isGpuEngine(r.run.engine));
  if (gpuRows.length === 0) {
    doc.paragraph("No GPU run in these results.");
  } else {
    const seen = distinct(
      gpuRows.map((r) =>
        `${r.run.engine} on ${r.machine.name}${r.machine.gpu ? ` (${r.machine.gpu.name})` : ""}`
      ),
    );
    doc.paragraph("GPU runs: ", ...joinInline(seen, "; "), ".");
  }

  doc.heading(3, "Seconds per epoch");
  const groups = groupRuns(okRows(rows), byMachine);
  if (groups.length === 0) {
    doc.paragraph("No completed run in these results, so no epoch times.");
  } else {
    doc.paragraph(
      "Wall-clock seconds of one epoch's training over the training split and of one " +
        "evaluation over the test split: each run's median over its epochs ≥ 1; with several " +
        "runs, the median of those with min–max.",
    );
    doc.table({
      columns: [
        ...keyColumns(byMachine),
        col("Runs", "right"),
        col("Train s/epoch", "right"),
        col("Eval s/epoch", "right"),
      ],
      rows: groups.map((g) => [
        ...keyCells(g),
        String(g.rows.length),
        summaryCell(values(g.rows, trainSecondsOf), formatSeconds),
        summaryCell(values(g.rows, evalSecondsOf), formatSeconds),
      ]),
    });
    const limited = distinct(
      okRows(rows).filter((r) => r.run.config.limitBatches !== null).map((r) => r.name),
    );
    if (limited.length > 0) {
      doc.paragraph(
        "Runs limited to a few batches per epoch (",
        code("limitBatches"),
        ") time only part of an epoch: ",
        ...joinInline(limited.map(code), ", "),
        ".",
      );
    }
  }
}
