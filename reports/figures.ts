/**
 * The original's two figures, test accuracy and test loss per epoch with one line per
 * architecture, for each profile and engine, each pair with a table of its numbers.
 *
 * @module
 */

import type { Arch, EpochResult } from "../bench/results/types.ts";
import { archesOf, archLabel, archStyles } from "./_archs.ts";
import {
  code,
  col,
  configsOf,
  type Doc,
  lastEpoch,
  listEnglish,
  okRows,
  optional,
  plural,
  type RunRow,
} from "./_run_rows.ts";
import { formatAccuracy, formatLoss } from "./format.ts";
import { CHART_TEXT, type Lang } from "./i18n.ts";
import { median } from "./stats.ts";

/** Adds the original's two figures and their numbers for each profile and engine. */
export function figures(doc: Doc, rows: readonly RunRow[], lang: Lang): void {
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
    const arches = archesOf(runs.map((r) => r.run.arch));
    const styleOf = archStyles(arches);
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
        name: archLabel(a),
        values: curve(a, pick),
        style: styleOf(a),
      }));
    const acc = series((e) => e.testAccuracy);
    const loss = series((e) => e.testLoss);
    doc.heading(3, ["Profile ", code(profile), ", engine ", code(engine)]);
    const subtitle = t.profileEngine(profile, engine);
    const counts = arches.map((a) => {
      const n = runs.filter((r) => r.run.arch === a).length;
      return `${archLabel(a)}: ${plural(n, "run")}`;
    });
    const chart = (
      kind: string,
      what: string,
      title: string,
      yLabel: string,
      lines: typeof acc,
      format: (x: number) => string,
    ) =>
      doc.chart({
        id: doc.charts.take(`${kind}-${profile}-${engine}`),
        type: "line",
        title,
        subtitle,
        xLabel: t.epochAxis,
        yLabel,
        labels,
        series: lines,
        alt: `${what} per epoch for profile ${profile}, engine ${engine}: ` +
          lines.map((s) => `${s.name} ${s.values.map(optional(format)).join(", ")}`).join("; "),
      });
    chart("accuracy", "Test accuracy", t.accuracyTitle, t.accuracyAxis, acc, formatAccuracy);
    chart("loss", "Test loss", t.lossTitle, t.lossAxis, loss, formatLoss);
    doc.table({
      columns: [
        col("Epoch", "right"),
        ...arches.flatMap((a) => [
          col(`${archLabel(a)} accuracy`, "right"),
          col(`${archLabel(a)} loss`, "right"),
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
