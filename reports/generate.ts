/**
 * `deno task report` without the command line: check the output folder, load and validate
 * every results file (skipping, and naming, the suite's other outputs among them: peers
 * sidecars, gpu-check summaries, infer JSON), build the report, render its charts, and write
 * `report.md`, `charts/*.png` and `report.html` together. Nothing is written unless the output
 * folder is usable, every input is valid and the report could be built; a failed write leaves
 * the previous report whole.
 *
 * @module
 */

import { join } from "node:path";
import { collectResultsFiles, readResultsFile, ResultsFileError } from "../bench/results/io.ts";
import { fontWarning, renderCharts } from "./charts.ts";
import { HtmlExporter } from "./html.ts";
import type { Lang } from "./i18n.ts";
import { MarkdownExporter } from "./markdown.ts";
import { mergeProblems } from "./merge.ts";
import { separateCellVersions } from "./_archs.ts";
import { chartFileName, chartsOf } from "./model.ts";
import { buildReport, type LoadedResults, ReportError } from "./build_report.ts";
import { describeSkipped, type SkippedFile, suiteOutputKind } from "./suite_outputs.ts";
import { CHARTS_DIR, checkReportOutDir, writeReportFiles } from "./write_report_files.ts";

/** Some inputs could not be used; `problems` has one line per bad path or file. */
export class ReportInputError extends Error {
  /** One sentence per problem, each naming its file. */
  readonly problems: readonly string[];

  /** @param problems What is wrong, one entry per file or path. */
  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `Cannot write the report: ${problems[0]}`
        : `Cannot write the report: ${problems.length} problems:\n` +
          problems.map((p) => `  ${p}`).join("\n"),
    );
    this.name = "ReportInputError";
    this.problems = problems;
  }
}

/**
 * Finds, reads and validates results files, reporting every bad one rather than the first.
 * The suite's other outputs among them are skipped (see `suite_outputs.ts`).
 * Versions of one cell loaded from files (different source hashes) become architectures of
 * their own, `name@<hash prefix>` (see `separateCellVersions` in `_archs.ts`).
 *
 * @param inputs Results files and folders of them.
 * @returns The valid results, in input order, and the files skipped.
 * @throws {ReportInputError} When any path is missing, no results file is found, or any
 *   results file is bad.
 */
export async function loadResults(
  inputs: readonly string[],
): Promise<{ loaded: LoadedResults[]; skipped: SkippedFile[] }> {
  const problems: string[] = [];
  const paths: string[] = [];
  for (const input of inputs) {
    try {
      for (const path of await collectResultsFiles([input])) {
        if (!paths.includes(path)) paths.push(path);
      }
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  const loaded: LoadedResults[] = [];
  const skipped: SkippedFile[] = [];
  for (const path of paths) {
    try {
      loaded.push({ label: path, results: await readResultsFile(path) });
    } catch (error) {
      if (!(error instanceof ResultsFileError)) throw error;
      const kind = await suiteOutputKind(path);
      if (kind === null) problems.push(error.message);
      else skipped.push({ path, kind });
    }
  }
  if (loaded.length === 0 && problems.length === 0) {
    const also = skipped.length > 0
      ? `, only other outputs of the suite (${describeSkipped(skipped)})`
      : "";
    problems.push(
      `No results files in ${inputs.map((i) => `"${i}"`).join(", ")}${also}: run ` +
        "`deno task bench` first, or name results files or folders",
    );
  }
  // Two versions of one cell from a file are two architectures, also when merging.
  const separated = separateCellVersions(loaded);
  if (problems.length === 0) problems.push(...mergeProblems(separated));
  if (problems.length > 0) throw new ReportInputError(problems);
  return { loaded: separated, skipped };
}

/** Options of {@linkcode generateReport}. */
export interface GenerateOptions {
  /** Results files and folders. @default {["results/"]} */
  inputs?: readonly string[];
  /** Output folder. @default {"report"} */
  outDir?: string;
  /** Machine that relative speeds refer to. @default {the first machine name alphabetically} */
  baseline?: string | null;
  /** Language of chart text. @default {"en"} */
  lang?: Lang;
  /** PNG pixels per CSS pixel. @default {2} */
  pixelRatio?: number;
}

/** What {@linkcode generateReport} wrote. */
export interface GenerateResult {
  /** The results files read. */
  inputs: string[];
  /** The suite's other outputs found among the inputs, and not read. */
  skipped: SkippedFile[];
  /** Every file written, Markdown first. */
  written: string[];
  /** Warnings for the user (e.g. no fonts for chart text). */
  warnings: string[];
}

/**
 * Writes the report.
 *
 * @param options Inputs, output folder, baseline machine and chart language.
 * @returns The files read, skipped and written.
 * @throws {ReportOutputError} When the output folder is unusable (checked first) or a file
 *   cannot be written; the previous report is unchanged then.
 * @throws {ReportInputError} When any input is bad; nothing is written then.
 * @throws {ReportInputError} When the baseline names no machine; nothing is written then.
 *
 * @example
 * ```ts ignore
 * const { written } = await generateReport({ inputs: ["results/"], outDir: "report" });
 * ```
 */
export async function generateReport(options: GenerateOptions = {}): Promise<GenerateResult> {
  const {
    inputs = ["results/"],
    outDir = "report",
    baseline = null,
    lang = "en",
    pixelRatio = 2,
  } = options;
  const markdown = new MarkdownExporter();
  const html = new HtmlExporter();
  await checkReportOutDir(outDir, [markdown.fileName, html.fileName]);
  const { loaded, skipped } = await loadResults(inputs);
  let report;
  try {
    report = buildReport(loaded, { lang, baseline });
  } catch (error) {
    if (error instanceof ReportError) throw new ReportInputError([error.message]);
    throw error;
  }
  const specs = chartsOf(report);
  const charts = await renderCharts(specs, { pixelRatio });
  const encoder = new TextEncoder();
  const documents = [markdown, html].map((e) => ({
    path: join(outDir, e.fileName),
    bytes: encoder.encode(e.render(report, { charts })),
  }));
  const pngs = specs.map((spec) => ({
    path: join(outDir, CHARTS_DIR, chartFileName(spec)),
    bytes: charts.get(spec.id)!.png,
  }));
  // The charts are put in place before the documents that show them.
  await writeReportFiles(outDir, [...pngs, ...documents]);
  const warning = specs.length > 0 ? fontWarning() : null;
  return {
    inputs: loaded.map((l) => l.label),
    skipped,
    written: [...documents, ...pngs].map((f) => f.path),
    warnings: warning === null ? [] : [warning],
  };
}
