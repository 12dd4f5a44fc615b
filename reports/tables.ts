/**
 * Builds the report model from results: pure functions, no I/O, no clock, so the same
 * results always give the same report (and snapshot tests need no measurement).
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

import type { Arch, EpochResult, Machine, ResultsFile, Run } from "../bench/results/schema.ts";
import { ARCH_LABEL, ARCH_ORDER } from "./_archs.ts";
import {
  formatAccuracy,
  formatGiB,
  formatLearningRate,
  formatLoss,
  formatMs,
  formatPercent,
  formatRate,
  formatRatio,
  formatSeconds,
  formatSmall,
  formatSummary,
} from "./format.ts";
import { CHART_TEXT, type Lang } from "./i18n.ts";
import {
  type Block,
  type ChartSpec,
  type Column,
  type Inline,
  plainText,
  type Report,
  type Table,
  type Text,
} from "./model.ts";
import { bootstrapMedianInterval, median, summarize, type Summary } from "./stats.ts";

/** One validated results file and how to name it in the report. */
export interface LoadedResults {
  /** The file's path as given (shown in the report). */
  label: string;
  /** Its contents. */
  results: ResultsFile;
}

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

/** One row of the original report's table. */
export interface OriginalResult {
  /** The table's epochs column. */
  epochs: number;
  /** The table's learning-rate column. */
  learningRate: number;
  /** The table's accuracy column. */
  accuracy: number;
}

/** The original report's table (its «Результаты» section). */
export const ORIGINAL_RESULTS: Record<Arch, OriginalResult> = {
  rnn: { epochs: 5, learningRate: 1e-7, accuracy: 0.9606 },
  lstm: { epochs: 2, learningRate: 1e-10, accuracy: 0.9994 },
  gru: { epochs: 3, learningRate: 1e-9, accuracy: 0.9973 },
};

/** `RNN 1e-7, LSTM 1e-10, GRU 1e-9`: one column of the original's table, in report order. */
function originalPerArch(show: (o: OriginalResult) => string): string {
  return ARCH_ORDER.map((a) => `${ARCH_LABEL[a]} ${show(ORIGINAL_RESULTS[a])}`).join(", ");
}

/** Known profiles in report order; other profiles follow alphabetically. */
export const PROFILE_ORDER = ["original-labels", "original", "fixed", "best"] as const;
/** Profiles that reproduce the original's setup (its learning rates and shape). */
const REPRODUCTIONS = new Set(["original-labels", "original"]);

/** One run with where it came from. */
interface RunRow {
  file: LoadedResults;
  machine: Machine;
  run: Run;
  /** Unique name of the run within the report. */
  name: string;
}

/**
 * What configurations are ordered by (see {@linkcode compareConfigs}); a field left out
 * on both sides compares equal.
 */
interface ConfigKey {
  arch?: Arch;
  profile: string;
  engine?: string;
  machine?: string | null;
}

/** A group of runs sharing a configuration. */
interface Group extends ConfigKey {
  arch: Arch;
  profile: string;
  engine: string;
  machine: string | null;
  rows: RunRow[];
}

// ---------------------------------------------------------------------------------------
// Small helpers

const code = (s: string): Inline => ({ code: s });
const DASH = "—";

function profileRank(profile: string): number {
  const i = (PROFILE_ORDER as readonly string[]).indexOf(profile);
  return i === -1 ? PROFILE_ORDER.length : i;
}

/** Compares profiles: known ones in PROFILE_ORDER, then others alphabetically. */
export function compareProfiles(a: string, b: string): number {
  return profileRank(a) - profileRank(b) || compareText(a, b);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function archRank(arch: Arch | undefined): number {
  return arch === undefined ? -1 : ARCH_ORDER.indexOf(arch);
}

/**
 * The order of configurations in every table: architecture in ARCH_ORDER, profile
 * ({@linkcode compareProfiles}), engine, then machine name.
 */
function compareConfigs(a: ConfigKey, b: ConfigKey): number {
  return archRank(a.arch) - archRank(b.arch) || compareProfiles(a.profile, b.profile) ||
    compareText(a.engine ?? "", b.engine ?? "") || compareText(a.machine ?? "", b.machine ?? "");
}

/** Orders runs by their configuration (machine included), then by seed. */
function compareRuns(a: RunRow, b: RunRow): number {
  return compareConfigs(configOf(a), configOf(b)) || a.run.seed - b.run.seed;
}

function configOf(r: RunRow): ConfigKey {
  return {
    arch: r.run.arch,
    profile: r.run.profile,
    engine: r.run.engine,
    machine: r.machine.name,
  };
}

/** The distinct configurations of `rows` as `key` reads them, in report order. */
function configsOf<K extends ConfigKey>(rows: readonly RunRow[], key: (r: RunRow) => K): K[] {
  return distinct(rows.map((r) => JSON.stringify(key(r))))
    .map((s) => JSON.parse(s) as K)
    .sort(compareConfigs);
}

/** Groups rows by arch × profile × engine, and by machine when `byMachine`. */
function groupRuns(rows: readonly RunRow[], byMachine: boolean): Group[] {
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const machine = byMachine ? row.machine.name : null;
    const key = JSON.stringify([row.run.arch, row.run.profile, row.run.engine, machine]);
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        arch: row.run.arch,
        profile: row.run.profile,
        engine: row.run.engine,
        machine,
        rows: [],
      };
      groups.set(key, group);
    }
    group.rows.push(row);
  }
  return [...groups.values()].sort(compareConfigs);
}

function okRows(rows: readonly RunRow[]): RunRow[] {
  return rows.filter((r) => r.run.status === "ok");
}

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function lastEpoch(run: Run): EpochResult | undefined {
  return run.epochs[run.epochs.length - 1];
}

