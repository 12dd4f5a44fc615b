/**
 * The non-recurrent reference line beside the recurrent results: each results file's
 * `reference` (a linear model `bench` trained on the same split, see
 * `bench/reference/nbsvm.ts`) with its accuracy and training seconds, then every recurrent
 * configuration trained on correct labels with its final test accuracy and total training seconds, and how far each is from
 * the line.
 *
 * @module
 */

import type { ReferenceLine } from "../bench/results/types.ts";
import {
  code,
  col,
  type Doc,
  groupRuns,
  keyCells,
  keyColumns,
  lastEpoch,
  type LoadedResults,
  okRows,
  type RunRow,
  summaryCell,
} from "./_run_rows.ts";
import { formatAccuracy, formatAccuracyChange, formatSeconds } from "./format.ts";
import { median } from "./stats.ts";

/** A run's training seconds in all: the sum of its epochs' `trainSeconds`. */
function totalTrainSeconds(r: RunRow): number {
  return r.run.epochs.reduce((s, e) => s + (e.trainSeconds ?? 0), 0);
}

/** Adds the reference line(s) of `files` and the recurrent results beside them. */
export function referenceLine(
  doc: Doc,
  files: readonly LoadedResults[],
  rows: readonly RunRow[],
  byMachine: boolean,
): void {
  doc.heading(2, "Beside a non-recurrent reference line");
  const lines = files.flatMap((f) => {
    const ref = f.results.reference;
    return ref === null || ref === undefined ? [] : [{ file: f, ref }];
  });
  if (lines.length === 0) {
    doc.paragraph(
      "No results file here records a reference line (",
      code("deno task bench --reference nbsvm"),
      " trains one on the same split).",
    );
    return;
  }
  doc.paragraph(
    "A linear model trained by ",
    code("bench"),
    " on the same split as the recurrent runs: what the recurrence adds is the distance to " +
      "it. Accuracies are on the test split unless the line says validation.",
  );
  doc.table({
    columns: [
      col("Results file"),
      col("Machine"),
      col("Model"),
      col("Evaluated on"),
      col("Accuracy", "right"),
      col("Training seconds", "right"),
    ],
    rows: lines.map(({ file, ref }) => [
      code(file.label),
      code(file.results.machine.name),
      code(ref.model),
      evaluatedOn(ref),
      formatAccuracy(ref.testAccuracy),
      formatSeconds(ref.trainSeconds),
    ]),
  });
  doc.paragraph(lines.map(({ ref }) => `${ref.model}: ${ref.detail}.`).join(" "));
  // Runs on the original's all-zero labels are left out: their accuracy is not a
  // classifier's (see the artefact explanation).
  const groups = groupRuns(
    okRows(rows).filter((r) => r.run.config.labels === "correct"),
    byMachine,
  );
  if (groups.length === 0) return;
  const level = median(lines.map(({ ref }) => ref.testAccuracy));
  doc.paragraph(
    `The recurrent runs on correct labels beside it: final test accuracy and training seconds in all (several ` +
      `runs: median (min–max)); "vs reference" is the median's distance to the reference ` +
      `accuracy (${formatAccuracy(level)}${lines.length > 1 ? ", the median of the lines" : ""}).`,
  );
  doc.table({
    columns: [
      ...keyColumns(byMachine),
      col("Final test accuracy", "right"),
      col("vs reference", "right"),
      col("Training seconds", "right"),
    ],
    rows: groups.map((g) => {
      const acc = g.rows.flatMap((r) => lastEpoch(r.run)?.testAccuracy ?? []);
      return [
        ...keyCells(g),
        summaryCell(acc, formatAccuracy),
        acc.length === 0 ? "—" : formatAccuracyChange(median(acc) - level),
        summaryCell(g.rows.map(totalTrainSeconds), formatSeconds),
      ];
    }),
  });
}

function evaluatedOn(ref: ReferenceLine): string {
  return ref.validationSize === null
    ? `test (${ref.testSize})`
    : `validation (${ref.validationSize}${ref.validationCarve === "chunks" ? ", chunks" : ""})`;
}
