/**
 * Builds the report model from results: pure functions, no I/O, no clock, so the same
 * results always give the same report (and snapshot tests need no measurement).
 * {@linkcode buildReport} adds each section in order; each section is its own module, and
 * `_run_rows.ts` holds what they share.
 *
 * Aggregation rules, used by every table:
 * - only runs with status `ok` enter statistics; failed runs are listed on their own;
 * - a run's epoch time is the median over its epochs ≥ 1 (epoch 0 trains nothing, and its
 *   evaluation includes warm-up);
 * - several runs of one configuration (seeds, or results files) are summarised by the
 *   median with min–max (`stats.ts`).
 *
 * @module
 */

import { compareText, distinct, Doc, type LoadedResults, runRows } from "./_run_rows.ts";
import { accuracyAgainstTime } from "./accuracy_against_time.ts";
import { artefactExplanation } from "./artefact_explanation.ts";
import { environment } from "./environment.ts";
import { figures } from "./figures.ts";
import type { Lang } from "./i18n.ts";
import { inference } from "./inference.ts";
import { ladder } from "./ladder.ts";
import { machineComparison } from "./machine_comparison.ts";
import type { Report } from "./model.ts";
import { onnxParity } from "./onnx_parity.ts";
import { originalTable } from "./original_table.ts";
import { failures, overview } from "./overview.ts";
import { referenceLine } from "./reference_line.ts";
import { seeds } from "./seeds.ts";
import { speed } from "./speed.ts";
import { timeToAccuracy } from "./time_to_accuracy.ts";

export type { LoadedResults };

/** Options of {@linkcode buildReport}. */
export interface BuildOptions {
  /** Language of chart text. @default {"en"} */
  lang?: Lang;
  /** Machine that relative speeds refer to. @default {the first machine name alphabetically} */
  baseline?: string | null;
}

/** The results cannot make a report as asked (e.g. an unknown baseline machine). */
export class ReportError extends Error {
  /** @param message What could not be done, and why. */
  constructor(message: string) {
    super(message);
    this.name = "ReportError";
  }
}

/**
 * Builds the report model from validated results files.
 *
 * @param files The results, in the order given on the command line.
 * @param options Chart language and baseline machine.
 * @returns The report, ready for any exporter.
 * @throws {ReportError} When `options.baseline` names no machine of the results.
 *
 * @example
 * ```ts ignore
 * const report = buildReport([{ label: "a.json", results }], { lang: "en" });
 * ```
 */
export function buildReport(files: readonly LoadedResults[], options: BuildOptions = {}): Report {
  const lang = options.lang ?? "en";
  const rows = runRows(files);
  const machines = distinct(files.map((f) => f.results.machine.name)).sort(compareText);
  const baseline = options.baseline ?? machines[0] ?? null;
  if (baseline !== null && !machines.includes(baseline)) {
    throw new ReportError(
      `Cannot compare machines: baseline "${baseline}" is not among the machines of these ` +
        `results: ${machines.map((m) => `"${m}"`).join(", ")}`,
    );
  }
  const byMachine = machines.length > 1;
  const doc = new Doc();
  doc.heading(1, "rnnbench report", "rnnbench-report");
  overview(doc, files, rows, machines);
  failures(doc, rows, byMachine);
  originalTable(doc, rows);
  artefactExplanation(doc, rows);
  ladder(doc, rows, lang);
  referenceLine(doc, files, rows, byMachine);
  figures(doc, rows, lang);
  speed(doc, rows, byMachine);
  inference(doc, rows, byMachine);
  onnxParity(doc, rows, byMachine);
  timeToAccuracy(doc, rows, byMachine);
  accuracyAgainstTime(doc, rows, byMachine, lang);
  seeds(doc, rows, byMachine);
  machineComparison(doc, rows, machines, baseline, lang);
  environment(doc, files, rows, byMachine);
  return { title: "rnnbench report", lang, blocks: doc.blocks };
}
