/**
 * Accuracy against time: for each profile, a figure of test accuracy against cumulative
 * training seconds, one line per architecture and engine (and machine, when there are
 * several), read from the per-epoch records, with a table of its points.
 *
 * A line's point k is epoch k: x is the sum of `trainSeconds` of epochs 1…k (0 for epoch 0,
 * the evaluation before training), y its `testAccuracy`. Several runs of a line (seeds,
 * files) are drawn as the median over the runs of both coordinates, epoch by epoch.
 * Evaluation time is not counted: it is the same work for every engine of a shape.
 *
 * @module
 */

import { archLabel } from "./_archs.ts";
import { code, col, configsOf, type Doc, groupRuns, okRows, type RunRow } from "./_run_rows.ts";
import { formatAccuracy, formatSeconds } from "./format.ts";
import { CHART_TEXT, type Lang } from "./i18n.ts";
import type { Text } from "./model.ts";
import { median } from "./stats.ts";

/** One line of a figure: (seconds, accuracy) per epoch. */
interface Line {
  name: string;
  keys: Text[];
  points: { seconds: number; accuracy: number }[];
}

function pointsOf(rows: readonly RunRow[]): Line["points"] {
  const epochs = Math.max(...rows.map((r) => r.run.epochs.length));
  const points: Line["points"] = [];
  for (let k = 0; k < epochs; k++) {
    const at = rows.filter((r) => r.run.epochs.length > k).map((r) => ({
      seconds: r.run.epochs.slice(0, k + 1).reduce((s, e) => s + (e.trainSeconds ?? 0), 0),
      accuracy: r.run.epochs[k]!.testAccuracy,
    }));
    points.push({
      seconds: median(at.map((p) => p.seconds)),
      accuracy: median(at.map((p) => p.accuracy)),
    });
  }
  return points;
}

/** Adds, per profile, the accuracy-against-training-time figure and its points. */
export function accuracyAgainstTime(
  doc: Doc,
  rows: readonly RunRow[],
  byMachine: boolean,
  lang: Lang,
): void {
  doc.heading(3, "Accuracy against training time");
  const ok = okRows(rows).filter((r) => r.run.epochs.length > 1);
  if (ok.length === 0) {
    doc.paragraph("No completed run in these results trained an epoch.");
    return;
  }
  doc.paragraph(
    "Test accuracy after each epoch against the training seconds spent so far (evaluation " +
      "excluded), one line per architecture and engine: where the time-to-accuracy table " +
      "gives one point, this gives the whole path. Several runs: the median of both " +
      "coordinates per epoch; the table gives the points.",
  );
  const t = CHART_TEXT[lang];
  for (const { profile } of configsOf(ok, (r) => ({ profile: r.run.profile }))) {
    const groups = groupRuns(ok.filter((r) => r.run.profile === profile), byMachine);
    const lines: Line[] = groups.map((g) => ({
      name: [archLabel(g.arch), g.engine, ...(g.machine === null ? [] : [g.machine])].join(" · "),
      keys: [
        archLabel(g.arch),
        code(g.engine),
        ...(g.machine === null ? [] : [code(g.machine)]),
      ],
      points: pointsOf(g.rows),
    }));
    const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p.seconds)))]
      .sort((a, b) => a - b);
    doc.paragraph("Profile ", code(profile), ":");
    doc.chart({
      id: doc.charts.take(`accuracy-time-${profile}`),
      type: "line",
      xAxis: "linear",
      title: t.accuracyTimeTitle,
      subtitle: lang === "en" ? `profile ${profile}` : `профиль ${profile}`,
      xLabel: t.trainSecondsAxis,
      yLabel: t.accuracyAxis,
      labels: xs.map(String),
      series: lines.map((l, i) => ({
        name: l.name,
        values: xs.map((x) => l.points.find((p) => p.seconds === x)?.accuracy ?? null),
        style: i,
      })),
      alt: `Test accuracy against cumulative training seconds for profile ${profile}: ` +
        lines.map((l) =>
          `${l.name} ` +
          l.points.map((p) => `${formatSeconds(p.seconds)} s ${formatAccuracy(p.accuracy)}`)
            .join(", ")
        ).join("; "),
    });
    doc.table({
      columns: [
        col("Architecture"),
        col("Engine"),
        ...(byMachine ? [col("Machine")] : []),
        col("Seconds → test accuracy, epoch 0 first"),
      ],
      rows: lines.map((l) => [
        ...l.keys,
        l.points.map((p) => `${formatSeconds(p.seconds)} s → ${formatAccuracy(p.accuracy)}`)
          .join(", "),
      ]),
    });
  }
}