/** Median of a run's values over epochs ≥ 1, or null when it has none. */
function medianOverTrainedEpochs(run: Run, pick: (e: EpochResult) => number | null) {
  const values = run.epochs.filter((e) => e.epoch >= 1).map(pick).filter((v) => v !== null);
  return values.length === 0 ? null : median(values);
}

function summaryOrNull(values: readonly number[]): Summary | null {
  return values.length === 0 ? null : summarize(values);
}

function summaryCell(s: Summary | null, format: (x: number) => string): Text {
  return s === null ? DASH : formatSummary(s, format);
}

function runsCell(rows: readonly RunRow[]): Text {
  const ok = okRows(rows).length;
  const failed = rows.length - ok;
  return failed === 0 ? String(ok) : `${ok} ok, ${failed} failed`;
}

function joinInline(parts: readonly Text[], separator: string): Inline[] {
  const out: Inline[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(separator);
    if (Array.isArray(p)) out.push(...(p as Inline[]));
    else out.push(p as Inline);
  });
  return out;
}

function listEnglish(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function col(header: string, align: "left" | "right" = "left"): Column {
  return { header, align };
}

function slug(s: string): string {
  const out = s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return out === "" ? "x" : out;
}

/** Hands out unique ids from a base name (`a`, `a-2`, `a-3`, …). */
class Ids {
  #used = new Set<string>();
  take(base: string): string {
    const stem = slug(base);
    let id = stem;
    for (let i = 2; this.#used.has(id); i++) id = `${stem}-${i}`;
    this.#used.add(id);
    return id;
  }
}

/** Accumulates blocks with unique heading and chart ids. */
class Doc {
  readonly blocks: Block[] = [];
  readonly #headings = new Ids();
  readonly charts = new Ids();

  heading(level: 1 | 2 | 3, text: Text, id?: string): void {
    this.blocks.push({
      kind: "heading",
      level,
      text,
      id: this.#headings.take(id ?? plainText(text)),
    });
  }
  paragraph(...text: Inline[]): void {
    this.blocks.push({ kind: "paragraph", text });
  }
  list(items: readonly Text[]): void {
    if (items.length > 0) this.blocks.push({ kind: "list", items });
  }
  table(table: Table): void {
    this.blocks.push({ kind: "table", table });
  }
  chart(chart: ChartSpec): void {
    this.blocks.push({ kind: "chart", chart });
  }
}

function isGpuEngine(engine: string): boolean {
  return /cuda|gpu|webgpu|rocm|hip/i.test(engine);
}

// ---------------------------------------------------------------------------------------
// The report

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
  const doc = new Doc();
  doc.heading(1, "rnnbench report", "rnnbench-report");
  overview(doc, files, rows, machines);
  failures(doc, rows, machines.length > 1);
  originalTable(doc, rows);
  figures(doc, rows, lang);
  speed(doc, rows, machines.length > 1);
  seeds(doc, rows, machines.length > 1);
  machineComparison(doc, rows, machines, baseline, lang);
  environment(doc, files, rows, machines.length > 1);
  return { title: "rnnbench report", lang, blocks: doc.blocks };
}

function runRows(files: readonly LoadedResults[]): RunRow[] {
  const all = files.flatMap((file) =>
    file.results.runs.map((run) => ({ file, machine: file.results.machine, run, name: run.runId }))
  );
  // Run ids are unique within a file; across files, add the machine, then the file.
  const tally = (name: (r: RunRow) => string) => {
    const counts = new Map<string, number>();
    for (const r of all) counts.set(name(r), (counts.get(name(r)) ?? 0) + 1);
    return (r: RunRow) => (counts.get(name(r)) ?? 0) > 1;
  };
  const sameId = tally((r) => r.run.runId);
  const sameIdAndMachine = tally((r) => `${r.run.runId}@${r.machine.name}`);
  for (const r of all) {
    if (sameIdAndMachine(r)) r.name = `${r.run.runId} (${r.file.label})`;
    else if (sameId(r)) r.name = `${r.run.runId}@${r.machine.name}`;
  }
  return all;
}

// ---------------------------------------------------------------------------------------
// Overview and failures

function overview(
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

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function failures(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
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

// ---------------------------------------------------------------------------------------
// 1. The original table

/** The epoch a run's accuracy is read at in the original-table comparison. */
function comparisonEpoch(run: Run): EpochResult | undefined {
  const last = lastEpoch(run);
  if (last === undefined || !REPRODUCTIONS.has(run.profile)) return last;
  const wanted = ORIGINAL_RESULTS[run.arch].epochs;
  return run.epochs[Math.min(wanted, last.epoch)];
}

function originalTable(doc: Doc, rows: readonly RunRow[]): void {
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
    const o = ORIGINAL_RESULTS[arch];
    tableRows.push([
      { strong: ARCH_LABEL[arch] },
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
        ARCH_LABEL[arch],
        code(g.profile),
        code(g.engine),
        runsCell(g.rows),
        epochs.length === 0 ? DASH : epochs.join(", "),
        lrs.map(formatLearningRate).join(", "),
        ok.length === 0
          ? `${DASH} (failed)`
          : summaryCell(summaryOrNull(read.map((e) => e.testAccuracy)), formatAccuracy),
        summaryCell(
          summaryOrNull(read.map((e) => e.testPredictedNegativeFraction)),
          formatAccuracy,
        ),
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
  artefactExplanation(doc, rows);
}

function byProfile(rows: readonly RunRow[], profile: string): RunRow[] {
  return okRows(rows).filter((r) => r.run.profile === profile);
}

/**
 * `RNN 0.9606, LSTM 0.9994 and GRU 0.9973` from per-architecture values: the median
 * (min–max) over runs, or with `largest` only the largest value.
 */
function perArch(
  rows: readonly RunRow[],
  value: (r: RunRow) => number | null,
  f = formatAccuracy,
  largest = false,
): string {
  const parts: string[] = [];
  for (const arch of ARCH_ORDER) {
    const values = rows.filter((r) => r.run.arch === arch).map(value).filter((v) => v !== null);
    if (values.length === 0) continue;
    const shown = largest ? f(Math.max(...values)) : formatSummary(summarize(values), f);
    parts.push(`${ARCH_LABEL[arch]} ${shown}`);
  }
  return listEnglish(parts);
}

function accuracyAtComparison(r: RunRow): number | null {
  return comparisonEpoch(r.run)?.testAccuracy ?? null;
}

function artefactExplanation(doc: Doc, rows: readonly RunRow[]): void {
  doc.heading(3, "Why the original's numbers are an artefact");
  const items: Text[] = [];

  // 1. Labels.
  const labelRuns = byProfile(rows, "original-labels");
  const labelCause: Inline[] = [
    { strong: "Labels." },
    " The original maps labels with ",
    code("1 if label == 'pos' else 0"),
    ", but torchtext ≥ 0.14 yields integer labels (1 = neg, 2 = pos), so every label " +
    "became 0 and “accuracy” is the share of reviews the model calls negative. ",
  ];
  if (labelRuns.length === 0) {
    items.push([
      ...labelCause,
      "There is no ",
      code("original-labels"),
      " run in these results, so this is not reproduced here.",
    ]);
  } else {
    const mismatched = labelRuns.filter((r) =>
      r.run.epochs.some((e) => Math.abs(e.testAccuracy - e.testPredictedNegativeFraction) > 5e-5)
    );
    const positives = distinct(labelRuns.map((r) => r.run.data.testPositiveFraction));
    const evidence: Inline[] = [
      "In the ",
      code("original-labels"),
      " runs here ",
      positives.length === 1 && positives[0] === 0
        ? "no test label is positive, and "
        : `the positive share of test labels is ${positives.map(formatAccuracy).join(", ")}; `,
    ];
    if (mismatched.length === 0) {
      items.push([
        ...labelCause,
        ...evidence,
        "the accuracy equals ",
        code("testPredictedNegativeFraction"),
        ` in every epoch of every run (${perArch(labelRuns, accuracyAtComparison)}).`,
      ]);
    } else {
      items.push([
        ...labelCause,
        ...evidence,
        "yet the accuracy differs from ",
        code("testPredictedNegativeFraction"),
        " in ",
        ...joinInline(mismatched.map((r) => code(r.name)), ", "),
        ": those runs did not see all-zero labels; check how they were produced.",
      ]);
    }
  }
  const originalRuns = byProfile(rows, "original");
  if (originalRuns.length === 0) {
    items.push([
      { strong: "Correct labels." },
      " There is no ",
      code("original"),
      " run in these results, so what the original setup gives with correct labels is not " +
      "shown.",
    ]);
  } else {
    const majority = median(
      originalRuns.map((r) =>
        Math.max(r.run.data.testPositiveFraction, 1 - r.run.data.testPositiveFraction)
      ),
    );
    const accs = originalRuns.map(accuracyAtComparison).filter((v) => v !== null);
    const best = Math.max(...accs);
    const verdict = best <= majority + 0.01
      ? "chance level: with these learning rates and this initialisation the models learn " +
        "nothing usable."
      : `up to ${formatAccuracy(best - majority)} above it.`;
    items.push([
      { strong: "Correct labels." },
      " With correct labels the same setup (",
      code("original"),
      `) reaches ${perArch(originalRuns, accuracyAtComparison)}, against ` +
      `${formatAccuracy(majority)} for always answering the majority class — ${verdict}`,
    ]);
  }

  // 2. Learning rates.
  const reproductions = okRows(rows).filter((r) => REPRODUCTIONS.has(r.run.profile));
  const learningRates = ` The original's learning rates (${
    originalPerArch((o) => formatLearningRate(o.learningRate))
  }) barely move the weights`;
  if (reproductions.length === 0) {
    items.push([
      { strong: "Learning rates." },
      `${learningRates} in 5 epochs; there is no `,
      code("original"),
      " or ",
      code("original-labels"),
      " run in these results to measure it.",
    ]);
  } else {
    const moved = (r: RunRow) => {
      const first = r.run.epochs[0];
      if (first === undefined || r.run.epochs.length < 2) return null;
      return Math.max(...r.run.epochs.map((e) => Math.abs(e.testLoss - first.testLoss)));
    };
    const maxEpochs = Math.max(...reproductions.map((r) => (lastEpoch(r.run)?.epoch ?? 0)));
    items.push([
      { strong: "Learning rates." },
      `${learningRates}: over up to ${plural(maxEpochs, "epoch")} the test loss of the `,
      code("original"),
      "/",
      code("original-labels"),
      ` runs moved from its epoch-0 value by at most ${
        perArch(reproductions, moved, formatSmall, true)
      }.`,
    ]);
  }

  // 3. Padding.
  const padEnd = distinct(
    okRows(rows).filter((r) => r.run.config.padding === "end").map((r) => r.run.profile),
  ).sort(compareProfiles);
  const padStart = distinct(
    okRows(rows).filter((r) => r.run.config.padding === "start").map((r) => r.run.profile),
  ).sort(compareProfiles);
  const padding: Inline[] = [
    { strong: "Padding." },
    " The original pads at the end and classifies from the last timestep, so a review " +
    "shorter than 200 tokens ends in a run of pad tokens (id 0, the ",
    code("<unk>"),
    " id) that the state must carry through.",
  ];
  if (padEnd.length + padStart.length === 0) {
    padding.push(" No completed run in these results shows it.");
  } else {
    const side = (profiles: string[], where: string): Inline[] =>
      profiles.length === 0 ? [] : [
        ...joinInline(profiles.map(code), ", "),
        ` pad${profiles.length === 1 ? "s" : ""} ${where}`,
      ];
    const parts = [side(padEnd, "at the end"), side(padStart, "at the start")].filter((p) =>
      p.length > 0
    );
    padding.push(" In these results ", ...joinInline(parts, "; "), ".");
  }
  items.push(padding);

  // 4. Wash-out.
  const washout: Inline[] = [
    { strong: "Depth." },
    " At the original's initialisation the 25-layer, hidden-8 stack washes the input out, " +
    "so the untrained model gives (nearly) every review the same answer.",
  ];
  if (reproductions.length === 0) {
    washout.push(" No run of the original setup in these results shows it.");
  } else {
    const neg0 = (r: RunRow) => r.run.epochs[0]?.testPredictedNegativeFraction ?? null;
    const fractions = reproductions.map(neg0).filter((v) => v !== null);
    const extreme = fractions.every((f) => f >= 0.95 || f <= 0.05);
    washout.push(
      " Share of test reviews predicted negative at epoch 0 in the ",
      code("original"),
      "/",
      code("original-labels"),
      ` runs: ${perArch(reproductions, neg0)}` +
        (extreme
          ? " — (nearly) the same class for every review."
          : " — not all of them collapse to one class here."),
    );
  }
  items.push(washout);

  // What the architectures really reach.
  const reach: Inline[] = [{ strong: "What they really reach." }];
  for (const profile of ["fixed", "best"]) {
    const runs = byProfile(rows, profile);
    if (runs.length === 0) {
      reach.push(" There is no ", code(profile), " run in these results.");
    } else {
      const last = (r: RunRow) => lastEpoch(r.run)?.testAccuracy ?? null;
      reach.push(" ", code(profile), `: ${perArch(runs, last)} after the last epoch.`);
    }
  }
  items.push(reach);
  doc.list(items);
}

// ---------------------------------------------------------------------------------------
// 2. The original's figures

function figures(doc: Doc, rows: readonly RunRow[], lang: Lang): void {
  doc.heading(2, "Accuracy and loss per epoch");
  const t = CHART_TEXT[lang];
  const ok = okRows(rows);
  if (ok.length === 0) {
    doc.paragraph("No completed run in these results, so there are no per-epoch figures.");
    return;
  }
  doc.paragraph(
    "The original's two figures, one pair per profile and engine: test accuracy and test " +
      "loss after each epoch, one line per architecture, epoch 0 (before training) included. " +
      "Several runs of an architecture are drawn as their median; the table gives the numbers.",
  );
  const pairs = configsOf(ok, (r) => ({ profile: r.run.profile, engine: r.run.engine }));
  for (const { profile, engine } of pairs) {
    const runs = ok.filter((r) => r.run.profile === profile && r.run.engine === engine);
    const arches = ARCH_ORDER.filter((a) => runs.some((r) => r.run.arch === a));
    const maxEpoch = Math.max(...runs.map((r) => lastEpoch(r.run)?.epoch ?? 0));
    const labels = Array.from({ length: maxEpoch + 1 }, (_, i) => String(i));
    const curve = (arch: Arch, pick: (e: EpochResult) => number) =>
      labels.map((_, epoch) => {
        const values = runs.filter((r) => r.run.arch === arch).flatMap((r) => {
          const e = r.run.epochs[epoch];
          return e === undefined ? [] : [pick(e)];
        });
        return values.length === 0 ? null : median(values);
      });
    const series = (pick: (e: EpochResult) => number) =>
      arches.map((a) => ({
        name: ARCH_LABEL[a],
        values: curve(a, pick),
        style: ARCH_ORDER.indexOf(a),
      }));
    const acc = series((e) => e.testAccuracy);
    const loss = series((e) => e.testLoss);
    doc.heading(3, ["Profile ", code(profile), ", engine ", code(engine)]);
    const subtitle = t.profileEngine(profile, engine);
    const counts = arches.map((a) => {
      const n = runs.filter((r) => r.run.arch === a).length;
      return `${ARCH_LABEL[a]}: ${plural(n, "run")}`;
    });
    doc.chart({
      id: doc.charts.take(`accuracy-${profile}-${engine}`),
      type: "line",
      title: t.accuracyTitle,
      subtitle,
      xLabel: t.epochAxis,
      yLabel: t.accuracyAxis,
      labels,
      series: acc,
      alt: `Test accuracy per epoch for profile ${profile}, engine ${engine}: ` +
        acc.map((s) => `${s.name} ${s.values.map(optional(formatAccuracy)).join(", ")}`).join("; "),
    });
    doc.chart({
      id: doc.charts.take(`loss-${profile}-${engine}`),
      type: "line",
      title: t.lossTitle,
      subtitle,
      xLabel: t.epochAxis,
      yLabel: t.lossAxis,
      labels,
      series: loss,
      alt: `Test loss per epoch for profile ${profile}, engine ${engine}: ` +
        loss.map((s) => `${s.name} ${s.values.map(optional(formatLoss)).join(", ")}`).join("; "),
    });
    doc.table({
      columns: [
        col("Epoch", "right"),
        ...arches.flatMap((a) => [
          col(`${ARCH_LABEL[a]} accuracy`, "right"),
          col(`${ARCH_LABEL[a]} loss`, "right"),
        ]),
      ],
      rows: labels.map((label, i) => [
        label,
        ...arches.flatMap((_, j) => [
          optional(formatAccuracy)(acc[j]!.values[i] ?? null),
          optional(formatLoss)(loss[j]!.values[i] ?? null),
        ]),
      ]),
    });
    if (runs.length > arches.length) doc.paragraph(`Medians over ${listEnglish(counts)}.`);
  }
}

function optional(format: (x: number) => string): (x: number | null) => string {
  return (x) => x === null ? DASH : format(x);
}

// ---------------------------------------------------------------------------------------
// 3. Speed

function keyColumns(byMachine: boolean): Column[] {
  return [
    col("Architecture"),
    col("Profile"),
    col("Engine"),
    ...(byMachine ? [col("Machine")] : []),
  ];
}

function keyCells(g: Group): Text[] {
  return [
    ARCH_LABEL[g.arch],
    code(g.profile),
    code(g.engine),
    ...(g.machine === null ? [] : [code(g.machine)]),
  ];
}

function trainSecondsOf(r: RunRow): number | null {
  return medianOverTrainedEpochs(r.run, (e) => e.trainSeconds);
}

function evalSecondsOf(r: RunRow): number | null {
  return medianOverTrainedEpochs(r.run, (e) => e.evalSeconds);
}

function values(rows: readonly RunRow[], pick: (r: RunRow) => number | null): number[] {
  return rows.map(pick).filter((v) => v !== null);
}

function speed(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
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
        summaryCell(summaryOrNull(values(g.rows, trainSecondsOf)), formatSeconds),
        summaryCell(summaryOrNull(values(g.rows, evalSecondsOf)), formatSeconds),
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

  inference(doc, rows, byMachine);
  onnxParity(doc, rows, byMachine);
  timeToAccuracy(doc, rows, byMachine);
}

interface InferenceRow {
  group: Group;
  provider: string;
  batchSize: number;
  workers: number;
  results: Run["inference"];
}

function inferenceRows(rows: readonly RunRow[], byMachine: boolean): InferenceRow[] {
  const out: InferenceRow[] = [];
  for (const g of groupRuns(okRows(rows), byMachine)) {
    const byKey = new Map<string, InferenceRow>();
    for (const r of g.rows) {
      for (const m of r.run.inference) {
        const key = JSON.stringify([m.provider, m.batchSize, m.workers]);
        let row = byKey.get(key);
        if (row === undefined) {
          row = {
            group: g,
            provider: m.provider,
            batchSize: m.batchSize,
            workers: m.workers,
            results: [],
          };
          byKey.set(key, row);
        }
        row.results.push(m);
      }
    }
    out.push(
      ...[...byKey.values()].sort((a, b) =>
        compareText(a.provider, b.provider) || a.batchSize - b.batchSize || a.workers - b.workers
      ),
    );
  }
  return out;
}

function inference(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(3, "Inference throughput and latency");
  const all = inferenceRows(rows, byMachine);
  if (all.length === 0) {
    doc.paragraph("No inference measurement in these results.");
    return;
  }
  // Rows with no figure at all (a provider that was unavailable for every run of them) are
  // not repeated in the table: one line per provider and reason says what was not measured.
  const measured = all.filter((r) => r.results.some((m) => m.sequencesPerSecond !== null));
  const notMeasured = all.filter((r) => !measured.includes(r));
  const reasonsOf = (r: InferenceRow) => distinct(r.results.flatMap((m) => m.unavailable ?? []));
  if (measured.length > 0) {
    doc.paragraph(
      "ONNX Runtime on the exported model, per execution provider, batch size and number of " +
        "workers (one session each). Latency is per call. Several runs: median (min–max).",
    );
    const pct = (r: InferenceRow, p: "p50" | "p95" | "p99") =>
      summaryCell(
        summaryOrNull(r.results.flatMap((m) => m.latencyMs === null ? [] : [m.latencyMs[p]])),
        formatMs,
      );
    const withReasons = measured.some((r) => reasonsOf(r).length > 0);
    doc.table({
      columns: [
        ...keyColumns(byMachine),
        col("Provider"),
        col("Batch", "right"),
        col("Workers", "right"),
        col("Sequences/s", "right"),
        col("p50 ms", "right"),
        col("p95 ms", "right"),
        col("p99 ms", "right"),
        ...(withReasons ? [col("Unavailable because")] : []),
      ],
      rows: measured.map((r) => {
        const reasons = reasonsOf(r);
        return [
          ...keyCells(r.group),
          code(r.provider),
          String(r.batchSize),
          String(r.workers),
          summaryCell(
            summaryOrNull(r.results.flatMap((m) => m.sequencesPerSecond ?? [])),
            formatRate,
          ),
          pct(r, "p50"),
          pct(r, "p95"),
          pct(r, "p99"),
          ...(withReasons ? [reasons.length === 0 ? DASH : reasons.join("; ")] : []),
        ];
      }),
    });
  }
  const byReason = new Map<string, { provider: string; reason: string; rows: InferenceRow[] }>();
  for (const r of notMeasured) {
    const reason = reasonsOf(r).join("; ") || "no figure recorded";
    const key = JSON.stringify([r.provider, reason]);
    const entry = byReason.get(key) ?? { provider: r.provider, reason, rows: [] };
    entry.rows.push(r);
    byReason.set(key, entry);
  }
  const sorted = [...byReason.values()].sort((a, b) =>
    compareText(a.provider, b.provider) || compareText(a.reason, b.reason)
  );
  doc.list(sorted.map(({ provider, reason, rows: rs }): Inline[] => {
    const batches = distinct(rs.map((r) => r.batchSize)).sort((a, b) => a - b);
    const workers = distinct(rs.map((r) => r.workers)).sort((a, b) => a - b);
    const configs = distinct(rs.map((r) => r.group)).length; // one Group object per configuration
    const machines = distinct(rs.flatMap((r) => r.group.machine ?? [])).sort(compareText);
    return [
      { strong: "Not measured:" },
      " ",
      code(provider),
      ` (${configs === 1 ? "1 configuration" : `${configs} configurations`}`,
      ...(machines.length === 0 ? [] : [
        " on ",
        ...machines.flatMap((m, i) => [
          ...(i === 0 ? [] : [", "]),
          code(m),
        ]),
      ]),
      `; batch ${batches.join(", ")}; ` +
      `${workers.join(", ")} worker${workers.length === 1 && workers[0] === 1 ? "" : "s"}): ` +
      reason,
    ];
  }));
}

function onnxParity(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(3, "ONNX parity");
  const exported = okRows(rows).filter((r) => r.run.onnx !== null).sort(compareRuns);
  if (exported.length === 0) {
    doc.paragraph("No ONNX export in these results.");
    return;
  }
  doc.paragraph(
    "Largest absolute difference between the logits of ONNX Runtime and of the training " +
      "engine on the same test sequences.",
  );
  doc.table({
    columns: [
      col("Run"),
      ...(byMachine ? [col("Machine")] : []),
      col("Graph"),
      col("Opset", "right"),
      col("Max abs diff", "right"),
      col("Sequences checked", "right"),
      col("File"),
    ],
    rows: exported.map((r) => {
      const o = r.run.onnx!;
      return [
        code(r.name),
        ...(byMachine ? [code(r.machine.name)] : []),
        o.style,
        String(o.opset),
        formatSmall(o.maxAbsDiff),
        String(o.sequencesChecked),
        code(o.path),
      ];
    }),
  });
}

function timeToAccuracy(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
  doc.heading(3, "Time to accuracy");
  const groups = groupRuns(okRows(rows), byMachine).filter((g) =>
    g.rows.some((r) => r.run.timeToAccuracy !== null)
  );
  if (groups.length === 0) {
    doc.paragraph("No run in these results records a time to accuracy.");
    return;
  }
  doc.paragraph(
    "Training seconds until the test accuracy first reached the target, and the epoch it " +
      "happened in. Several runs: median (min–max).",
  );
  doc.table({
    columns: [
      ...keyColumns(byMachine),
      col("Target", "right"),
      col("Reached in", "right"),
      col("Seconds", "right"),
      col("Epoch", "right"),
    ],
    rows: groups.map((g) => {
      const reached = g.rows.flatMap((r) => r.run.timeToAccuracy ?? []);
      const targets = distinct(reached.map((t) => t.target)).sort();
      return [
        ...keyCells(g),
        targets.map(formatAccuracy).join(", "),
        `${reached.length} of ${plural(g.rows.length, "run")}`,
        summaryCell(summarize(reached.map((t) => t.seconds)), formatSeconds),
        summaryCell(summarize(reached.map((t) => t.epoch)), (x) => String(x)),
      ];
    }),
  });
}

// ---------------------------------------------------------------------------------------
// 4. Several seeds

function seeds(doc: Doc, rows: readonly RunRow[], byMachine: boolean): void {
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
        summaryCell(summaryOrNull(acc), formatAccuracy),
        interval(acc),
        summaryCell(
          summaryOrNull(values(g.rows, (r) => lastEpoch(r.run)?.testLoss ?? null)),
          formatLoss,
        ),
        summaryCell(summaryOrNull(values(g.rows, trainSecondsOf)), formatSeconds),
      ];
    }),
  });
}

