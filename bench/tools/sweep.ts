/**
 * The sweep tool: train a grid of variants of a profile on a validation split carved from
 * TRAIN, and print (and write) a table of validation accuracy per epoch. It is how the
 * `fixed` and `best` profiles' settings were chosen (bench/notes/profiles.md). It refuses
 * to run without a validation split: the test split never chooses anything.
 *
 * ```sh
 * deno run -A bench/tools/sweep.ts --base fixed --validation 0.2 --epochs 2 \
 *   --grid learningRate=1e-3,3e-3,1e-2,3e-2 --name fixed-lr
 * deno run -A bench/tools/sweep.ts --base best --arch lstm --validation 0.2 --epochs 3 \
 *   --grid maxLen=200,400 --set gradClip=null --name best-maxlen
 * ```
 *
 * `--variant "key=v key2=v2"` (repeatable) adds one configuration that differs from the base
 * in those fields (one-factor-at-a-time sweeps; the base itself is run too, unless
 * `--skip-base`).
 * `--grid key=v1,v2,…` (repeatable) spans the cartesian product, `--set key=v` fixes a
 * field for every configuration. Keys are {@linkcode Profile} fields (see
 * {@linkcode SWEEP_KEYS}); `learningRate` takes one number for every architecture or a JSON
 * object with a `default` and the architectures that differ, e.g.
 * `'learningRate={"default":1e-7,"lstm":1e-10,"gru":1e-9}'` (naming every architecture
 * also works without a default).
 *
 * `--cell FILE` adds the cells of a file (see `bench/cell_file.ts`); without `--arch`, the
 * sweep runs them instead of the built-ins.
 *
 * Output under `--out` (default `results/sweeps`): the results file of the invocation
 * (`data.validationSize` set: every `test*` field there is the VALIDATION split) and
 * `<name>.md`, the table with the command that produced it.
 *
 * @module
 */
import { type Command, Option } from "commander";
import { ARCHS, cellNames } from "../../models/cells.ts";
import { type Readout, READOUTS } from "../../models/classifier.ts";
import { type BenchArgs, parseBenchArgs } from "../cli.ts";
import { type CellFile, loadCellFlagOrExit } from "../cell_file.ts";
import { cellOption } from "../util/shared_flags.ts";
import {
  choice,
  command,
  exitOnUsageError,
  matching,
  optional,
  parseCommandLine,
  repeated,
  UsageError,
} from "../util/cli_kit.ts";
import {
  INIT_SCHEMES,
  type InitScheme,
  LR_SCHEDULES,
  type LrSchedule,
  type PerCell,
  type Profile,
  PROFILE_NAMES,
} from "../profiles.ts";
import { profileChoicesText } from "../ladder.ts";
import { memoryProgress, stderrProgress } from "../util/progress.ts";
import { carveText } from "../data/validation.ts";
import type { Run } from "../results/types.ts";
import { resolveProfile, runBench } from "../run.ts";

/** A profile field a sweep may vary. */
export type SweepKey = Exclude<keyof Profile, "name" | "description" | "dataSource" | "seeds">;

const num = (min: number, integer: boolean) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`must be ${integer ? "an integer" : "a number"} ≥ ${min}, got "${v}"`);
  }
  return n;
};
const orNull = <T>(f: (v: string) => T) => (v: string): T | null => v === "null" ? null : f(v);
const oneOf = <T extends string>(values: readonly T[]) => (v: string): T => {
  if (!(values as readonly string[]).includes(v)) {
    throw new Error(`must be one of ${values.join(", ")}, got "${v}"`);
  }
  return v as T;
};
/**
 * A per-cell value: one value (every architecture), or JSON such as `{"default":0.25,"rnn":0}`;
 * `one` parses one value from text, `fromJson` checks one JSON value; both throw on a bad one.
 */
