/**
 * The ladder of causes (`bench/ladder.ts`): from `original-labels` to `best`, one switch per
 * rung, and what each switch buys per architecture.
 *
 * - A table with one row per rung present in the results, in ladder order: the rung, its
 *   profile, the change from the previous rung present as the runs' RECORDED configs show it
 *   (`field: old → new`), and per architecture the last-epoch test accuracy (median, with
 *   min–max and the count when there are several runs) and its change from the previous rung
 *   present that has that architecture.
 * - A figure of the medians per rung, one series per architecture (the table carries the
 *   ranges: a line chart of the model has no bands).
 * - Said plainly, under the table: every pair of consecutive present rungs whose recorded
 *   configs do not differ in exactly the one field the ladder switches there (missing rungs in
 *   between, a switch that leaves these architectures' values as they were, stale or
 *   hand-made results), runs of one rung recorded with different configs, and rungs recorded
 *   with values other than the ladder's definition (overrides such as `--epochs`, or results
 *   from before a switch changed).
 * - The rungs not in the results, and the exact command that runs them.
 *
 * A run belongs to a rung by its profile name; only completed runs count. Architectures are
 * whatever the runs hold, cells from `--cell` files included. {@linkcode rungEffect} gives the
 * artefact explanation the same numbers for one rung.
 *
 * @module
 */

import { LADDER, LADDER_PROFILE, type Rung } from "../bench/ladder.ts";
import { type Profile, runConfigOf, type SwitchField } from "../bench/profiles.ts";
import type { Arch, Run } from "../bench/results/types.ts";
import { archesOf, archLabel, archStyles } from "./_archs.ts";
import {
  code,
  col,
  DASH,
  distinct,
  type Doc,
  joinInline,
  lastEpoch,
  listEnglish,
  okRows,
  optional,
  plural,
  type RunRow,
} from "./_run_rows.ts";
import {
  formatAccuracy,
  formatAccuracyChange,
  formatLearningRate,
  formatSummary,
} from "./format.ts";
import { CHART_TEXT, type Lang } from "./i18n.ts";
import type { Inline, Text } from "./model.ts";
import { median, summarize } from "./stats.ts";

/** The profile fields a run records: every switchable field but the data source's name. */
type ProfileField = Exclude<SwitchField, "dataSource" | "inferSeconds">;
/** Recorded fields that no switch changes but that change what a run measures. */
type RunField = "dataSource" | "limitBatches";
type Field = ProfileField | RunField;
/** A configuration as text, field by field, so that recorded and defined ones compare. */
type Config<F extends string> = Readonly<Record<F, string>>;

/**
 * The fields compared, in the order the change column lists them: the ladder's switches in
 * ladder order, then the fields no switch changes.
 */
const FIELDS = ladderOrder(Object.keys(
  {
    labels: 1,
    learningRate: 1,
    padding: 1,
    layers: 1,
    init: 1,
    batchSize: 1,
    gradClip: 1,
    lrSchedule: 1,
    vocabMaxSize: 1,
    wordDropout: 1,
    keepTokens: 1,
    readout: 1,
    maxLen: 1,
    hiddenSize: 1,
    embedDim: 1,
    epochs: 1,
    dataSource: 1,
    limitBatches: 1,
  } satisfies Record<Field, 1>,
) as Field[]);

/** `fields` sorted by the first rung that switches each; fields no rung switches last. */
function ladderOrder(fields: Field[]): Field[] {
  const at = (f: Field) => {
    const i = LADDER.findIndex((r) => r.switch?.field === f);
    return i < 0 ? LADDER.length : i;
  };
  const order = new Map(fields.map((f, i) => [f, i]));
  return [...fields].sort((x, y) => at(x) - at(y) || order.get(x)! - order.get(y)!);
}
const PROFILE_FIELDS = FIELDS.filter((f): f is ProfileField =>
  f !== "dataSource" && f !== "limitBatches"
);

