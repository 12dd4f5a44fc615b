/**
 * Why the original's numbers are an artefact: one list item per cause (labels, then what
 * correct labels give; learning rates; padding; depth), each with the evidence these results
 * hold, then what the `fixed` and `best` profiles reach. The learning-rate, padding and depth
 * items each cite the rung of the ladder of causes (`bench/ladder.ts`, the section after
 * this one) that switches that field alone: the test accuracy per architecture on the rung
 * before it → on it, or, when either rung is not in the results, that it is not and the
 * command that runs it.
 *
 * @module
 */

import { LADDER, rungSwitching } from "../bench/ladder.ts";
import type { SwitchField } from "../bench/profiles.ts";
import type { Run } from "../bench/results/types.ts";
import { archesOf, archLabel } from "./_archs.ts";
import {
  code,
  compareProfiles,
  distinct,
  type Doc,
  joinInline,
  lastEpoch,
  listEnglish,
  okRows,
  plural,
  type RunRow,
} from "./_run_rows.ts";
import { formatAccuracy, formatLearningRate, formatSmall, formatSummary } from "./format.ts";
import type { Inline, Text } from "./model.ts";
import { rungEffect } from "./ladder.ts";
import { comparisonEpoch, originalPerArch, REPRODUCTIONS } from "./original_results.ts";
import { median, summarize } from "./stats.ts";

function byProfile(rows: readonly RunRow[], profile: string): RunRow[] {
  return okRows(rows).filter((r) => r.run.profile === profile);
}

/**
 * `RNN 0.9606, LSTM 0.9994 and GRU 0.9973` from per-architecture values: the median
 * (min–max) over runs, or with `largest` only the largest value; with `count`, several runs
 * say how many (`RNN 0.8082 (median of 3 runs, 0.7960–0.8231)`).
 */
function perArch(
  rows: readonly RunRow[],
  value: (r: RunRow) => number | null,
  f = formatAccuracy,
  largest = false,
  count = false,
): string {
  const parts: string[] = [];
  for (const arch of archesOf(rows.map((r) => r.run.arch))) {
    const values = rows.filter((r) => r.run.arch === arch).map(value).filter((v) => v !== null);
    if (values.length === 0) continue;
    let shown = largest ? f(Math.max(...values)) : formatSummary(summarize(values), f);
    if (count && !largest && values.length > 1) {
      shown = shown.replace(" (", ` (median of ${values.length} runs, `);
    }
    parts.push(`${archLabel(arch)} ${shown}`);
  }
  return listEnglish(parts);
}

/** `layers (25 → 5)` from the ladder's definition; the field alone for a per-cell value. */
function switchText(field: SwitchField, before: unknown, after: unknown): Inline[] {
  const plain = (v: unknown) => v === null || typeof v !== "object";
  return plain(before) && plain(after)
    ? [code(field), ` (${before ?? "none"} → ${after ?? "none"})`]
    : [code(field)];
}

/**
 * What the first rung of the ladder that switches `field` buys: the last-epoch test accuracy
 * per architecture on the rung before it → on it, or that one of them is not in the results.
 */
function rungEvidence(rows: readonly RunRow[], field: SwitchField): Inline[] {
  const rung = rungSwitching(field);
  if (rung === undefined) return [" No rung of the ladder switches ", code(field), " alone."];
  const previous = LADDER[rung.index - 1]!;
  const head: Inline[] = [
    ` Rung ${rung.index} of the ladder (`,
    code(rung.profile.name),
    ") changes only ",
    ...switchText(field, previous.profile[field], rung.profile[field]),
    ` from rung ${previous.index} (`,
    code(previous.profile.name),
    ")",
  ];
  const effect = rungEffect(rows, rung);
  if (effect.kind === "missing") {
    const names = effect.rungs.map((r) => r.profile.name);
    return [
      ...head,
      "; ",
      ...joinInline(names.map(code), " and "),
      ` ${names.length === 1 ? "is" : "are"} not in these results, so what it buys is not ` +
      "shown here (",
      code(`deno task bench --profile ${names.join(",")}`),
      ` runs ${names.length === 1 ? "it" : "them"}).`,
    ];
  }
  return [
    ...head,
    `: test accuracy after the last epoch${effect.medians ? " (medians over runs)" : ""} ` +
    `${effect.text}.`,
    ...(effect.clean ? [] : [
      " Their recorded configs differ in more than this switch (see the ladder below), so " +
      "that is not its effect alone.",
    ]),
  ];
}

function accuracyAtComparison(r: RunRow): number | null {
  return comparisonEpoch(r.run)?.testAccuracy ?? null;
}

/**
 * Explains why the original's numbers are an artefact, cause by cause, with the evidence
 * these results hold.
 */
export function artefactExplanation(doc: Doc, rows: readonly RunRow[]): void {
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
      ...rungEvidence(rows, "learningRate"),
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
      ...rungEvidence(rows, "learningRate"),
    ]);
  }

  // 3. Padding.
  const paddingAt = (where: Run["config"]["padding"]) =>
    distinct(
      okRows(rows).filter((r) => r.run.config.padding === where).map((r) => r.run.profile),
    ).sort(compareProfiles);
  const padEnd = paddingAt("end");
  const padStart = paddingAt("start");
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
  padding.push(...rungEvidence(rows, "padding"));
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
  washout.push(...rungEvidence(rows, "layers"));
  items.push(washout);

  // What the architectures really reach.
  const reach: Inline[] = [{ strong: "What they really reach." }];
  for (const profile of ["fixed", "best"]) {
    const runs = byProfile(rows, profile);
    if (runs.length === 0) {
      reach.push(" There is no ", code(profile), " run in these results.");
    } else {
      const last = (r: RunRow) => lastEpoch(r.run)?.testAccuracy ?? null;
      reach.push(
        " ",
        code(profile),
        `: ${perArch(runs, last, formatAccuracy, false, true)} after the last epoch`,
      );
      const shapes = distinct(runs.map((r) => shapeOf(r)));
      const originalShapes = distinct(reproductions.map((r) => shapeOf(r)));
      const [original] = originalShapes;
      if (
        original !== undefined && originalShapes.length === 1 && shapes.some((x) => x !== original)
      ) {
        reach.push(` (a stack of ${shapes.join(", ")} instead of the original's ${original})`);
        // Why the shape changed, where the results show it: the best any rung with correct
        // labels reached at the original's shape.
        const atOriginal = okRows(rows).filter((r) =>
          r.run.config.labels === "correct" && shapeOf(r) === original &&
          LADDER.some((g) => g.profile.name === r.run.profile)
        );
        if (profile === "fixed" && atOriginal.length > 0) {
          const profiles = distinct(atOriginal.map((r) => r.run.profile)).sort(compareProfiles);
          reach.push(
            `. At the original's shape the rungs of the ladder here (`,
            ...joinInline(profiles.map(code), ", "),
            `) reach at most ${perArch(atOriginal, last, formatAccuracy, true)}: no change ` +
              "measured at that shape reached 0.80 on the validation split, so ",
            code("fixed"),
            " takes the smallest change of shape found (bench/notes/profiles.md)",
          );
        }
      }
      reach.push(".");
    }
  }
  items.push(reach);
  doc.list(items);
}

/** A run's recurrent stack as text: "25 layers of hidden 8". */
function shapeOf(r: RunRow): string {
  const { layers, hiddenSize } = r.run.config;
  return `${layers} layer${layers === 1 ? "" : "s"} of hidden ${hiddenSize}`;
}
