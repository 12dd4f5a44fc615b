/**
 * The row helpers every report section shares: the runs of all results files as rows with
 * unique names, their order and grouping by configuration, the aggregation rules of
 * `build_report.ts` (only `ok` runs, per-run medians over epochs ≥ 1, median with min–max
 * over runs), the cells that show them, and the {@linkcode Doc} that sections add their
 * blocks to.
 *
 * @module
 */

import type { Arch, EpochResult, Machine, ResultsFile, Run } from "../bench/results/types.ts";
import { LADDER } from "../bench/ladder.ts";
import { archLabel, compareArchs } from "./_archs.ts";
import { formatSummary } from "./format.ts";
import {
  type Block,
  type ChartSpec,
  type Column,
  type Inline,
  plainText,
  type Table,
  type Text,
} from "./model.ts";
import { median, summarize } from "./stats.ts";

/** One validated results file and how to name it in the report. */
export interface LoadedResults {
  /** The file's path as given (shown in the report). */
  label: string;
  /** Its contents. */
  results: ResultsFile;
}

/**
 * Known profiles in report order, the ladder's (`bench/ladder.ts`: `original-labels` …
 * `fixed` … `best`); other profiles follow alphabetically.
 */
export const PROFILE_ORDER: readonly string[] = LADDER.map((r) => r.profile.name);

/** One run with where it came from. */
export interface RunRow {
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
export interface ConfigKey {
  arch?: Arch;
  profile: string;
  engine?: string;
  machine?: string | null;
}

/** A group of runs sharing a configuration. */
export interface Group extends ConfigKey {
  arch: Arch;
  profile: string;
  engine: string;
  machine: string | null;
  rows: RunRow[];
}

/** Every run of `files` as a row, named uniquely within the report. */
export function runRows(files: readonly LoadedResults[]): RunRow[] {
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
// Order and grouping

function profileRank(profile: string): number {
  const i = PROFILE_ORDER.indexOf(profile);
  return i === -1 ? PROFILE_ORDER.length : i;
}

/** Compares profiles: known ones in PROFILE_ORDER, then others alphabetically. */
export function compareProfiles(a: string, b: string): number {
  return profileRank(a) - profileRank(b) || compareText(a, b);
}

/** Compares strings by code unit, as `<` does. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function archOrder(a: Arch | undefined, b: Arch | undefined): number {
  if (a === undefined || b === undefined) {
    return (a === undefined ? -1 : 0) - (b === undefined ? -1 : 0);
  }
  return compareArchs(a, b);
}

/**
 * The order of configurations in every table: architecture ({@linkcode compareArchs}), profile
 * ({@linkcode compareProfiles}), engine, then machine name.
 */
export function compareConfigs(a: ConfigKey, b: ConfigKey): number {
  return archOrder(a.arch, b.arch) || compareProfiles(a.profile, b.profile) ||
    compareText(a.engine ?? "", b.engine ?? "") || compareText(a.machine ?? "", b.machine ?? "");
}

/** Orders runs by their configuration (machine included), then by seed. */
export function compareRuns(a: RunRow, b: RunRow): number {
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
export function configsOf<K extends ConfigKey>(
  rows: readonly RunRow[],
  key: (r: RunRow) => K,
): K[] {
  return distinct(rows.map((r) => JSON.stringify(key(r))))
    .map((s) => JSON.parse(s) as K)
    .sort(compareConfigs);
}

/** Groups rows by arch × profile × engine, and by machine when `byMachine`. */
export function groupRuns(rows: readonly RunRow[], byMachine: boolean): Group[] {
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

/** The runs that completed (status `ok`), the only ones statistics use. */
export function okRows(rows: readonly RunRow[]): RunRow[] {
  return rows.filter((r) => r.run.status === "ok");
}

/** The distinct values, in first-seen order. */
export function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

// ---------------------------------------------------------------------------------------
// Per-run values and summaries

/** A run's last recorded epoch, if it has one. */
export function lastEpoch(run: Run): EpochResult | undefined {
  return run.epochs[run.epochs.length - 1];
}

/** Median of a run's values over epochs ≥ 1, or null when it has none. */
function medianOverTrainedEpochs(run: Run, pick: (e: EpochResult) => number | null) {
  const values = run.epochs.filter((e) => e.epoch >= 1).map(pick).filter((v) => v !== null);
  return values.length === 0 ? null : median(values);
}

/** A run's training seconds per epoch: the median over its epochs ≥ 1. */
export function trainSecondsOf(r: RunRow): number | null {
  return medianOverTrainedEpochs(r.run, (e) => e.trainSeconds);
}

/** A run's evaluation seconds per epoch: the median over its epochs ≥ 1. */
export function evalSecondsOf(r: RunRow): number | null {
  return medianOverTrainedEpochs(r.run, (e) => e.evalSeconds);
}

/** The values `pick` finds in `rows`, missing ones left out. */
export function values(rows: readonly RunRow[], pick: (r: RunRow) => number | null): number[] {
  return rows.map(pick).filter((v) => v !== null);
}

// ---------------------------------------------------------------------------------------
// Cells and text

/** Text shown as inline code (monospace, verbatim). */
export const code = (s: string): Inline => ({ code: s });

/** What a cell without a value shows. */
export const DASH = "—";

/**
 * Several runs' values as one cell: `median (min–max)` with `format` (`stats.ts`), or a
 * dash when there are none.
 */
export function summaryCell(values: readonly number[], format: (x: number) => string): Text {
  return values.length === 0 ? DASH : formatSummary(summarize(values), format);
}

/** `format` for a value that may be missing, shown as a dash. */
export function optional(format: (x: number) => string): (x: number | null) => string {
  return (x) => x === null ? DASH : format(x);
}

/** How many runs a group has: `3`, or `2 ok, 1 failed`. */
export function runsCell(rows: readonly RunRow[]): Text {
  const ok = okRows(rows).length;
  const failed = rows.length - ok;
  return failed === 0 ? String(ok) : `${ok} ok, ${failed} failed`;
}

/** A table column, left-aligned unless `align` says otherwise. */
export function col(header: string, align: "left" | "right" = "left"): Column {
  return { header, align };
}

/**
 * The columns that name a configuration: architecture, profile, engine, and machine when
 * `byMachine`.
 */
export function keyColumns(byMachine: boolean): Column[] {
  return [
    col("Architecture"),
    col("Profile"),
    col("Engine"),
    ...(byMachine ? [col("Machine")] : []),
  ];
}

/** A group's cells under {@linkcode keyColumns}. */
export function keyCells(g: Group): Text[] {
  return [
    archLabel(g.arch),
    code(g.profile),
    code(g.engine),
    ...(g.machine === null ? [] : [code(g.machine)]),
  ];
}

/** The parts as one inline text, `separator` between them. */
export function joinInline(parts: readonly Text[], separator: string): Inline[] {
  const out: Inline[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(separator);
    if (Array.isArray(p)) out.push(...(p as Inline[]));
    else out.push(p as Inline);
  });
  return out;
}

/** Items as an English list: `a, b and c`. */
export function listEnglish(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** `1 run`, `2 runs`: a count and its noun. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

// ---------------------------------------------------------------------------------------
// The document

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
export class Doc {
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