// ---------------------------------------------------------------------------------------
// 5. Several machines

interface Metric {
  title: string;
  what: string;
  higherIsFaster: boolean;
  format: (x: number) => string;
  extraColumns: Column[];
  rows: { key: Text[]; label: string; byMachine: Map<string, number> }[];
}

function metricRows(
  rows: readonly RunRow[],
  value: (r: RunRow) => number | null,
): Metric["rows"] {
  const out: Metric["rows"] = [];
  for (const g of groupRuns(okRows(rows), false)) {
    const byMachine = new Map<string, number>();
    for (const machine of distinct(g.rows.map((r) => r.machine.name))) {
      const xs = values(g.rows.filter((r) => r.machine.name === machine), value);
      if (xs.length > 0) byMachine.set(machine, median(xs));
    }
    if (byMachine.size > 0) {
      out.push({
        key: keyCells(g),
        label: `${ARCH_LABEL[g.arch]} · ${g.profile} · ${g.engine}`,
        byMachine,
      });
    }
  }
  return out;
}

function throughputRows(rows: readonly RunRow[]): Metric["rows"] {
  const out: Metric["rows"] = [];
  for (const r of inferenceRows(rows, false)) {
    const byMachine = new Map<string, number>();
    for (const machine of distinct(r.group.rows.map((x) => x.machine.name))) {
      const xs = r.group.rows.filter((x) => x.machine.name === machine).flatMap((x) =>
        x.run.inference.filter((m) =>
          m.provider === r.provider && m.batchSize === r.batchSize && m.workers === r.workers
        ).flatMap((m) => m.sequencesPerSecond ?? [])
      );
      if (xs.length > 0) byMachine.set(machine, median(xs));
    }
    if (byMachine.size > 0) {
      out.push({
        key: [
          ...keyCells(r.group),
          code(r.provider),
          String(r.batchSize),
          String(r.workers),
        ],
        label: `${ARCH_LABEL[r.group.arch]} · ${r.group.profile} · ${r.provider}`,
        byMachine,
      });
    }
  }
  return out;
}