const show = (x: number | string | null): string => x === null ? "none" : String(x);

/** What a run recorded, written as the ladder's profiles write it (absent fields: defaults). */
function recordedConfig(run: Pick<Run, "config">): Config<Field> {
  const c = run.config;
  return {
    labels: c.labels,
    learningRate: formatLearningRate(c.learningRate),
    padding: c.padding,
    layers: show(c.layers),
    init: c.init ?? "original",
    batchSize: show(c.batchSize),
    gradClip: show(c.gradClip),
    lrSchedule: c.lrSchedule ?? "constant",
    vocabMaxSize: show(c.vocabMaxSize),
    wordDropout: show(c.wordDropout ?? 0),
    keepTokens: c.keepTokens ?? "first",
    readout: c.readout ?? "last",
    maxLen: show(c.maxLen),
    hiddenSize: show(c.hiddenSize),
    embedDim: show(c.embedDim),
    epochs: show(c.epochs),
    dataSource: c.dataSource,
    limitBatches: show(c.limitBatches),
  };
}

/** What the ladder defines for a run of `arch` under profile `p`, as a run records it. */
function definedConfig(p: Profile, arch: Arch): Config<ProfileField> {
  const recorded = recordedConfig({
    config: runConfigOf(p, arch, { limitBatches: null, threads: null, dataSource: p.dataSource }),
  });
  return Object.fromEntries(PROFILE_FIELDS.map((f) => [f, recorded[f]])) as Config<ProfileField>;
}

/** A rung present in the results: its completed runs and recorded config per architecture. */
interface Step {
  rung: Rung;
  runs: Map<Arch, RunRow[]>;
  /** Per architecture, each field's distinct recorded values joined by " / ". */
  recorded: Map<Arch, Config<Field>>;
  /** Per architecture, the fields whose runs recorded more than one value. */
  mixed: Map<Arch, Field[]>;
}

function stepOf(rung: Rung, rows: readonly RunRow[]): Step | null {
  const mine = okRows(rows).filter((r) =>
    r.run.profile === rung.profile.name && lastEpoch(r.run) !== undefined
  );
  if (mine.length === 0) return null;
  const runs = new Map<Arch, RunRow[]>();
  for (const arch of archesOf(mine.map((r) => r.run.arch))) {
    runs.set(arch, mine.filter((r) => r.run.arch === arch));
  }
  const recorded = new Map<Arch, Config<Field>>();
  const mixed = new Map<Arch, Field[]>();
  for (const [arch, rs] of runs) {
    const configs = rs.map((r) => recordedConfig(r.run));
    const joined = Object.fromEntries(
      FIELDS.map((f) => [f, distinct(configs.map((c) => c[f])).join(" / ")]),
    ) as Config<Field>;
    recorded.set(arch, joined);
    const several = FIELDS.filter((f) => distinct(configs.map((c) => c[f])).length > 1);
    if (several.length > 0) mixed.set(arch, several);
  }
  return { rung, runs, recorded, mixed };
}

/** The rungs of the ladder present in `rows`, in ladder order. */
function stepsOf(rows: readonly RunRow[]): Step[] {
  return LADDER.flatMap((rung) => stepOf(rung, rows) ?? []);
}

/** Each run's last-epoch test accuracy. */
function accuracies(runs: readonly RunRow[] | undefined): number[] {
  return (runs ?? []).flatMap((r) => {
    const e = lastEpoch(r.run);
    return e === undefined ? [] : [e.testAccuracy];
  });
}

/** `0.8123`, or `0.8123 (0.8011–0.8210), 3 seeds` for several runs. */
function accuracyCell(runs: readonly RunRow[] | undefined): Text {
  const values = accuracies(runs);
  if (values.length === 0) return DASH;
  const summary = formatSummary(summarize(values), formatAccuracy);
  if (values.length === 1) return summary;
  const seeds = distinct(runs!.map((r) => r.run.seed)).length;
  const count = seeds === values.length
    ? plural(seeds, "seed")
    : `${plural(values.length, "run")}, ${plural(seeds, "seed")}`;
  return `${summary}, ${count}`;
}

