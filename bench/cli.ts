/**
 * `deno task bench` flags: parsed and validated up front, before anything is computed or
 * written. Every bad value exits non-zero with a message that lists the valid values.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { type Arch, ARCHS, cellNames } from "../models/cells.ts";
import { ENGINE_CHOICES, type EngineChoice } from "./engines/registry.ts";
import { PROFILE_NAMES } from "./profiles.ts";
import { ID_PATTERN } from "./invocation_id.ts";
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
   * A stable invocation id (a name, or "auto": derived from the other flags): resumed when
   * its state exists in `out`, skipped when its results are complete; null = a fresh id.
   */
  id: string | null;
  /** @default the three architectures in the original's order: rnn, lstm, gru */
  archs: Arch[];
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

function int(min: number, what: string) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) {
      throw new InvalidArgumentError(`${what} must be an integer ≥ ${min}, got "${v}".`);
    }
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${what} must be an integer ≥ ${min}, got "${v}".`);
    }
    return n;
  };
}

function positiveNumber(what: string, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n <= 0 || n > max) {
      throw new InvalidArgumentError(
        `${what} must be a number in (0, ${max === Infinity ? "∞" : max}], got "${v}".`,
      );
    }
    return n;
  };
}

function fraction(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n >= 1) {
      throw new InvalidArgumentError(`${what} must be a number in [0, 1), got "${v}".`);
    }
    return n;
  };
}

function archList(v: string): Arch[] {
  const known = cellNames();
  const parts = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) {
    throw new InvalidArgumentError(`Valid architectures are ${known.join(", ")}.`);
  }
  const archs = parts.map((p) => {
    const arch = known.find((a) => a === p) ??
      known.find((a) => a.toLowerCase() === p.toLowerCase());
    if (arch === undefined) {
      throw new InvalidArgumentError(
        `Unknown architecture "${p}": valid values are ${known.join(", ")}.`,
      );
    }
    return arch;
  });
  return [...new Set(archs)];
}

function profileList(v: string): string[] {
  const parts = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) {
    throw new InvalidArgumentError(`Valid profiles are ${PROFILE_NAMES.join(", ")}.`);
  }
  for (const p of parts) {
    if (!(PROFILE_NAMES as string[]).includes(p)) {
      throw new InvalidArgumentError(
        `Unknown profile "${p}": valid values are ${PROFILE_NAMES.join(", ")}.`,
      );
    }
  }
  return [...new Set(parts)];
}

function shardSpec(v: string): { index: number; count: number } {
  const m = v.trim().match(/^(\d+)\/(\d+)$/);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || !(count >= 1) || !(index >= 1) || index > count) {
    throw new InvalidArgumentError(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/3), got "${v}".`);
  }
  return { index, count };
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

function peerList(v: string): "torch"[] {
  const parts = v.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  for (const p of parts) {
    if (p !== "torch") {
      throw new InvalidArgumentError(`Unknown peer "${p}": the valid value is torch.`);
    }
  }
  return [...new Set(parts)] as "torch"[];
}

function intList(v: string): number[] {
  const parse = int(1, "every batch size");
  return v.split(",").map((s) => parse(s.trim()));
}