function relative(metric: Metric, value: number, base: number): number {
  return metric.higherIsFaster ? value / base : base / value;
}

function machineComparison(
  doc: Doc,
  rows: readonly RunRow[],
  machines: readonly string[],
  baseline: string | null,
  lang: Lang,
): void {
  doc.heading(2, "Machines compared");
  if (machines.length < 2 || baseline === null) {
    doc.paragraph(
      "All results come from one machine (",
      ...joinInline(machines.map(code), ", "),
      "); give results files from several machines to compare them.",
    );
    return;
  }
  doc.paragraph(
    "One table per metric: rows are architecture × profile × engine, columns are machines. " +
      "Each value is the median over runs; in brackets, the speed relative to the baseline ",
    code(baseline),
    " (baseline time ÷ machine time, or machine throughput ÷ baseline throughput): above " +
      "1.00× is faster than the baseline. Choose the baseline with ",
    code("--baseline"),
    ".",
  );
  const metrics: Metric[] = [
    {
      title: "Train seconds per epoch",
      what: "s",
      higherIsFaster: false,
      format: formatSeconds,
      extraColumns: [],
      rows: metricRows(rows, trainSecondsOf),
    },
    {
      title: "Eval seconds per epoch",
      what: "s",
      higherIsFaster: false,
      format: formatSeconds,
      extraColumns: [],
      rows: metricRows(rows, evalSecondsOf),
    },
    {
      title: "Inference sequences per second",
      what: "seq/s",
      higherIsFaster: true,
      format: formatRate,
      extraColumns: [col("Provider"), col("Batch", "right"), col("Workers", "right")],
      rows: throughputRows(rows),
    },
    {
      title: "Time to accuracy, seconds",
      what: "s",
      higherIsFaster: false,
      format: formatSeconds,
      extraColumns: [],
      rows: metricRows(rows, (r) => r.run.timeToAccuracy?.seconds ?? null),
    },
  ];
  for (const metric of metrics) {
    doc.heading(3, metric.title);
    if (metric.rows.length === 0) {
      doc.paragraph(`No ${metric.title.toLowerCase()} in these results.`);
      continue;
    }
    doc.table({
      columns: [
        ...keyColumns(false),
        ...metric.extraColumns,
        ...machines.map((m) => col(m, "right")),
      ],
      rows: metric.rows.map((row) => {
        const base = row.byMachine.get(baseline);
        return [
          ...row.key,
          ...machines.map((m): Text => {
            const v = row.byMachine.get(m);
            if (v === undefined) return DASH;
            if (m === baseline) return `${metric.format(v)} (baseline)`;
            return base === undefined
              ? metric.format(v)
              : `${metric.format(v)} (${formatRatio(relative(metric, v, base))})`;
          }),
        ];
      }),
    });
  }
  fastestEngine(doc, rows, machines, baseline);

  const train = metrics[0]!;
  const comparable = train.rows.filter((r) =>
    r.byMachine.has(baseline) && [...r.byMachine.keys()].some((m) => m !== baseline)
  );
  if (comparable.length === 0) {
    doc.paragraph(
      "No configuration ran on both the baseline and another machine, so there is no " +
        "relative-speed chart.",
    );
    return;
  }
  const t = CHART_TEXT[lang];
  const series = machines.map((m, i) => ({
    name: m,
    style: i,
    values: comparable.map((r) => {
      const v = r.byMachine.get(m);
      return v === undefined ? null : relative(train, v, r.byMachine.get(baseline)!);
    }),
  }));
  doc.chart({
    id: doc.charts.take("relative-training-speed"),
    type: "bar",
    title: t.relativeSpeedTitle(baseline),
    subtitle: "",
    xLabel: t.configurationAxis,
    yLabel: t.relativeSpeedAxis,
    labels: comparable.map((r) => r.label),
    series,
    alt: `Training speed relative to ${baseline}: ` + comparable.map((r, i) =>
      `${r.label}: ` +
      series.map((s) => `${s.name} ${optional(formatRatio)(s.values[i] ?? null)}`).join(", ")
    ).join("; "),
  });
}