const medianOrNull = (runs: readonly RunRow[] | undefined) => {
  const values = accuracies(runs);
  return values.length === 0 ? null : median(values);
};

/** A run's seed and engine: what a run of one rung shares with its like on another. */
const runKey = (r: RunRow) => JSON.stringify([r.run.seed, r.run.engine]);

/**
 * The change of an architecture's median accuracy from `before`'s runs to `now`'s. When the
 * two rungs ran other seeds or engines (`fixed` runs 3 seeds of the RNN, the rung before it
 * one), only the runs both have are compared, and `over` names their seeds; null when they
 * share none.
 */
function changeOf(
  now: readonly RunRow[] | undefined,
  before: readonly RunRow[] | undefined,
): { change: number; over: string | null } | null {
  if (now === undefined || before === undefined) return null;
  const keysNow = new Set(now.map(runKey)), keysBefore = new Set(before.map(runKey));
  const same = keysNow.size === keysBefore.size && [...keysNow].every((k) => keysBefore.has(k));
  const a = same ? now : now.filter((r) => keysBefore.has(runKey(r)));
  const b = same ? before : before.filter((r) => keysNow.has(runKey(r)));
  const m = medianOrNull(a), n = medianOrNull(b);
  if (m === null || n === null) return null;
  const seeds = distinct(a.map((r) => r.run.seed)).sort((x, y) => x - y);
  return {
    change: m - n,
    over: same ? null : `${seeds.length === 1 ? "seed" : "seeds"} ${seeds.join(", ")}`,
  };
}

/** How a pair of consecutive present rungs compares with what the ladder switches. */
interface StepCheck {
  /** Fields whose recorded values differ for some shared architecture, in field order. */
  recorded: Field[];
  /** Fields the ladder changes between the two rungs for the shared architectures. */
  expected: Field[];
  /** The change as text: `field: old → new`, per architecture where they differ. */
  change: Inline[];
  /** Architectures with runs on both rungs. */
  shared: Arch[];
}

/**
 * `value` per architecture of `arches` ("RNN 1e-7, LSTM 1e-10"), or once when they all agree
 * and `named` is false.
 */
function perArch(arches: readonly Arch[], value: (a: Arch) => string, named = false): string {
  const values = arches.map(value);
  return distinct(values).length === 1 && !named
    ? values[0]!
    : arches.map((a, i) => `${archLabel(a)} ${values[i]}`).join(", ");
}

function checkStep(before: Step, after: Step): StepCheck {
  const shared = [...after.runs.keys()].filter((a) => before.runs.has(a));
  const recorded = FIELDS.filter((f) =>
    shared.some((a) => before.recorded.get(a)![f] !== after.recorded.get(a)![f])
  );
  const defined = (s: Step, a: Arch) => definedConfig(s.rung.profile, a);
  const expected = PROFILE_FIELDS.filter((f) =>
    shared.some((a) => defined(before, a)[f] !== defined(after, a)[f])
  );
  const change: Inline[] = [];
  for (const f of recorded) {
    const moved = shared.filter((a) => before.recorded.get(a)![f] !== after.recorded.get(a)![f]);
    const kept = shared.filter((a) => !moved.includes(a));
    const text = perArch(
      moved,
      (a) => `${before.recorded.get(a)![f]} → ${after.recorded.get(a)![f]}`,
      kept.length > 0,
    );
    if (change.length > 0) change.push("; ");
    change.push(code(f), `: ${text}`);
    if (kept.length > 0) change.push(` (${listEnglish(kept.map(archLabel))} unchanged)`);
  }
  return { recorded, expected, change, shared };
}

const sameFields = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((f) => b.includes(f));

