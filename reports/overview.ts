/**
 * The report's opening: which files, runs and machines it covers and how to read its
 * numbers, then the runs that failed.
 *
 * @module
 */

import {
  code,
  col,
  compareText,
  DASH,
  type Doc,
  joinInline,
  type LoadedResults,
  plural,
  type RunRow,
} from "./_run_rows.ts";

/** Says what the report covers and how to read its numbers. */
export function overview(
  doc: Doc,
  files: readonly LoadedResults[],
  rows: readonly RunRow[],
  machines: readonly string[],
): void {
  const dates = files.map((f) => f.results.createdAt).sort((a, b) =>
    Date.parse(a) - Date.parse(b) || compareText(a, b)
  );
  const first = dates[0];
  const last = dates[dates.length - 1];
  const created = first === undefined
    ? ""
    : first === last
    ? `, created ${first}`
    : `, created between ${first} and ${last}`;
  const failed = rows.filter((r) => r.run.status === "failed").length;
  doc.paragraph(
    `From ${plural(files.length, "results file")} with ${plural(rows.length, "run")} on ` +
      `${plural(machines.length, "machine")} (`,
    ...joinInline(machines.map(code), ", "),
    `)${created}. `,
    failed === 0
      ? (rows.length === 0 ? "The files contain no runs." : "Every run completed.")
      : `${plural(failed, "run")} failed: see “Failed runs”.`,
  );
  doc.paragraph(
    "Accuracies are test-set accuracies, losses are mean binary cross-entropy on the test " +
      "set, and epoch 0 is the evaluation before training, as in the original report. " +
      "Several runs of one configuration are shown as median (min–max).",
  );
}

/** Lists the runs that stopped early; adds nothing when there are none. */
export function failures(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  const failed = rows.filter((r) => r.run.failure !== null);
  if (failed.length === 0) return;
  doc.heading(2, "Failed runs");
  doc.paragraph("These runs stopped early; they are left out of every statistic below.");
  doc.table({
    columns: [
      col("Run"),
      ...(byMachine ? [col("Machine")] : []),
      col("Epoch", "right"),
      col("Batch", "right"),
      col("Message"),
    ],
    rows: failed.map((r) => [
      code(r.name),
      ...(byMachine ? [code(r.machine.name)] : []),
      String(r.run.failure!.epoch),
      r.run.failure!.batch === null ? DASH : String(r.run.failure!.batch),
      r.run.failure!.message,
    ]),
  });
}