const perCellOf =
  <T>(one: (v: string) => T, fromJson: (x: unknown, k: string) => T) => (v: string): PerCell<T> => {
    if (v.trim().startsWith("{")) {
      const o = JSON.parse(v) as Record<string, unknown>;
      const known = cellNames();
      const out: Record<string, T> = {};
      for (const [k, x] of Object.entries(o)) {
        if (k !== "default" && !known.includes(k)) {
          throw new Error(
            `names unknown architecture "${k}" (valid: default, ${known.join(", ")})`,
          );
        }
        out[k] = fromJson(x, k);
      }
      if (out["default"] === undefined && known.some((a) => out[a] === undefined)) {
        throw new Error(`needs a "default" or a value for every architecture, got ${v}`);
      }
      return out;
    }
    return { default: one(v) };
  };
/** A per-cell number; `check` throws on a bad value. */
const perCell = (check: (x: number) => void) =>
  perCellOf((v) => {
    const x = num(0, false)(v);
    check(x);
    return x;
  }, (x, k) => {
    if (typeof x !== "number") {
      throw new Error(`needs numbers, got ${JSON.stringify(x)} for "${k}"`);
    }
    check(x);
    return x;
  });
/** A per-cell choice among `values`. */
const perCellOneOf = <T extends string>(values: readonly T[]) =>
  perCellOf(oneOf(values), (x, k) => {
    if (typeof x !== "string") throw new Error(`needs text, got ${JSON.stringify(x)} for "${k}"`);
    return oneOf(values)(x);
  });
const learningRates = perCell((x) => {
  if (!(x > 0)) throw new Error(`needs positive numbers, got ${x}`);
});
const dropouts = perCell((x) => {
  if (!(x >= 0 && x < 1)) throw new Error(`must be a probability in [0, 1), got "${x}"`);
});

/** How each sweepable field's values are parsed (a missing key is a compile error). */
export const SWEEP_KEYS: { readonly [K in SweepKey]: (v: string) => Profile[K] } = {
  maxLen: num(1, true),
  padding: oneOf(["start", "end"] as const),
  keepTokens: oneOf(["first", "last"] as const),
  vocabMaxSize: orNull(num(2, true)),
  embedDim: num(1, true),
  hiddenSize: num(1, true),
  layers: num(1, true),
  readout: perCellOneOf<Readout>(READOUTS),
  batchSize: num(1, true),
  epochs: perCell((x) => {
    if (!(Number.isInteger(x) && x >= 1)) throw new Error(`needs whole numbers >= 1, got ${x}`);
  }),
  learningRate: learningRates,
  labels: oneOf(["correct", "original"] as const),
  gradClip: orNull((v) => {
    const x = num(0, false)(v);
    if (!(x > 0)) throw new Error(`must be > 0 or null, got "${v}"`);
    return x;
  }),
  lrSchedule: oneOf<LrSchedule>(LR_SCHEDULES),
  init: oneOf<InitScheme>(INIT_SCHEMES),
  wordDropout: dropouts,
  inferSeconds: num(0, false),
};

/** One `key=value` setting, parsed. */
export interface Setting {
  readonly key: SweepKey;
  /** As typed on the command line (for the table). */
  readonly text: string;
  readonly value: Profile[SweepKey];
}

/** The parsed command line of the sweep tool. */
export interface SweepArgs {
  /** The profile the variants start from. */
  readonly base: string;
  /** Settings applied to every configuration. */
  readonly set: readonly Setting[];
  /**
   * The dimensions of the product: one per `--grid` flag (each alternative one setting), and
   * one for all `--variant` flags (the base, then each variant's settings).
   */
  readonly grid: readonly (readonly (readonly Setting[])[])[];
  /** Everything `runBench` needs (validation > 0, onnx "none"). */
  readonly bench: BenchArgs;
  /** Name of the table file. */
  readonly name: string;
}