/** `rung 3 (ladder-03-padding)` as inline text, `Rung 3 (…)` with `capital`. */
function rungName(r: Rung, capital = false): Inline[] {
  return [`${capital ? "Rung" : "rung"} ${r.index} (`, code(r.profile.name), ")"];
}

const fieldList = (fields: readonly string[]): Inline[] =>
  fields.length === 0 ? ["none"] : joinInline(fields.map(code), ", ");

/** What is wrong with a consecutive pair, or null when it steps one switch as defined. */
function stepNote(before: Step, after: Step, check: StepCheck): Inline[] | null {
  const { recorded, expected, shared } = check;
  if (shared.length === 0) {
    return [
      ...rungName(after.rung, true),
      " shares no architecture with ",
      ...rungName(before.rung),
      ", so its change is not shown.",
    ];
  }
  const matches = sameFields(recorded, expected);
  if (recorded.length === 1 && matches) return null;
  const head: Inline[] = [
    ...rungName(after.rung, true),
    ` differs from `,
    ...rungName(before.rung),
    ` in ${plural(recorded.length, "field")} of the recorded configs (`,
    ...fieldList(recorded),
    ")",
  ];
  const between = LADDER.slice(before.rung.index + 1, after.rung.index);
  if (between.length > 0) {
    const gap: Inline[] = [
      ", not one: ",
      ...joinInline(between.map((r) => code(r.profile.name)), ", "),
      ` between them ${between.length === 1 ? "is" : "are"} not in these results`,
    ];
    return matches ? [...head, ...gap, ", so this row carries their switches together."] : [
      ...head,
      ...gap,
      ", and the ladder changes ",
      ...fieldList(expected),
      " over those rungs: stale or hand-made results.",
    ];
  }
  if (matches) {
    return [
      ...rungName(after.rung, true),
      " records the same config as ",
      ...rungName(before.rung),
      ": its switch (",
      code(after.rung.switch!.field),
      ") leaves the value of every architecture here as it was.",
    ];
  }
  return [
    ...head,
    ", where the ladder changes ",
    ...fieldList(expected),
    ": stale or hand-made results.",
  ];
}

/** Rungs recorded with values other than the ladder's definition, per field. */
function definitionNote(step: Step): Inline[] | null {
  const arches = [...step.runs.keys()];
  const parts: Inline[][] = [];
  for (const f of PROFILE_FIELDS) {
    const off = arches.filter((a) =>
      step.recorded.get(a)![f] !== definedConfig(step.rung.profile, a)[f]
    );
    if (off.length === 0) continue;
    parts.push([
      code(f),
      ` ${perArch(off, (a) => step.recorded.get(a)![f])} where the ladder has ${
        perArch(off, (a) => definedConfig(step.rung.profile, a)[f])
      }`,
    ]);
  }
  if (parts.length === 0) return null;
  return [
    ...rungName(step.rung, true),
    " was recorded with ",
    ...joinInline(parts, "; "),
    " (overridden flags, or results from before the ladder changed).",
  ];
}

function mixedNote(step: Step): Inline[][] {
  return [...step.mixed].map(([arch, fields]) => [
    `The ${archLabel(arch)} runs of `,
    ...rungName(step.rung),
    " were recorded with different configs: ",
    ...joinInline(fields.map((f) => `${f} ${step.recorded.get(arch)![f]}`), "; "),
    ".",
  ]);
}

/** The x label of a rung in the figure: its number and key (`2 lr`), or its profile's name. */
function rungLabel(r: Rung): string {
  const named = r.switch === null || !r.profile.name.startsWith("ladder-");
  return `${r.index} ${named ? r.profile.name : r.switch!.key}`;
}

