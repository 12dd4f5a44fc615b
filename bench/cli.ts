/**
 * `deno task bench` flags: parsed and validated up front, before anything is computed or
 * written. A bad value is a `UsageError` whose one-line message lists the valid values
 * (`bench/main.ts` prints it and exits non-zero). The files of `--cell` are loaded before
 * parsing (`cell_file.ts`), so that `--arch` accepts their cells, and without `--arch` their
 * cells are the architectures.
 *
 * @module
 */
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Arch } from "../models/cells.ts";
import {
  choice,
  command,
  fraction,
  integer,
  intList,
  nameList,
  optional,
  parseCommandLine,
  positiveNumber,
  UsageError,
} from "./util/cli_kit.ts";
import { archsOption, cellOption } from "./util/shared_flags.ts";
import type { CellFile } from "./cell_file.ts";
import { ENGINE_CHOICES, type EngineChoice } from "./engines/registry.ts";
import { mostSeeds, PROFILE_NAMES } from "./profiles.ts";
import { expandLadder, LADDER_PROFILE, profileChoicesText, rungsThrough } from "./ladder.ts";
import { ID_PATTERN } from "./invocation_id.ts";
import type { LabelMode } from "./data/batches.ts";
import { VALIDATION_CARVES, type ValidationCarve } from "./data/validation.ts";

/** The resolved command line of `bench`. */
export interface BenchArgs {
  /**
   * Profiles to run, in order, each once (`--profile ladder` gives every rung of the ladder).
   * @default DEFAULT_PROFILES
   */
  profiles: string[];
  /** Run only part `index` (1-based) of `count` of the run matrix; null = all. */
  shard: { index: number; count: number } | null;
  /** Resume the interrupted invocation with this id or results file; null = start anew. */
  resume: string | null;
  /**
   * A stable invocation id (a name, or "auto": derived from the other flags): resumed when
   * its state exists in `out`, skipped when its results are complete; null = a fresh id.
   */
  id: string | null;
  /**
   * @default the three architectures in the original's order: rnn, lstm, gru; with `--cell`,
   * the cells of the files instead
   */
  archs: Arch[];
  /**
   * Cell files loaded with `--cell` (absolute paths, SHA-256, the cells each defines); `--resume`
   * loads them again. Absent in invocations saved before the flag existed. @default []
   */
  cells?: CellFile[];
  /** @default "auto" */
  engine: EngineChoice;
  /** Overrides the profile's epochs; null = the profile's. */
  epochs: number | null;
  /** Overrides the profile's label handling; null = the profile's. */
  labels: LabelMode | null;
  /** First random seed. @default 1 */
  seed: number;
  /**
   * How many seeds per architecture (seed, seed+1, …); null: each profile's own count
   * (`Profile.seeds`: 1, and 3 for `fixed`'s RNN). @default null
   */
  seeds: number | null;
  /** Train and evaluate on only the first N batches of each split; null = all. */
  limitBatches: number | null;
  /** @default "results" */
  out: string;
  /** CPU threads for the native engine; null = all cores. */
  threads: number | null;
  /** CUDA device index. @default 0 */
  device: number;
  /** Machine label in the results; null = hostname. */
  machine: string | null;
  /** Test accuracy for time-to-accuracy. @default 0.85 */
  targetAccuracy: number;
  /** ONNX export style, or "none" to skip export and inference. @default "scan" */
  onnx: "scan" | "native" | "none";
  /** Inference batch sizes. @default [1, 64, 1000] */
  batchSizes: number[];
  /** Inference workers; null = cores. */
  workers: number | null;
  /** Overrides the profile's learning rate for every architecture; null = the profile's. */
  lr: number | null;
  /**
   * Share of TRAIN (per class) carved off as a validation split, evaluated INSTEAD of test
   * (sweeps: test is never looked at); 0 = off, train on all of train and evaluate on test.
   * @default 0
   */
  validation: number;
  /**
   * How the validation split is carved (see {@linkcode ValidationCarve}): "random" reviews,
   * or whole "chunks" of consecutive reviews, which keep most of a movie's reviews on one
   * side as the test split does. Only with `validation` > 0. Absent in states saved before
   * the flag existed: "random".
   * @default "random"
   */
  validationCarve?: ValidationCarve;
  /**
   * The non-recurrent reference line to train beside the runs: "nbsvm", "none", or "auto"
   * (nbsvm when a profile run reads the imdb data, none for fixture-only runs such as smoke).
   * Absent in states saved before the flag existed: "auto".
   * @default "auto"
   */
  reference?: "auto" | "nbsvm" | "none";
  /**
   * Seconds of a run's wall time between its checkpoints: after an epoch, the run's state is
   * written only when this long has passed since its last checkpoint (or its start); 0: after
   * every epoch. Writing one costs about 0.4 s for the full-vocabulary models (77 MB, hashed
   * and synced), so short runs skip it; a killed run loses at most this much training.
   * Absent in states saved before the flag existed: 60.
   * @default 60
   */
  checkpointEvery?: number;
  /** Peers to time side by side after the runs ("torch": the original loop and cuDNN). @default [] */
  peers: "torch"[];
  /** Train and test batches the original-loop peer times before extrapolating (0: all). @default 3 */
  peerBatches: number;
}

