/**
 * The summary `deno task bench` prints when it ends: one row per architecture × profile of
 * the results file it just wrote (final test accuracy, seconds per epoch, ONNX sequences/s at
 * batch 1000, ONNX parity), the reference line when the file has one, and the exact
 * `deno task report` command for its output folder.
 *
 * Pure functions of a {@linkcode ResultsFile}: {@linkcode summaryRows} computes the numbers,
 * {@linkcode formatSummary} lays them out, so a test can check that the printed numbers are
 * the file's.
 *
 * How several runs of a row (seeds, engines) are summarised:
 * - only runs with status `ok` count; `failed` says how many did not finish;
 * - final test accuracy: the last recorded epoch's `testAccuracy`, median over runs;
 * - seconds per epoch: each run's median `trainSeconds` over its trained epochs (≥ 1), then
 *   the median over runs;
 * - ONNX sequences/s at batch 1000: each run's best `sequencesPerSecond` over the providers
 *   and worker counts measured at batch size 1000, then the median over runs;
 * - parity: the largest `onnx.maxAbsDiff` over the runs (the worst case).
 *
 * @module
 */
import type { ResultsFile, Run } from "./results/types.ts";

/** The batch size whose ONNX throughput the summary shows. */
export const SUMMARY_BATCH_SIZE = 1000;

/** One row of the summary: one architecture in one profile. Null: nothing measured. */
export interface SummaryRow {
  /** The architecture. */
  arch: string;
  /** The profile. */
  profile: string;
  /** Runs with status `ok`. */
  okRuns: number;
  /** Runs that failed. */
  failedRuns: number;
  /** Median over ok runs of the last epoch's test (or validation) accuracy. */
  testAccuracy: number | null;
  /** Median over ok runs of each run's median training seconds per epoch. */
  secondsPerEpoch: number | null;
  /** Median over ok runs of each run's best ONNX sequences/s at batch size 1000. */
  onnxSequencesPerSecond: number | null;
  /** Largest ONNX-vs-engine logit difference over the ok runs. */
  parityMaxAbsDiff: number | null;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const some = <T>(x: T | null | undefined): T[] => x === null || x === undefined ? [] : [x];

function runSecondsPerEpoch(run: Run): number | null {
  return median(run.epochs.flatMap((e) => e.epoch >= 1 ? some(e.trainSeconds) : []));
}

function runThroughput(run: Run): number | null {
  const v = run.inference.flatMap((i) =>
    i.batchSize === SUMMARY_BATCH_SIZE ? some(i.sequencesPerSecond) : []
  );
  return v.length === 0 ? null : Math.max(...v);
}

/**
 * The summary's rows, in the order the file first mentions each (architecture, profile).
 * @param results the results file just written
 * @returns one row per architecture × profile
 * @example
 * ```ts ignore
 * const rows = summaryRows(await readResultsFile("results/x.json"));
 * ```
 */
export function summaryRows(results: ResultsFile): SummaryRow[] {
  const groups = new Map<string, Run[]>();
  for (const run of results.runs) {
    const key = JSON.stringify([run.arch, run.profile]);
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((runs) => {
    const ok = runs.filter((r) => r.status === "ok");
    const parity = ok.flatMap((r) => some(r.onnx?.maxAbsDiff));
    return {
      arch: runs[0]!.arch,
      profile: runs[0]!.profile,
      okRuns: ok.length,
      failedRuns: runs.length - ok.length,
      testAccuracy: median(ok.flatMap((r) => some(r.epochs.at(-1)?.testAccuracy))),
      secondsPerEpoch: median(ok.flatMap((r) => some(runSecondsPerEpoch(r)))),
      onnxSequencesPerSecond: median(ok.flatMap((r) => some(runThroughput(r)))),
      parityMaxAbsDiff: parity.length === 0 ? null : Math.max(...parity),
    };
  });
}

/** How the summary prints an accuracy. */
export const formatSummaryAccuracy = (x: number): string => x.toFixed(4);
/** How the summary prints seconds. */
export const formatSummarySeconds = (x: number): string =>
  x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
/** How the summary prints a throughput. */
export const formatSummaryThroughput = (x: number): string => Math.round(x).toString();
/** How the summary prints a logit difference. */
export const formatSummaryDiff = (x: number): string => x.toExponential(1);

const cell = (f: (x: number) => string) => (x: number | null) => x === null ? "—" : f(x);

/**
 * The command that makes the report of a bench output folder.
 * @param outDir the `--out` folder
 */
export function reportCommand(outDir: string): string {
  const safe = /^[A-Za-z0-9_./@:=+-]+$/.test(outDir);
  return `deno task report ${safe ? outDir : `'${outDir.replaceAll("'", `'\\''`)}'`}`;
}

/**
 * The summary as text: a table, the reference line (when the file has one), and the
 * report command. Ends with a newline.
 * @param results the results file just written
 * @param outDir the folder it was written to (`--out`)
 * @returns the lines to print
 */
export function formatSummary(results: ResultsFile, outDir: string): string {
  const rows = summaryRows(results);
  const validation = results.runs.some((r) => r.data.validationSize !== null);
  const acc = validation ? "val acc" : "test acc";
  const header = ["arch", "profile", "runs", acc, "s/epoch", "onnx seq/s @1000", "parity"];
  const body = rows.map((r) => [
    r.arch,
    r.profile,
    r.failedRuns === 0 ? String(r.okRuns) : `${r.okRuns} ok, ${r.failedRuns} failed`,
    cell(formatSummaryAccuracy)(r.testAccuracy),
    cell(formatSummarySeconds)(r.secondsPerEpoch),
    cell(formatSummaryThroughput)(r.onnxSequencesPerSecond),
    cell(formatSummaryDiff)(r.parityMaxAbsDiff),
  ]);
  const table = [header, ...body];
  const widths = header.map((_, j) => Math.max(...table.map((row) => row[j]!.length)));
  const line = (row: readonly string[]) =>
    row.map((c, j) => j < 2 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!)).join("  ")
      .trimEnd();
  const out = [
    "Summary (medians over runs; s/epoch: trained epochs; parity: largest |ONNX − engine| logit):",
    line(header),
    ...body.map(line),
  ];
  const ref = results.reference;
  if (ref !== null && ref !== undefined) {
    out.push(
      `reference ${ref.model}: ${validation ? "validation" : "test"} accuracy ` +
        `${formatSummaryAccuracy(ref.testAccuracy)}, trained in ` +
        `${formatSummarySeconds(ref.trainSeconds)} s`,
    );
  }
  out.push(`Report: ${reportCommand(outDir)}`);
  return out.join("\n") + "\n";
}