/** Adds the ladder section: table, figure, what does not step as defined, what is missing. */
export function ladder(doc: Doc, rows: readonly RunRow[], lang: Lang): void {
  doc.heading(2, "The ladder of causes");
  const steps = stepsOf(rows);
  const every = code(`deno task bench --profile ${LADDER_PROFILE}`);
  if (steps.length === 0) {
    doc.paragraph(
      `No rung of the ladder (${LADDER[0]!.profile.name} … ${LADDER.at(-1)!.profile.name}, ` +
        "one switch per rung) is in these results: ",
      every,
      " runs every rung.",
    );
    return;
  }
  doc.paragraph(
    "From ",
    code(LADDER[0]!.profile.name),
    " to ",
    code(LADDER.at(-1)!.profile.name),
    ", each rung is the rung before it with one field switched (",
    code("bench/ladder.ts"),
    "), in an order chosen on a validation split, never on test: ",
    code("fixed"),
    "'s switches in the order its sweeps adopted them, then ",
    code("best"),
    "'s by what each buys alone on top of ",
    code("fixed"),
    ", largest first, with no rung costlier to train than ",
    code("best"),
    " (",
    code("bench/notes/profiles.md"),
    "). Per architecture: the test accuracy after the last epoch (median, with min–max and " +
      "the count over several runs) and its change from the previous rung in these results " +
      "that has the architecture. The change column is read from the runs' recorded configs.",
  );
  const arches = archesOf(steps.flatMap((s) => [...s.runs.keys()]));
  const checks = steps.map((s, i) => i === 0 ? null : checkStep(steps[i - 1]!, s));
  const previousWith = (i: number, arch: Arch) => {
    for (let j = i - 1; j >= 0; j--) if (steps[j]!.runs.has(arch)) return steps[j]!;
    return undefined;
  };
  // Per step and architecture: the change from the previous step that has it.
  const changes = steps.map((s, i) =>
    new Map(arches.map((a) => [a, changeOf(s.runs.get(a), previousWith(i, a)?.runs.get(a))]))
  );
  doc.table({
    columns: [
      col("Rung", "right"),
      col("Profile"),
      col("Change (recorded)"),
      ...arches.flatMap((a) => [
        col(`${archLabel(a)} accuracy`, "right"),
        col(`${archLabel(a)} change`, "right"),
      ]),
    ],
    rows: steps.map((s, i) => {
      const check = checks[i];
      const change: Text = check === null || check === undefined
        ? DASH
        : check.shared.length === 0
        ? DASH
        : check.change.length === 0
        ? "no field"
        : check.change;
      return [
        String(s.rung.index),
        code(s.rung.profile.name),
        change,
        ...arches.flatMap((a) => {
          const c = changes[i]!.get(a) ?? null;
          return [
            accuracyCell(s.runs.get(a)),
            c === null
              ? DASH
              : formatAccuracyChange(c.change) + (c.over === null ? "" : ` (${c.over})`),
          ];
        }),
      ];
    }),
  });
  const t = CHART_TEXT[lang];
  const styleOf = archStyles(arches);
  const series = arches.map((a) => ({
    name: archLabel(a),
    values: steps.map((s) => medianOrNull(s.runs.get(a))),
    style: styleOf(a),
  }));
  doc.chart({
    id: doc.charts.take("ladder"),
    type: "line",
    title: t.ladderTitle,
    subtitle: t.ladderSubtitle,
    xLabel: t.rungAxis,
    yLabel: t.accuracyAxis,
    labels: steps.map((s) => rungLabel(s.rung)),
    series,
    alt: "Test accuracy after the last epoch per rung of the ladder (median over runs): " +
      series.map((l) =>
        `${l.name} ${
          l.values.map((v, i) => `${rungLabel(steps[i]!.rung)} ${optional(formatAccuracy)(v)}`)
            .join(", ")
        }`
      ).join("; "),
  });
  doc.paragraph("The figure draws the medians; the table gives each rung's range over its runs.");
  const unlike = steps.flatMap((s, i) =>
    arches.flatMap((a) => {
      const c = changes[i]!.get(a) ?? null;
      return c === null || c.over === null ? [] : [{ s, a, over: c.over }];
    })
  );
  if (unlike.length > 0) {
    doc.paragraph(
      "Where a rung ran other seeds than the rung before it, its change compares only the " +
        "runs both have (",
      ...joinInline(
        unlike.map(({ s, a, over }) => [`${archLabel(a)} at `, ...rungName(s.rung), `: ${over}`]),
        "; ",
      ),
      "); the figure's line between them joins medians over different seeds.",
    );
  }

  const notes: Inline[][] = [];
  steps.forEach((s, i) => {
    const check = checks[i];
    if (check !== null && check !== undefined) {
      const note = stepNote(steps[i - 1]!, s, check);
      if (note !== null) notes.push(note);
    }
    notes.push(...mixedNote(s));
    const definition = definitionNote(s);
    if (definition !== null) notes.push(definition);
  });
  if (notes.length > 0) {
    doc.paragraph(
      "Where these results do not step one switch at a time as the ladder defines:",
    );
    doc.list(notes);
  }
  const validation = steps.flatMap((s) => [...s.runs.values()].flat())
    .filter((r) => r.run.data.validationSize !== null);
  if (validation.length > 0) {
    doc.paragraph(
      `${plural(validation.length, "run")} of the ladder here evaluated a validation split ` +
        "instead of test (",
      code("--validation"),
      "): their accuracies above are validation accuracies.",
    );
  }

  const missing = LADDER.filter((r) => !steps.some((s) => s.rung === r));
  if (missing.length > 0) {
    doc.paragraph(
      `Not in these results: ${missing.length === 1 ? "rung" : "rungs"} `,
      ...joinInline(missing.map((r) => [`${r.index} (`, code(r.profile.name), ")"]), ", "),
      ". ",
      code(`deno task bench --profile ${missing.map((r) => r.profile.name).join(",")}`),
      ` runs ${missing.length === 1 ? "it" : "them"} (`,
      every,
      " runs every rung).",
    );
  }
}

