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
  command,
  fraction,
  integer,
  intList,
  nameList,
  optional,
  parseCommandLine,
  positiveNumber,
} from "./util/cli_kit.ts";
import { archsOption, cellOption } from "./util/shared_flags.ts";
import type { CellFile } from "./cell_file.ts";
import { ENGINE_CHOICES, type EngineChoice } from "./engines/registry.ts";
import { PROFILE_NAMES } from "./profiles.ts";
import type { LabelMode } from "./data/batches.ts";

/** The resolved command line of `bench`. */
export interface BenchArgs {
  /** Profiles to run, in order. @default ["original-labels", "original", "fixed"] */
  profiles: string[];
  /** Run only part `index` (1-based) of `count` of the run matrix; null = all. */
  shard: { index: number; count: number } | null;
  /** Resume the interrupted invocation with this id or results file; null = start anew. */
  resume: string | null;
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
  /** How many seeds per architecture (seed, seed+1, …). @default 1 */
  seeds: number;
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
  /** Peers to time side by side after the runs ("torch": the original loop and cuDNN). @default [] */
  peers: "torch"[];
  /** Train and test batches the original-loop peer times before extrapolating (0: all). @default 3 */
  peerBatches: number;
}

/** The profiles `deno task bench` runs without `--profile`: what the report needs. */
export const DEFAULT_PROFILES = ["original-labels", "original", "fixed"] as const;

function shardSpec(v: string): { index: number; count: number } {
  const m = v.trim().match(/^(\d+)\/(\d+)$/);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || !(count >= 1) || !(index >= 1) || index > count) {
    throw new InvalidArgumentError(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/3), got "${v}".`);
  }
  return { index, count };
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
        `comma-separated profiles to run (${PROFILE_NAMES.join(", ")})`,
      )
        .argParser(nameList("profile", PROFILE_NAMES))
        .default([...DEFAULT_PROFILES], DEFAULT_PROFILES.join(",")),
    )
    .addOption(archsOption())
    .addOption(cellOption())
    .addOption(
      new Option("--engine <name>", "training engine; auto picks the fastest that works here")
        .choices(ENGINE_CHOICES).default("auto"),
    )
    .addOption(optional("--epochs <n>", "training epochs", "the profile's", integer("--epochs", 0)))
    .addOption(
      optional("--labels <mode>", "label handling", "the profile's").choices([
        "correct",
        "original",
      ]),
    )
    .option("--seed <n>", "first random seed", integer("--seed", 0), 1)
    .option("--seeds <n>", "seeds per architecture (seed, seed+1, …)", integer("--seeds", 1), 1)
    .addOption(
      optional(
        "--limit-batches <n>",
        "use only the first N batches of each split",
        "all",
        integer("--limit-batches", 1),
      ),
    )
    .option("--out <dir>", "results folder", "results")
    .addOption(
      optional(
        "--threads <n>",
        "CPU threads for the native engine",
        "all cores",
        integer("--threads", 1),
      ),
    )
    .option("--device <n>", "CUDA device", integer("--device", 0), 0)
    .addOption(optional("--machine <name>", "machine label in the results", "hostname"))
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
        .argParser(intList("every batch size")).default([1, 64, 1000], "1,64,1000"),
    )
    .addOption(optional("--workers <n>", "inference workers", "cores", integer("--workers", 1)))
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
      fraction("--validation"),
      0,
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
  return { profiles: profile, archs, cells: [...cells], ...rest };
}