/** Splits `a,b,{"x":1,"y":2}` at top-level commas. */
function splitTop(v: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = "";
  for (const ch of v) {
    if (ch === "{" || ch === "[") depth++;
    if (ch === "}" || ch === "]") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out.filter((s) => s !== "");
}

function parseSetting(flag: string, kv: string, many: boolean): Setting[] {
  const eq = kv.indexOf("=");
  const key = kv.slice(0, eq).trim();
  if (eq < 1 || !(key in SWEEP_KEYS)) {
    throw new UsageError(
      `Cannot parse ${flag} "${kv}": want key=value with key one of ${
        Object.keys(SWEEP_KEYS).join(", ")
      }`,
    );
  }
  const k = key as SweepKey;
  const texts = many ? splitTop(kv.slice(eq + 1)) : [kv.slice(eq + 1).trim()];
  if (texts.length === 0) throw new UsageError(`Cannot parse ${flag} "${kv}": no values`);
  return texts.map((text) => {
    try {
      return { key: k, text, value: SWEEP_KEYS[k](text) };
    } catch (e) {
      throw new UsageError(`Cannot parse ${flag} "${kv}": ${key} ${(e as Error).message}`);
    }
  });
}

/** Builds the sweep tool's commander program (its `--help` is the usage). */
export function sweepCommand(): Command {
  const repeatable = (flags: string, description: string) =>
    new Option(flags, description).argParser(repeated).default([], "none");
  return command(
    "sweep",
    "Trains variants of a profile on a validation split carved from TRAIN (the test split " +
      "never chooses anything) and prints a table of validation accuracy per epoch.",
  )
    .usage("--validation F [options]")
    .option("--validation <F>", "share of train to validate on, 0 < F < 1 (required)")
    .option(
      "--validation-carve <carve>",
      "random (each review on its own) or chunks (runs of consecutive reviews: a movie's " +
        "reviews stay on one side, as in the test split)",
      "random",
    )
    .option(
      "--base <name>",
      `profile to vary: ${profileChoicesText()}`,
      choice("profile", PROFILE_NAMES),
      "fixed",
    )
    .option("--arch <list>", "architectures", ARCHS.join(","))
    .addOption(cellOption())
    .addOption(
      repeatable(
        "--grid <key=v1,v2>",
        "vary a field over values; several --grid span their product",
      ),
    )
    .addOption(
      repeatable(
        "--variant <settings>",
        'one configuration differing from the base in these fields ("k=v k2=v2")',
      ),
    )
    .option("--skip-base", "with --variant: do not run the base itself", false)
    .addOption(repeatable("--set <key=v>", "fix a field for every configuration"))
    .addOption(optional("--epochs <n>", "training epochs", "the base profile's"))
    .option("--seed <n>", "first random seed", "1")
    .option("--seeds <n>", "seeds per architecture", "1")
    .option("--engine <name>", "training engine", "auto")
    .addOption(optional("--threads <n>", "CPU threads for the native engine", "all cores"))
    .addOption(optional("--limit-batches <n>", "use only the first N batches of each split", "all"))
    .option(
      "--name <name>",
      "table name",
      matching("--name", /^[A-Za-z0-9_.-]+$/, 'use only letters, digits, "_", "." and "-"'),
      "sweep",
    )
    .option("--out <dir>", "results folder", "results/sweeps")
    .addHelpText(
      "after",
      `\nKeys: ${Object.keys(SWEEP_KEYS).join(", ")}.\n` +
        "learningRate, epochs, wordDropout and readout take one value or a JSON object per " +
        'architecture ({"default":5,"lstm":8}).',
    );
}

/**
 * Parses the sweep tool's arguments.
 * @param argv arguments after the script name
 * @param cells the files of `--cell`, loaded before parsing; without `--arch`, their cells
 *   are the architectures swept @default []
 * @returns the sweep
 * @throws UsageError naming the bad flag; in particular when `--validation` is missing or 0
 */
export function parseSweepArgs(argv: string[], cells: readonly CellFile[] = []): SweepArgs {
  const cmd = parseCommandLine(sweepCommand(), argv);
  const values = cmd.opts<{
    validation?: string;
    validationCarve: string;
    base: string;
    arch: string;
    grid: string[];
    variant: string[];
    skipBase: boolean;
    set: string[];
    epochs: string | null;
    seed: string;
    seeds: string;
    engine: string;
    threads: string | null;
    limitBatches: string | null;
    name: string;
    out: string;
  }>();
  const fraction = Number(values.validation ?? "0");
  if (!(fraction > 0 && fraction < 1)) {
    throw new UsageError(
      `Cannot sweep without a validation split: pass --validation F with 0 < F < 1 ` +
        `(got ${values.validation ?? "none"}). Sweeps choose settings, and the test split ` +
        `must never choose anything.`,
    );
  }
  const argvBench = [
    "--profile",
    values.base,
    // Without --arch, the cells of --cell files (when there are any) are the architectures.
    ...(cells.length > 0 && cmd.getOptionValueSource("arch") === "default"
      ? []
      : ["--arch", values.arch]),
    "--engine",
    values.engine,
    "--seed",
    values.seed,
    "--seeds",
    values.seeds,
    "--onnx",
    "none",
    "--out",
    values.out,
    "--validation",
    String(fraction),
    "--validation-carve",
    values.validationCarve,
  ];
  if (values.threads !== null) argvBench.push("--threads", values.threads);
  if (values.limitBatches !== null) argvBench.push("--limit-batches", values.limitBatches);
  const set = values.set.flatMap((kv) => parseSetting("--set", kv, false));
  if (values.epochs !== null) {
    set.push(...parseSetting("--epochs", `epochs=${values.epochs}`, false));
  }
  return {
    base: values.base,
    set,
    grid: [
      ...(values.variant.length === 0 ? [] : [[
        ...(values.skipBase ? [] : [[]]),
        ...values.variant.map((v) =>
          v.trim().split(/\s+/).flatMap((kv) => parseSetting("--variant", kv, false))
        ),
      ]]),
      ...values.grid.map((kv) => parseSetting("--grid", kv, true).map((st) => [st])),
    ],
    bench: parseBenchArgs(argvBench, cells),
    name: values.name,
  };
}

/** One configuration of a sweep: the profile to run and the grid values that made it. */
export interface SweepConfig {
  readonly profile: Profile;
  /** The grid values of this configuration, e.g. `["learningRate=3e-3", "padding=end"]`. */
  readonly label: readonly string[];
}

/**
 * The configurations of a sweep: the cartesian product of the grid, each applied on top of
 * the base profile and the fixed settings.
 * @param s the parsed sweep
 * @returns one profile per configuration, named `<name>-c<i>`
 */
export function sweepConfigs(s: SweepArgs): SweepConfig[] {
  const base = resolveProfile(s.base, s.bench);
  let combos: Setting[][] = [[]];
  for (const alternatives of s.grid) {
    combos = combos.flatMap((c) => alternatives.map((a) => [...c, ...a]));
  }
  return combos.map((combo, i) => {
    const p: Record<string, unknown> = { ...base };
    for (const st of [...s.set, ...combo]) p[st.key] = st.value;
    const label = combo.map((st) => `${st.key}=${st.text}`);
    p.name = `${s.name}-c${i + 1}`;
    p.description = `${s.base} with ${
      [...s.set.map((st) => `${st.key}=${st.text}`), ...label].join(", ") || "no changes"
    }`;
    return { profile: p as unknown as Profile, label };
  });
}

/** The validation accuracies of a run, epoch 0 first. */
const accuracies = (r: Run) => r.epochs.map((e) => e.testAccuracy);

/**
 * The sweep table in Markdown: one row per configuration and architecture (and seed), the
 * validation accuracy after every epoch, and the best configuration per architecture by the
 * LAST epoch's validation accuracy (ties: the lower last validation loss) marked with ◀.
 * @param configs the configurations
 * @param runs the runs of the sweep (their `test*` fields are the validation split)
 * @returns the table
 */
export function sweepTable(configs: readonly SweepConfig[], runs: readonly Run[]): string {
  const epochs = Math.max(0, ...runs.map((r) => r.epochs.length - 1));
  const head = [
    "config",
    "arch",
    "seed",
    ...Array.from({ length: epochs + 1 }, (_, e) => `val acc e${e}`),
    "last val loss",
    "train s",
  ];
  const lines = [
    `| ${head.join(" | ")} |`,
    `| ${head.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
  ];
  const best = new Map<string, Run>();
  for (const r of runs) {
    if (r.status !== "ok") continue;
    const b = best.get(r.arch);
    const [acc, loss] = [accuracies(r).at(-1)!, r.epochs.at(-1)!.testLoss];
    const [bAcc, bLoss] = b === undefined
      ? [-1, Infinity]
      : [accuracies(b).at(-1)!, b.epochs.at(-1)!.testLoss];
    if (acc > bAcc || (acc === bAcc && loss < bLoss)) best.set(r.arch, r);
  }
  for (const c of configs) {
    for (const r of runs.filter((r) => r.profile === c.profile.name)) {
      const acc = accuracies(r).map((a) => a.toFixed(4));
      while (acc.length < epochs + 1) acc.push(r.status === "ok" ? "" : "failed");
      const secs = r.epochs.reduce((s, e) => s + (e.trainSeconds ?? 0), 0);
      const mark = best.get(r.arch) === r ? " ◀" : "";
      const loss = r.epochs.at(-1)?.testLoss.toFixed(4) ?? "";
      lines.push(
        `| ${c.label.join(", ") || "(base)"} | ${r.arch} | ${r.seed} | ${
          acc.join(" | ")
        }${mark} | ${loss} | ${secs.toFixed(0)} |`,
      );
    }
  }
  return lines.join("\n");
}

if (import.meta.main) {
  try {
    const cells = await loadCellFlagOrExit("sweep", Deno.args);
    const s = exitOnUsageError("sweep", () => parseSweepArgs(Deno.args, cells));
    const configs = sweepConfigs(s);
    console.error(
      `sweep ${s.name}: ${configs.length} configuration(s) × ${s.bench.archs.join(",")} × ` +
        `${s.bench.seeds} seed(s), on a validation split of ${s.bench.validation} of train`,
    );
    const quiet = Deno.env.get("RNNBENCH_QUIET") === "1";
    const { path, results } = await runBench(
      s.bench,
      quiet ? memoryProgress() : stderrProgress(true),
      { profiles: configs.map((c) => c.profile) },
    );
    const table = sweepTable(configs, results.runs);
    const text = [
      `# Sweep ${s.name}`,
      "",
      "```sh",
      `deno run -A bench/tools/sweep.ts ${
        Deno.args.map((a) => /[^\w.,=/-]/.test(a) ? `'${a}'` : a).join(" ")
      }`,
      "```",
      "",
      `Base profile: ${s.base}; fixed settings: ${
        s.set.map((st) => `${st.key}=${st.text}`).join(", ") || "none"
      }. Validation: ${results.runs[0]?.data.validationSize ?? "?"} reviews carved from ` +
      `train (stratified, fixed seed, ${carveText(s.bench.validationCarve ?? "random")}); ` +
      `training on ${results.runs[0]?.data.trainSize ?? "?"}. ` +
      `Accuracies are on the VALIDATION split; ◀ marks the best last-epoch value per ` +
      `architecture (ties: lower validation loss). Results: ${path}. Machine: ${results.machine.cpuModel}, ` +
      `${results.machine.cores} cores; ${results.createdAt}.`,
      "",
      table,
      "",
    ].join("\n");
    await Deno.mkdir(s.bench.out, { recursive: true });
    await Deno.writeTextFile(`${s.bench.out}/${s.name}.md`, text);
    console.log(text);
  } catch (e) {
    console.error(`sweep: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