/** Per machine, the fastest engine's training time for each architecture × profile. */
function fastestEngine(
  doc: Doc,
  rows: readonly RunRow[],
  machines: readonly string[],
  baseline: string,
): void {
  const keys = configsOf(okRows(rows), (r) => ({ arch: r.run.arch, profile: r.run.profile }));
  const fastest = (arch: Arch, profile: string, machine: string) => {
    let best: { engine: string; seconds: number } | null = null;
    const here = okRows(rows).filter((r) =>
      r.run.arch === arch && r.run.profile === profile && r.machine.name === machine
    );
    for (const engine of distinct(here.map((r) => r.run.engine)).sort(compareText)) {
      const xs = values(here.filter((r) => r.run.engine === engine), trainSecondsOf);
      if (xs.length > 0 && (best === null || median(xs) < best.seconds)) {
        best = { engine, seconds: median(xs) };
      }
    }
    return best;
  };
  const tableRows = keys.map(({ arch, profile }) => {
    const base = fastest(arch, profile, baseline);
    return [
      ARCH_LABEL[arch],
      code(profile),
      ...machines.map((m): Text => {
        const f = fastest(arch, profile, m);
        if (f === null) return DASH;
        const ratio = m === baseline
          ? "baseline"
          : base === null
          ? null
          : formatRatio(base.seconds / f.seconds);
        return [
          `${formatSeconds(f.seconds)} `,
          code(f.engine),
          ratio === null ? "" : ` (${ratio})`,
        ];
      }),
    ];
  });
  if (tableRows.length === 0) return;
  doc.heading(3, "Fastest engine per machine");
  doc.paragraph(
    "Train seconds per epoch of each machine's fastest engine, and its speed relative to the " +
      "baseline's fastest engine.",
  );
  doc.table({
    columns: [col("Architecture"), col("Profile"), ...machines.map((m) => col(m, "right"))],
    rows: tableRows,
  });
}

