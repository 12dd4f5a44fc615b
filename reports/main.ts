/**
 * `deno task report [FILES or DIRS …] [--out DIR] [--baseline MACHINE] [--lang en|ru]`:
 * merges results files into `report.md`, `charts/*.png` and a self-contained
 * `report.html`, skipping (and naming) the suite's other outputs found among them. Exits with
 * status 1 and one line, writing nothing, when any input is bad or `--out` is unusable; a
 * failed write (a full disk) leaves the previous report whole.
 *
 * @module
 */

import { Command, Option } from "commander";
import { parseOrExit } from "../bench/util/cli_kit.ts";
import { generateReport, ReportInputError } from "./generate.ts";
import { type Lang, LANGS } from "./i18n.ts";
import { describeSkipped } from "./suite_outputs.ts";
import { ReportOutputError } from "./write_report_files.ts";

/** Builds the command-line interface. */
export function command(): Command {
  return new Command()
    .name("deno task report")
    .description(
      "Merge rnnbench results files into a Markdown report with PNG charts and one " +
        "self-contained HTML file.",
    )
    .argument("[inputs...]", "results files, or folders whose *.json files are read", ["results/"])
    .addOption(new Option("--out <dir>", "folder to write report.md, report.html and charts/ to")
      .default("report"))
    .addOption(
      new Option("--baseline <machine>", "machine name that relative speeds refer to")
        .default(null, "the first machine name alphabetically"),
    )
    .addOption(
      new Option(
        "--lang <lang>",
        "language of chart titles and axis labels ('ru': the " +
          "original report's Russian)",
      )
        .choices(LANGS)
        .default("en"),
    );
}

if (import.meta.main) {
  const program = parseOrExit(command(), Deno.args);
  const opts = program.opts<{ out: string; baseline: string | null; lang: Lang }>();
  try {
    const result = await generateReport({
      inputs: program.processedArgs[0] as string[],
      outDir: opts.out,
      baseline: opts.baseline,
      lang: opts.lang,
    });
    for (const warning of result.warnings) console.warn(`Warning: ${warning}`);
    const charts = result.written.filter((p) => p.endsWith(".png")).length;
    const docs = result.written.filter((p) => !p.endsWith(".png"));
    console.log(
      `Wrote ${docs.join(" and ")} with ${charts} chart${charts === 1 ? "" : "s"} from ` +
        `${result.inputs.length} results file${result.inputs.length === 1 ? "" : "s"}.`,
    );
    if (result.skipped.length > 0) {
      console.log(`Skipped what is not a results file: ${describeSkipped(result.skipped)}.`);
    }
  } catch (error) {
    if (!(error instanceof ReportInputError || error instanceof ReportOutputError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
}
