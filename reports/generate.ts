/**
 * `deno task report` without the command line: load and validate every results file, build
 * the report, render its charts, and write `report.md`, `charts/*.png` and `report.html`.
 * Nothing is written unless every input is valid and the report could be built.
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
 * Versions of one cell loaded from files (different source hashes) become architectures of
 * their own, `name@<hash prefix>` (see `separateCellVersions` in `_archs.ts`).
 *
 * @param inputs Results files and folders of them.
 * @returns The valid results, in input order.
 * @throws {ReportInputError} When any path is missing, no file is found, or any file is bad.
 */
export async function loadResults(inputs: readonly string[]): Promise<LoadedResults[]> {
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
  if (paths.length === 0 && problems.length === 0) {
    problems.push(
      `No results files in ${inputs.map((i) => `"${i}"`).join(", ")}: run \`deno task bench\` ` +
        "first, or name results files or folders",
    );
  }
  const loaded: LoadedResults[] = [];
  for (const path of paths) {
    try {
      loaded.push({ label: path, results: await readResultsFile(path) });
    } catch (error) {
      if (!(error instanceof ResultsFileError)) throw error;
      problems.push(error.message);
    }
  }
  // Two versions of one cell from a file are two architectures, also when merging.
  const separated = separateCellVersions(loaded);
  if (problems.length === 0) problems.push(...mergeProblems(separated));
  if (problems.length > 0) throw new ReportInputError(problems);
  return separated;
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
  /** Every file written, Markdown first. */
  written: string[];
  /** Warnings for the user (e.g. no fonts for chart text). */
  warnings: string[];
}

/**
 * Writes the report.
 *
 * @param options Inputs, output folder, baseline machine and chart language.
 * @returns The files read and written.
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
  const loaded = await loadResults(inputs);
  let report;
  try {
    report = buildReport(loaded, { lang, baseline });
  } catch (error) {
    if (error instanceof ReportError) throw new ReportInputError([error.message]);
    throw error;
  }
  const specs = chartsOf(report);
  const charts = await renderCharts(specs, { pixelRatio });
  const markdown = new MarkdownExporter();
  const html = new HtmlExporter();
  const documents = [markdown, html].map((e) => ({
    path: join(outDir, e.fileName),
    text: e.render(report, { charts }),
  }));

  const chartDir = join(outDir, "charts");
  await Deno.mkdir(chartDir, { recursive: true });
  const written: string[] = [];
  for (const doc of documents) {
    await Deno.writeTextFile(doc.path, doc.text);
    written.push(doc.path);
  }
  for (const spec of specs) {
    const path = join(chartDir, chartFileName(spec));
    await Deno.writeFile(path, charts.get(spec.id)!.png);
    written.push(path);
  }
  const warning = specs.length > 0 ? fontWarning() : null;
  return {
    inputs: loaded.map((l) => l.label),
    written,
    warnings: warning === null ? [] : [warning],
  };
}