/** Builds the commander program (exported for `--help` tests). */
export function benchCommand(): Command {
  return new Command("bench")
    .description(
      "Train recurrent classifiers on IMDB, export them to ONNX, and measure accuracy, " +
        "epoch time and inference throughput. Writes one results file to --out.",
    )
    .addOption(
      new Option(
        "--profile <list>",
        `comma-separated profiles to run (${PROFILE_NAMES.join(", ")})`,
      ).argParser(profileList).default([...DEFAULT_PROFILES], DEFAULT_PROFILES.join(",")),
    )
    .addOption(
      new Option("--arch <list>", `comma-separated architectures (${cellNames().join(", ")})`)
        .argParser(archList).default([...ARCHS], ARCHS.join(",")),
    )
    .addOption(
      new Option("--engine <name>", "training engine; auto picks the fastest that works here")
        .choices(ENGINE_CHOICES).default("auto"),
    )
    .addOption(
      new Option("--epochs <n>", "training epochs (default: the profile's)").argParser(
        int(0, "--epochs"),
      ),
    )
    .addOption(
      new Option("--labels <mode>", "label handling (default: the profile's)").choices([
        "correct",
        "original",
      ]),
    )
    .addOption(new Option("--seed <n>", "first random seed").argParser(int(0, "--seed")).default(1))
    .addOption(
      new Option("--seeds <n>", "seeds per architecture (seed, seed+1, …)").argParser(
        int(1, "--seeds"),
      ).default(1),
    )
    .addOption(
      new Option("--limit-batches <n>", "use only the first N batches of each split")
        .argParser(int(1, "--limit-batches")),
    )
    .addOption(new Option("--out <dir>", "results folder").default("results"))
    .addOption(
      new Option("--threads <n>", "CPU threads for the native engine (default: all cores)")
        .argParser(int(1, "--threads")),
    )
    .addOption(new Option("--device <n>", "CUDA device").argParser(int(0, "--device")).default(0))
    .addOption(new Option("--machine <name>", "machine label in the results (default: hostname)"))
    .addOption(
      new Option("--target-accuracy <x>", "test accuracy for time-to-accuracy").argParser(
        positiveNumber("--target-accuracy", 1),
      ).default(0.85),
    )
    .addOption(
      new Option("--onnx <style>", "ONNX export style; none skips export and inference")
        .choices(["scan", "native", "none"]).default("scan"),
    )
    .addOption(
      new Option("--batch-sizes <list>", "inference batch sizes").argParser(intList).default(
        [1, 64, 1000],
        "1,64,1000",
      ),
    )
    .addOption(
      new Option("--workers <n>", "inference workers (default: cores)").argParser(
        int(1, "--workers"),
      ),
    )
    .addOption(
      new Option("--lr <x>", "learning rate for every architecture (default: the profile's)")
        .argParser(positiveNumber("--lr")),
    )
    .addOption(
      new Option(
        "--validation <fraction>",
        "carve this share of train (per class) as a validation split and evaluate on it " +
          "instead of test (0: off)",
      ).argParser(fraction("--validation")).default(0),
    )
    .addOption(
      new Option(
        "--peers <list>",
        "also time PyTorch peers on the same data: torch (the original's per-timestep loop " +
          "and cuDNN; needs python3 with torch and CUDA)",
      ).argParser(peerList).default([], "none"),
    )
    .addOption(
      new Option(
        "--peer-batches <n>",
        "batches the original-loop peer times before extrapolating to the epoch (0: all)",
      ).argParser(int(0, "--peer-batches")).default(3),
    )
    .addOption(
      new Option("--shard <i/n>", "run only the i-th of n parts of the run matrix").argParser(
        shardSpec,
      ),
    )
    .addOption(
      new Option(
        "--resume <id>",
        "continue an interrupted invocation (its id, or its results file); other flags are taken from it",
      ),
    )
    .addOption(
      new Option(
        "--id <name>",
        "give the invocation a stable id (auto: derived from the other flags; a shard appends " +
          "-shard{i}of{n}): run again, it resumes its saved state in --out, or does nothing if " +
          "its results are complete; for cluster tasks that may be requeued or repeated",
      ).argParser(invocationName).conflicts("resume"),
    )
    .showHelpAfterError("(run with --help to see every flag and its default)")
    .allowExcessArguments(false);
}

/**
 * Parses `bench` arguments. On a bad flag, commander prints the error and exits with 1.
 * @param argv arguments after the script name
 */
export function parseBenchArgs(argv: string[]): BenchArgs {
  const cmd = benchCommand();
  cmd.parse(argv, { from: "user" });
  const o = cmd.opts();
  return {
    profiles: o.profile,
    shard: o.shard ?? null,
    resume: o.resume ?? null,
    id: o.id ?? null,
    archs: o.arch,
    engine: o.engine,
    epochs: o.epochs ?? null,
    labels: o.labels ?? null,
    seed: o.seed,
    seeds: o.seeds,
    limitBatches: o.limitBatches ?? null,
    out: o.out,
    threads: o.threads ?? null,
    device: o.device,
    machine: o.machine ?? null,
    targetAccuracy: o.targetAccuracy,
    onnx: o.onnx,
    batchSizes: o.batchSizes,
    workers: o.workers ?? null,
    lr: o.lr ?? null,
    validation: o.validation,
    peers: o.peers,
    peerBatches: o.peerBatches,
  };
}