/** What one rung buys, for the artefact explanation. */
export type RungEffect =
  | {
    /** Both the rung and the one before it have runs of some architecture. */
    kind: "shown";
    /** `RNN 0.5000 → 0.5094, LSTM 0.5000 → 0.5000 and GRU 0.5020 → 0.6502`. */
    text: string;
    /** Whether any architecture has several runs (then the numbers are medians). */
    medians: boolean;
    /** False when the recorded configs of the two rungs differ in more than its switch. */
    clean: boolean;
  }
  | {
    kind: "missing";
    /** The rungs (this one, the one before it, or both) with no completed run here. */
    rungs: Rung[];
  };

/**
 * The last-epoch test accuracy per architecture before (rung `index − 1`) and after (this
 * rung) one switch: medians over each rung's completed runs.
 */
export function rungEffect(rows: readonly RunRow[], rung: Rung): RungEffect {
  const previous = LADDER[rung.index - 1];
  const after = stepOf(rung, rows);
  const before = previous === undefined ? null : stepOf(previous, rows);
  if (after === null || before === null) {
    return {
      kind: "missing",
      rungs: [...(before === null && previous ? [previous] : []), ...(after ? [] : [rung])],
    };
  }
  const check = checkStep(before, after);
  if (check.shared.length === 0) return { kind: "missing", rungs: [previous!, rung] };
  const text = listEnglish(
    check.shared.map((a) =>
      `${archLabel(a)} ${formatAccuracy(medianOrNull(before.runs.get(a))!)} → ${
        formatAccuracy(medianOrNull(after.runs.get(a))!)
      }`
    ),
  );
  const medians = check.shared.some((a) =>
    before.runs.get(a)!.length > 1 || after.runs.get(a)!.length > 1
  );
  const clean = sameFields(check.recorded, check.expected) &&
    check.recorded.every((f) => f === rung.switch?.field);
  return { kind: "shown", text, medians, clean };
}
