/**
 * Machines compared: one table per metric (epoch times, inference throughput, time to
 * accuracy) with a column per machine and the speed relative to the baseline, the fastest
 * engine per machine, and a chart of relative training speed; with results from one machine,
 * a sentence that says so.
 *
 * @module
 */

import { archLabel } from "./_archs.ts";
import {
  code,
  col,
  DASH,
  distinct,
  type Doc,
  evalSecondsOf,
  groupRuns,
  joinInline,
  keyCells,
  keyColumns,
  okRows,
  optional,
  type RunRow,
  trainSecondsOf,
  values,
} from "./_run_rows.ts";
import { fastestEngine } from "./fastest_engine.ts";
import { formatRate, formatRatio, formatSeconds } from "./format.ts";
import { CHART_TEXT, type Lang } from "./i18n.ts";
import { inferenceRows } from "./inference.ts";
import type { Column, Text } from "./model.ts";
import { median } from "./stats.ts";

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
        label: `${archLabel(g.arch)} · ${g.profile} · ${g.engine}`,
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
        label: `${archLabel(r.group.arch)} · ${r.group.profile} · ${r.provider}`,
        byMachine,
      });
    }
  }
  return out;
}

function relative(metric: Metric, value: number, base: number): number {
  return metric.higherIsFaster ? value / base : base / value;
}

/** Compares the machines metric by metric against the baseline, or says there is only one. */
export function machineComparison(
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
