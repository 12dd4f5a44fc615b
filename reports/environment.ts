/**
 * Environment and configuration: the machines' fingerprints, the results files, and every
 * run's status, configuration and data.
 *
 * @module
 */

import type { Machine } from "../bench/results/types.ts";
import { archLabel } from "./_archs.ts";
import {
  code,
  col,
  compareRuns,
  compareText,
  DASH,
  type Doc,
  joinInline,
  type LoadedResults,
  type RunRow,
} from "./_run_rows.ts";
import { formatGiB, formatLearningRate, formatPercent } from "./format.ts";
import type { Text } from "./model.ts";

/**
 * Adds tables of the machines, the results files, and every run with its configuration and
 * data.
 */
export function environment(
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
      archLabel(r.run.arch),
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
        (c.readout ?? "last") === "max" ? "max pooling over time" : null,
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
        d.validationSize === null
          ? DASH
          : `${d.validationSize}${d.validationCarve === "chunks" ? " (chunks)" : ""}`,
        `${formatPercent(d.trainPositiveFraction)} / ${formatPercent(d.testPositiveFraction)}`,
      ];
    }),
  });
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_\-.,/:=@+]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