// ---------------------------------------------------------------------------------------
// 6. Environment, files, configurations

function environment(
  doc: Doc,
  files: readonly LoadedResults[],
  rows: readonly RunRow[],
  byMachine: boolean,
): void {
  doc.heading(2, "Environment and configuration");

  doc.heading(3, "Machines");
  const fingerprints = new Map<string, { machine: Machine; files: string[] }>();
  for (const f of files) {
    const key = JSON.stringify(f.results.machine);
    const entry = fingerprints.get(key);
    if (entry === undefined) {
      fingerprints.set(key, { machine: f.results.machine, files: [f.label] });
    } else entry.files.push(f.label);
  }
  const envs = [...fingerprints.values()].sort((a, b) =>
    compareText(a.machine.name, b.machine.name)
  );
  const nameCount = new Map<string, number>();
  for (const e of envs) nameCount.set(e.machine.name, (nameCount.get(e.machine.name) ?? 0) + 1);
  const header = (e: { machine: Machine; files: string[] }) =>
    (nameCount.get(e.machine.name) ?? 0) > 1
      ? `${e.machine.name} (${e.files.join(", ")})`
      : e.machine.name;
  const field = (name: string, get: (m: Machine, files: string[]) => Text): Text[] => [
    name,
    ...envs.map((e) => get(e.machine, e.files)),
  ];
  if (
    (nameCount.size < envs.length)
  ) {
    doc.paragraph(
      "Some machine names appear with different fingerprints (e.g. after an upgrade); each " +
        "fingerprint has its own column.",
    );
  }
  doc.table({
    columns: [col("Field"), ...envs.map((e) => col(header(e)))],
    rows: [
      field("CPU", (m) => m.cpuModel),
      field("Cores", (m) => String(m.cores)),
      field("Memory", (m) => formatGiB(m.memoryBytes)),
      field("OS", (m) => m.os),
      field("Architecture", (m) => m.arch),
      field("GPU", (m) => m.gpu?.name ?? "none"),
      field(
        "GPU memory",
        (m) =>
          m.gpu === null
            ? DASH
            : m.gpu.memoryBytes === null
            ? "unknown"
            : formatGiB(m.gpu.memoryBytes),
      ),
      field("GPU driver", (m) => m.gpu === null ? DASH : m.gpu.driverVersion ?? "unknown"),
      field("CUDA", (m) => m.gpu === null ? DASH : m.gpu.cudaVersion ?? "unknown"),
      field("Deno", (m) => m.denoVersion),
      field("V8", (m) => m.v8Version),
      field("TypeScript", (m) => m.typescriptVersion),
      field("Compiler", (m) => m.compiler ?? "none"),
      field("Packages", (m) => {
        const entries = Object.entries(m.packages).sort(([a], [b]) => compareText(a, b));
        return entries.length === 0
          ? "none"
          : joinInline(entries.map(([name, version]) => code(`${name}@${version}`)), ", ");
      }),
      field("Results files", (_, f) => joinInline(f.map(code), ", ")),
    ],
  });

  doc.heading(3, "Results files");
  doc.table({
    columns: [
      col("File"),
      col("Machine"),
      col("Created"),
      col("Suite"),
      col("Git revision"),
      col("Runs", "right"),
      col("Command"),
    ],
    rows: files.map((f) => [
      code(f.label),
      code(f.results.machine.name),
      f.results.createdAt,
      f.results.suiteVersion,
      f.results.gitRevision === null ? "unknown" : code(f.results.gitRevision),
      String(f.results.runs.length),
      f.results.invocation.length === 0
        ? DASH
        : code(f.results.invocation.map(shellQuote).join(" ")),
    ]),
  });

  const sortedRows = [...rows].sort((a, b) => compareRuns(a, b) || compareText(a.name, b.name));
  doc.heading(3, "Runs");
  if (sortedRows.length === 0) {
    doc.paragraph("The results files contain no runs.");
    return;
  }
  doc.table({
    columns: [
      col("Run"),
      ...(byMachine ? [col("Machine")] : []),
      col("Architecture"),
      col("Profile"),
      col("Engine"),
      col("Engine detail"),
      col("Seed", "right"),
      col("Status"),
    ],
    rows: sortedRows.map((r) => [
      code(r.name),
      ...(byMachine ? [code(r.machine.name)] : []),
      ARCH_LABEL[r.run.arch],
      code(r.run.profile),
      code(r.run.engine),
      r.run.engineDetail === "" ? DASH : r.run.engineDetail,
      String(r.run.seed),
      r.run.status,
    ]),
  });

  doc.heading(3, "Run configuration");
  doc.table({
    columns: [
      col("Run"),
      col("Learning rate", "right"),
      col("Epochs", "right"),
      col("Batch", "right"),
      col("Layers × hidden", "right"),
      col("Embedding", "right"),
      col("Max length", "right"),
      col("Padding"),
      col("Labels"),
      col("Other"),
    ],
    rows: sortedRows.map((r) => {
      const c = r.run.config;
      const other = [
        c.vocabMaxSize === null ? null : `vocabulary ≤ ${c.vocabMaxSize}`,
        c.limitBatches === null ? null : `${c.limitBatches} batches/epoch`,
        c.threads === null ? null : `${c.threads} threads`,
        c.gradClip === null ? null : `gradient clip ${c.gradClip}`,
        c.lrSchedule === null ? null : `schedule ${c.lrSchedule}`,
        (c.wordDropout ?? 0) > 0 ? `word dropout ${c.wordDropout}` : null,
        (c.keepTokens ?? "first") === "last" ? "keeps the last tokens" : null,
      ].filter((x) => x !== null);
      return [
        code(r.name),
        formatLearningRate(c.learningRate),
        String(c.epochs),
        String(c.batchSize),
        `${c.layers} × ${c.hiddenSize}`,
        String(c.embedDim),
        String(c.maxLen),
        c.padding,
        c.labels,
        other.length === 0 ? DASH : other.join("; "),
      ];
    }),
  });

  doc.heading(3, "Run data");
  doc.table({
    columns: [
      col("Run"),
      col("Data source"),
      col("Dataset hash"),
      col("Vocabulary", "right"),
      col("Train", "right"),
      col("Test", "right"),
      col("Validation", "right"),
      col("Positive train/test", "right"),
    ],
    rows: sortedRows.map((r) => {
      const d = r.run.data;
      return [
        code(r.name),
        r.run.config.dataSource,
        code(d.datasetHash),
        String(d.vocabSize),
        String(d.trainSize),
        String(d.testSize),
        d.validationSize === null ? DASH : String(d.validationSize),
        `${formatPercent(d.trainPositiveFraction)} / ${formatPercent(d.testPositiveFraction)}`,
      ];
    }),
  });
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_\-.,/:=@+]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