/** The default of `--checkpoint-every`, in seconds. */
export const DEFAULT_CHECKPOINT_SECONDS = 60;

/**
 * The profiles `deno task bench` runs without `--profile`: what the report needs, the rungs of
 * the ladder from `original-labels` up to and including `fixed`.
 */
export const DEFAULT_PROFILES: readonly string[] = rungsThrough("fixed").map((r) => r.profile.name);

function shardSpec(v: string): { index: number; count: number } {
  const m = v.trim().match(/^(\d+)\/(\d+)$/);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || !(count >= 1) || !(index >= 1) || index > count) {
    throw new InvalidArgumentError(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/3), got "${v}".`);
  }
  return { index, count };
}

/** Seeds the RNG tells apart: it keeps 32 bits of a seed (models/rng.ts). */
export const MAX_SEED = 2 ** 32 - 1;
/** Limits that keep a typo from exhausting memory before anything is said. */
const MAX_SEEDS = 1000, MAX_THREADS = 256, MAX_WORKERS = 64, MAX_BATCH = 100_000;
/** The largest validation share: more would leave too little of train to train on. */
const MAX_VALIDATION = 0.5;

function nonEmpty(what: string): (v: string) => string {
  return (v) => {
    if (v.trim() === "") throw new InvalidArgumentError(`${what} must not be empty.`);
    return v;
  };
}

function machineLabel(v: string): string {
  // deno-lint-ignore no-control-regex
  if (v.trim() === "" || v.length > 100 || /[\x00-\x1f\x7f]/.test(v)) {
    throw new InvalidArgumentError(
      `--machine must be 1 to 100 printable characters, got ${JSON.stringify(v)}.`,
    );
  }
  return v;
}

function invocationName(v: string): string {
  if (v !== "auto" && !ID_PATTERN.test(v)) {
    throw new InvalidArgumentError(
      `--id must be "auto" or 1 to 80 letters, digits, "_" or "-" starting with a letter or ` +
        `digit, got "${v}".`,
    );
  }
  return v;
}

/** Builds the commander program (exported for `--help` tests). */
export function benchCommand(): Command {
  return command(
    "bench",
    "Train recurrent classifiers on IMDB, export them to ONNX, and measure accuracy, " +
      "epoch time and inference throughput. Writes one results file to --out.",
  )
    .addOption(
      new Option(
        "--profile <list>",
        `comma-separated profiles to run (${profileChoicesText(true)})`,
      )
        .argParser((v: string) =>
          expandLadder(nameList("profile", [...PROFILE_NAMES, LADDER_PROFILE])(v))
        )
        .default(
          [...DEFAULT_PROFILES],
          `${DEFAULT_PROFILES[0]} … ${DEFAULT_PROFILES.at(-1)}, every rung up to it`,
        ),
    )
    .addOption(archsOption())
    .addOption(cellOption())
    .addOption(
      new Option("--engine <name>", "training engine; auto picks the fastest that works here")
        .choices(ENGINE_CHOICES).default("auto"),
    )
    .addOption(
      optional(
        "--epochs <n>",
        "training epochs of every cell",
        "the profile's",
        integer("--epochs", 0, 1000),
      ),
    )
    .addOption(
      optional("--labels <mode>", "label handling", "the profile's").choices([
        "correct",
        "original",
      ]),
    )
    .option("--seed <n>", "first random seed", integer("--seed", 0, MAX_SEED), 1)
    .addOption(
      optional(
        "--seeds <n>",
        "seeds per architecture (seed, seed+1, …)",
        "the profile's: 1, and 3 for fixed's RNN",
        integer("--seeds", 1, MAX_SEEDS),
      ),
    )
    .addOption(
      optional(
        "--limit-batches <n>",
        "use only the first N batches of each split",
        "all",
        integer("--limit-batches", 1),
      ),
    )
    .option("--out <dir>", "results folder", nonEmpty("--out"), "results")
    .addOption(
      optional(
        "--threads <n>",
        "CPU threads for the native engine",
        "all cores",
        integer("--threads", 1, MAX_THREADS),
      ),
    )
    .option("--device <n>", "CUDA device", integer("--device", 0, 63), 0)
    .addOption(
      optional("--machine <name>", "machine label in the results", "hostname", machineLabel),
    )
    .option(
      "--target-accuracy <x>",
      "test accuracy for time-to-accuracy",
      positiveNumber("--target-accuracy", 1),
      0.85,
    )
    .addOption(
      new Option("--onnx <style>", "ONNX export style; none skips export and inference")
        .choices(["scan", "native", "none"]).default("scan"),
    )
    .addOption(
      new Option("--batch-sizes <list>", "inference batch sizes")
        .argParser(intList("every batch size", { max: MAX_BATCH })).default(
          [1, 64, 1000],
          "1,64,1000",
        ),
    )
    .addOption(
      optional("--workers <n>", "inference workers", "cores", integer("--workers", 1, MAX_WORKERS)),
    )
    .addOption(
      optional(
        "--lr <x>",
        "learning rate for every architecture",
        "the profile's",
        positiveNumber("--lr"),
      ),
    )
    .option(
      "--validation <fraction>",
      "carve this share of train (per class) as a validation split and evaluate on it " +
        "instead of test (0: off)",
      fraction("--validation", MAX_VALIDATION),
      0,
    )
    .option(
      "--validation-carve <carve>",
      "with --validation: random (each review on its own) or chunks (runs of " +
        "consecutive reviews, so that a movie's reviews stay on one side, as in the test split)",
      choice("validation carve", VALIDATION_CARVES),
      "random",
    )
    .addOption(
      new Option(
        "--reference <model>",
        "non-recurrent reference line trained on the same split: nbsvm (unigram+bigram " +
          "NB-weighted logistic regression) or none; auto: nbsvm when a profile reads the imdb data",
      ).choices(["auto", "nbsvm", "none"]).default("auto"),
    )
    .option(
      "--checkpoint-every <seconds>",
      "write a run's checkpoint after an epoch only when this many seconds have passed since " +
        "its last one (0: after every epoch); a killed run loses at most this much training",
      integer("--checkpoint-every", 0, 86400),
      DEFAULT_CHECKPOINT_SECONDS,
    )
    .addOption(
      new Option(
        "--peers <list>",
        "also time PyTorch peers on the same data: torch (the original's per-timestep loop " +
          "and cuDNN; needs python3 with torch and CUDA)",
      ).argParser(nameList("peer", ["torch"], { allowEmpty: true })).default([], "none"),
    )
    .option(
      "--peer-batches <n>",
      "batches the original-loop peer times before extrapolating to the epoch (0: all)",
      integer("--peer-batches", 0),
      3,
    )
    .addOption(
      optional("--shard <i/n>", "run only the i-th of n parts of the run matrix", "all", shardSpec),
    )
    .addOption(
      optional(
        "--resume <id>",
        "continue an interrupted invocation (its id, or its results file); other flags are " +
          "taken from it",
        "start anew",
      ),
    )
    .addOption(
      optional(
        "--id <name>",
        "give the invocation a stable id (auto: derived from the other flags; a shard appends " +
          "-shard{i}of{n}): run again, it resumes its saved state in --out, or does nothing if " +
          "its results are complete; for cluster tasks that may be requeued or repeated",
        "a new id",
        invocationName,
      ).conflicts("resume"),
    );
}

/**
 * Parses `bench` arguments.
 * @param argv arguments after the script name
 * @param cells the files of `--cell`, loaded before parsing (`loadCellFiles` of
 *   `cell_file.ts` on `cellFlagPaths(argv)`), so that `--arch` accepts their cells
 * @throws UsageError with a one-line message on a bad flag
 * @throws Error when `--cell` names a file not among `cells` (it was not loaded first)
 */
export function parseBenchArgs(argv: string[], cells: readonly CellFile[] = []): BenchArgs {
  const cmd = parseCommandLine(benchCommand(), argv);
  const { profile, arch, cell, ...rest } = cmd.opts<
    Omit<BenchArgs, "profiles" | "archs" | "cells"> & {
      profile: string[];
      arch: Arch[];
      cell: string[];
    }
  >();
  const unloaded = cell.filter((p) => !cells.some((c) => c.path === resolve(p)));
  if (unloaded.length > 0) {
    throw new Error(`parseBenchArgs: load the --cell files first (${unloaded.join(", ")})`);
  }
  const archs = cells.length > 0 && cmd.getOptionValueSource("arch") === "default"
    ? [...new Set(cells.flatMap((c) => c.names))]
    : arch;
  if (rest.validationCarve !== "random" && rest.validation === 0) {
    throw new UsageError(
      `--validation-carve ${rest.validationCarve} needs a validation split: add --validation F ` +
        `(0 < F ≤ ${MAX_VALIDATION}), or drop --validation-carve.`,
    );
  }
  const seeds = rest.seeds ?? mostSeeds(profile, archs);
  if (rest.seed + seeds - 1 > MAX_SEED) {
    const flag = rest.seeds === null ? `(a profile's ${seeds} seeds)` : `--seeds ${seeds}`;
    throw new UsageError(
      `--seed ${rest.seed} ${flag} reaches seed ${rest.seed + seeds - 1}, ` +
        `past ${MAX_SEED}: the random generator keeps 32 bits of a seed, so larger seeds would ` +
        `repeat smaller ones; lower --seed or --seeds.`,
    );
  }
  return { profiles: profile, archs, cells: [...cells], ...rest };
}
