/**
 * Profiles: typed, named configurations of a whole benchmark run. `smoke` is written out;
 * every other profile is a rung of the ladder of causes (`ladder.ts`): `original` is written
 * out, `original-labels` is it with the report's label bug, and each further rung applies the
 * next switch of {@linkcode LADDER_SWITCHES} (labels, then {@linkcode FIXED_SWITCHES} up to
 * `fixed`, then {@linkcode BEST_SWITCHES} up to `best`) to the rung before it. Adding a switch
 * to either list adds a rung; {@linkcode PROFILES} holds them all by name. "seed" in this
 * project only ever means a random seed.
 *
 * @module
 */
import { type EncodedDataset, loadDataset } from "./data/dataset.ts";
import { cacheDir } from "./util/cache_dir.ts";
import type { Arch } from "../models/cells.ts";
import type { Readout } from "../models/classifier.ts";
import type { LabelMode } from "./data/batches.ts";
import type { KeepTokens, Padding } from "./data/encode.ts";
import type { RunConfig } from "./results/types.ts";

/**
 * How the learning rate moves over training, per optimizer step:
 * - `"constant"`: the base rate throughout (the original);
 * - `"cosine"`: `base · ½(1 + cos(π s / S))` for step s of S, from the base rate down to 0;
 * - `"tail-decay"`: the base rate until the last {@linkcode TAIL_DECAY_SHARE} (20 %) of the
 *   steps, then a straight line down to 0 over them (the "stable, then decay" schedule: the
 *   noisy iterate of a constant rate settles at the end).
 */
export type LrSchedule = "constant" | "cosine" | "tail-decay";

/** The schedules, for validation and `--help`. */
export const LR_SCHEDULES: readonly LrSchedule[] = ["constant", "cosine", "tail-decay"];

/** The share of a run's optimizer steps over which `"tail-decay"` takes the rate to 0. */
export const TAIL_DECAY_SHARE = 0.2;

/**
 * The learning rate of optimizer step `step` (0-based) of `totalSteps`.
 * @param schedule the schedule
 * @param base the profile's learning rate
 * @param step the step about to be taken, 0 ≤ step < totalSteps
 * @param totalSteps steps in the whole run (epochs × batches per epoch)
 * @returns the learning rate for that step
 * @example
 * ```ts
 * scheduledLearningRate("cosine", 1e-2, 50, 100); // 5e-3
 * ```
 */
export function scheduledLearningRate(
  schedule: LrSchedule,
  base: number,
  step: number,
  totalSteps: number,
): number {
  if (schedule === "constant" || totalSteps <= 0) return base;
  const s = Math.min(Math.max(step, 0), totalSteps);
  if (schedule === "cosine") return base * 0.5 * (1 + Math.cos((Math.PI * s) / totalSteps));
  const tail = TAIL_DECAY_SHARE * totalSteps, start = totalSteps - tail;
  return s <= start ? base : base * (totalSteps - s) / tail;
}

/**
 * Initial values of the parameters:
 * - `"original"`: the report's (see DESIGN.md §1), every bias 0;
 * - `"remember"`: the same, except the gate biases that decide how much of the state a
 *   step keeps, set as each cell's `gateBiasInit` says (in `models/cells/`: the LSTM's forget
 *   gate `b_f = 1`, the GRU's update gate `b_z = −1`, so that each step initially keeps
 *   σ(1) ≈ 73 % of its state instead of 50 %); a cell without one (the RNN) is unchanged.
 */
export type InitScheme = "original" | "remember";

/** The initialisation schemes, for validation. */
export const INIT_SCHEMES: readonly InitScheme[] = ["original", "remember"];

/**
 * A setting per architecture: `default` for every cell not named, and the cells treated
 * differently by name, e.g. `{ default: 1e-2, rnn: 3e-3 }`. (No cell may be named
 * "default": the registry refuses it.)
 */
export type PerCell<T> = Readonly<Record<string, T>>;

/**
 * A per-cell setting's value for one architecture: its own entry, else `default`.
 * @param values the setting
 * @param arch the architecture
 * @param what the setting's name, for the error
 * @throws Error when neither is given
 */
export function forCell<T>(values: PerCell<T>, arch: Arch, what: string): T {
  const v = values[arch] ?? values["default"];
  if (v === undefined) {
    throw new Error(
      `No ${what} for architecture "${arch}": name it, or give a "default" for every cell`,
    );
  }
  return v;
}

/** A profile's learning rate for an architecture (see {@linkcode PerCell}). */
export function learningRateOf(p: Profile, arch: Arch): number {
  return forCell(p.learningRate, arch, `learning rate in profile "${p.name}"`);
}

/** What a profile's head reads of an architecture's top layer (see {@linkcode PerCell}). */
export function cellReadoutOf(p: Profile, arch: Arch): Readout {
  return forCell(p.readout, arch, `readout in profile "${p.name}"`);
}

/**
 * How many seeds a run of the profile trains for an architecture when the command line does
 * not say (`--seeds`): see {@linkcode Profile.seeds}.
 */
export function seedsOf(p: Profile, arch: Arch): number {
  return forCell(p.seeds, arch, `seed count in profile "${p.name}"`);
}

/**
 * The most seeds of one architecture that the named profiles run when `--seeds` is not given.
 * @throws Error naming an unknown profile
 */
export function mostSeeds(profiles: readonly string[], archs: readonly Arch[]): number {
  return Math.max(...profiles.flatMap((name) => archs.map((a) => seedsOf(getProfile(name), a))));
}

/** How many epochs a profile trains an architecture (see {@linkcode PerCell}). */
export function epochsOf(p: Profile, arch: Arch): number {
  return forCell(p.epochs, arch, `epochs in profile "${p.name}"`);
}

/** A profile's word-dropout probability for an architecture (see {@linkcode PerCell}). */
export function wordDropoutOf(p: Profile, arch: Arch): number {
  return forCell(p.wordDropout, arch, `word dropout in profile "${p.name}"`);
}

/**
 * The config a run of `arch` under profile `p` records (`Run.config`): the profile's fields as
 * that architecture gets them, and what the invocation adds.
 * @param p the profile
 * @param arch the architecture
 * @param run what comes from the invocation and the data, not the profile
 */
export function runConfigOf(
  p: Profile,
  arch: Arch,
  run: Pick<RunConfig, "limitBatches" | "threads" | "dataSource">,
): RunConfig {
  const readout = cellReadoutOf(p, arch);
  return {
    learningRate: learningRateOf(p, arch),
    epochs: epochsOf(p, arch),
    batchSize: p.batchSize,
    hiddenSize: p.hiddenSize,
    layers: p.layers,
    embedDim: p.embedDim,
    maxLen: p.maxLen,
    padding: p.padding,
    keepTokens: p.keepTokens,
    labels: p.labels,
    vocabMaxSize: p.vocabMaxSize,
    limitBatches: run.limitBatches,
    threads: run.threads,
    gradClip: p.gradClip,
    lrSchedule: p.lrSchedule === "constant" ? null : p.lrSchedule,
    init: p.init,
    wordDropout: wordDropoutOf(p, arch),
    ...(readout === "last" ? {} : { readout }),
    dataSource: run.dataSource,
  };
}

/** Everything a run needs besides the architecture, the engine and the seed. */
export interface Profile {
  /** The profile's name, as given to `--profile`. */
  readonly name: string;
  /** One line for `--help` and the report. */
  readonly description: string;
  /** Where the reviews come from: the full IMDB package or the small fixture. */
  readonly dataSource: "imdb" | "fixture";
  /** Sequence length T: longer reviews are truncated, shorter ones padded with id 0. */
  readonly maxLen: number;
  /** Where padding goes: "end" as the original, or "start". */
  readonly padding: Padding;
  /** Which tokens of a review longer than maxLen are kept: "first" as the original, or "last". */
  readonly keepTokens: KeepTokens;
  /** Keep only this many most frequent tokens (plus `<unk>`); null = all, as the original. */
  readonly vocabMaxSize: number | null;
  /** Embedding size E. */
  readonly embedDim: number;
  /** Hidden size H. */
  readonly hiddenSize: number;
  /** Stacked layers L. */
  readonly layers: number;
  /**
   * What the head reads of the top layer's h: `"last"`, its value after the last step (the
   * original), or `"max"`, its maximum over the steps (`Readout` in models/classifier.ts); per
   * architecture, like the learning rate.
   */
  readonly readout: PerCell<Readout>;
  /** Sequences per batch. */
  readonly batchSize: number;
  /**
   * Training epochs (epoch 0, the evaluation before training, comes on top), per architecture
   * like the learning rate.
   */
  readonly epochs: PerCell<number>;
  /** Adam learning rate: a default, and the architectures that differ from it. */
  readonly learningRate: PerCell<number>;
  /** Label handling: "correct", or "original" (the report's bug: every label 0). */
  readonly labels: LabelMode;
  /** Global gradient-norm clipping; null = none. */
  readonly gradClip: number | null;
  /** Learning-rate schedule over the run's optimizer steps. */
  readonly lrSchedule: LrSchedule;
  /** How the parameters start. */
  readonly init: InitScheme;
  /**
   * Word dropout: the probability that each token of a TRAINING batch is replaced by
   * `<unk>` for that step (a regulariser that needs no op in the cell IR, so every engine
   * runs it; evaluation never drops words), per architecture like the learning rate.
   * 0 = off, as in the original.
   */
  readonly wordDropout: PerCell<number>;
  /**
   * Approximate seconds per timed repeat of the ONNX inference benchmark; 0: not timed (the
   * model is still exported and checked for parity). The ladder's rungs between named profiles
   * are not timed: they share their shapes with the named profiles around them, and what they
   * measure is accuracy; nor is `original-labels` (`original`'s shapes).
   */
  readonly inferSeconds: number;
  /**
   * How many seeds (seed, seed + 1, …) `bench` trains per architecture unless `--seeds` says,
   * per architecture like the learning rate. 1 everywhere but `fixed`'s RNN, which takes 3: its
   * claim is a median over 3 seeds, and the RNN's seeds spread the most there (last-epoch
   * validation accuracy 0.7906–0.8118 in sweep U, test 0.7960–0.8231, against at most 0.010
   * and 0.0085 for the gated cells), so one seed of it does not say where it lands. Not a
   * switch of the ladder: it changes how many runs there are, not what one run computes.
   */
  readonly seeds: PerCell<number>;
}

const original: Profile = {
  name: "original",
  description: "The report's exact setup (embed 64, 25 × 8, maxLen 200, batch 1000, 5 epochs, " +
    "LR RNN 1e-7 / LSTM 1e-10 / GRU 1e-9), with correct labels",
  dataSource: "imdb",
  maxLen: 200,
  padding: "end",
  keepTokens: "first",
  vocabMaxSize: null,
  embedDim: 64,
  hiddenSize: 8,
  layers: 25,
  readout: { default: "last" },
  batchSize: 1000,
  epochs: { default: 5 },
  learningRate: { default: 1e-7, lstm: 1e-10, gru: 1e-9 },
  labels: "correct",
  gradClip: null,
  lrSchedule: "constant",
  init: "original",
  wordDropout: { default: 0 },
  inferSeconds: 0.5,
  seeds: { default: 1 },
};

/**
 * A profile field a switch may change: any field but the name, the description and the seed
 * count (how many runs, not what a run computes).
 */
export type SwitchField = Exclude<keyof Profile, "name" | "description" | "seeds">;

/**
 * One named change of one profile field: a rung of the ladder of causes (`ladder.ts`) is the
 * previous rung's profile with one switch applied.
 */
export type ProfileSwitch = {
  [K in SwitchField]: {
    /** The field it changes. */
    readonly field: K;
    /** The field's new value. */
    readonly value: Profile[K];
    /** A short name for the change, used in the rung's profile name (`ladder-02-lr`). */
    readonly key: string;
    /** One line: what the change is and why it helps, read as "<previous rung> with <why>". */
    readonly why: string;
  };
}[SwitchField];

/** Rung 1 of the ladder: `original-labels` → `original`. */
export const LABELS_SWITCH: ProfileSwitch = {
  field: "labels",
  value: "correct",
  key: "labels",
  why: "correct labels (the report's label mapping turns every label into 0)",
};

/**
 * The switches that turn `original` into `fixed`, IN LADDER ORDER: each one a named,
 * documented change of one field, and these fields are the ONLY ones in which the two
 * profiles differ (a test checks it). Everything else — embedding 64, hidden 8, maxLen 200,
 * batch 1000, Adam, a constant learning rate, the full vocabulary — stays the
 * report's. The sweeps behind each switch are in bench/notes/profiles.md
 * (validation split carved from train, seed 1). Reordering this list reorders the ladder's
 * rungs; appending a switch adds a rung before `fixed` (`fixed` is always the rung after the
 * last of them).
 */
export const FIXED_SWITCHES: readonly ProfileSwitch[] = [
  /**
   * A sane Adam learning rate per architecture instead of the report's 1e-7…1e-10, chosen by
   * a 5-epoch sweep over 3e-3, 1e-2, 3e-2 on a validation split carved from TRAIN (highest
   * last-epoch validation accuracy, ties broken by the lower validation loss; see
   * bench/notes/profiles.md): RNN 3e-3 (0.509), GRU 3e-3 (0.650), LSTM 1e-2 (all three at
   * chance, 0.500: at the original initialisation the 25-layer LSTM does not learn). Chosen
   * at 25 layers and kept, not re-tuned, at 5.
   */
  {
    field: "learningRate",
    value: { default: 3e-3, lstm: 1e-2 },
    key: "lr",
    why: "a per-architecture Adam learning rate chosen on validation (the report's rates " +
      "barely move the weights)",
  },
  /**
   * Pad at the START, so the last timestep — the only state the head reads — comes right
   * after the review's last token instead of after a run of padding.
   */
  {
    field: "padding",
    value: "start",
    key: "padding",
    why: "padding at the start, so the last step the head reads follows the review's last token",
  },
  /**
   * 5 stacked layers instead of 25: the smallest change of shape found that lets the stack
   * learn. No change measured at 25 × 8 (gate-bias init, 10 epochs; LRs 3e-3…3e-2 earlier)
   * took any architecture to 0.80 on validation. Sweep `fixed-layers` (5 epochs): 5 layers
   * was the only depth of 2, 5, 10 that beat 25 for every architecture (RNN 0.714, LSTM
   * 0.739, GRU 0.770 vs 0.509 / 0.500 / 0.650); at 10 the LSTM fell back to chance.
   */
  {
    field: "layers",
    value: 5,
    key: "layers",
    why: "fewer stacked layers (the 25-layer, hidden-8 stack washes the input out)",
  },
  /**
   * Each cell's gate-bias initialisation (LSTM forget gate 1, GRU update gate −1; the RNN
   * has none and is unchanged). Sweep `fixed-layers5` at 5 layers: LSTM 0.739 → 0.806, GRU
   * 0.770 → 0.798 on validation. (At 25 layers on its own it changed nothing: sweep
   * `fixed-remember`.)
   */
  {
    field: "init",
    value: "remember",
    key: "init",
    why: "the gate-bias initialisation (the LSTM's and GRU's gates start by keeping most of " +
      "the state)",
  },
  /**
   * Keep a long review's LAST 200 tokens instead of its first: with start padding the head
   * reads the state right after the review's closing words, where reviews state their
   * verdict. Sweep F (validation, 5 epochs, from the rung before): RNN 0.714 → 0.783, LSTM
   * 0.806 → 0.823, GRU 0.798 → 0.821; sweep J, median over 3 seeds: RNN 0.776, LSTM 0.823,
   * GRU 0.804. Ordered before `epochs`: it is the larger gain on its own, and costs nothing.
   */
  {
    field: "keepTokens",
    value: "last",
    key: "keep-last",
    why: "a long review's last tokens kept instead of its first (reviews end on their verdict)",
  },
  /**
   * 10 epochs instead of 5: the 5-layer stacks are still learning at epoch 5 (the RNN most).
   * Validation medians over 3 seeds, from the rung before (sweeps J and N): 5 epochs RNN 0.776,
   * LSTM 0.823, GRU 0.804; 8 epochs 0.797 / 0.822 / 0.826; 10 epochs 0.805 / 0.825 / 0.826.
   * Chosen by the smallest per-architecture median (the goal is that every architecture
   * learns). Nothing measured before it lifted the RNN further (sweeps E–N in
   * bench/notes/profiles.md: depth, learning rate, clipping, a cosine schedule, maxLen, batch,
   * width, word dropout, an orthogonal recurrent init); after it, sweeps S and T found no better
   * RNN learning rate and no gain from 11–15 epochs (+0.003 at most), and clipping (below) a
   * small one.
   */
  {
    field: "epochs",
    value: { default: 10 },
    key: "epochs",
    why: "10 training epochs instead of 5 (the 5-layer stacks are still learning at epoch 5)",
  },
  /**
   * Word dropout 0.25 on training batches for the gated cells, none for the RNN: at 10 epochs
   * the LSTM memorises train (train accuracy 0.99, validation loss rising) and word dropout
   * regularises its 100k × 64 embedding. Sweep Q (validation, 3 seeds, from the rung before),
   * last-epoch medians: 0.25 gives LSTM 0.8542 and GRU 0.8506 against 0.8246 and 0.8264 without
   * (0.1: 0.8424, 0.8446), and makes the RNN unstable (0.6736 with 0.25, 0.7774 with 0.1,
   * against 0.8048): so per architecture, like the learning rate. Ordered after `epochs`: at 5
   * epochs it buys the gated cells little (sweep Q's epoch 5: LSTM 0.8244, GRU 0.8078).
   */
  {
    field: "wordDropout",
    value: { default: 0.25, rnn: 0 },
    key: "dropout",
    why: "word dropout on training batches for the gated cells (the LSTM memorises train by " +
      "epoch 10)",
  },
  /**
   * Gradient-norm clipping at 5 (Adam is nearly invariant to the gradient's scale; clipping
   * only tames the rare steep step). Sweeps R and U (validation, 3 seeds, from the rung before),
   * last-epoch medians: RNN 0.8112 against 0.8048 without (clip 1: 0.7936), LSTM 0.8556 against
   * 0.8542, GRU 0.8534 against 0.8506 — every architecture's median rises, the RNN's (the
   * smallest) most, and it costs no time. Inherited by `best`, which had chosen 5 as a safety
   * net.
   */
  {
    field: "gradClip",
    value: 5,
    key: "clip",
    why: "gradient-norm clipping at 5 (tames the vanilla RNN's rare steep steps)",
  },
];

/**
 * The switches that turn `fixed` into `best`, IN LADDER ORDER. Each VALUE was chosen on
 * validation (the sweeps named in each comment), and so was the ORDER: sweep CA
 * (bench/notes/profiles.md) trained `fixed` with each switch alone on the chunks carve of
 * validation, 3 seeds, and the ladder takes them by the mean over the three architectures of
 * the gain alone (last-epoch medians against `fixed`'s), largest first, but keeps every rung's
 * training no costlier than `best`'s: hidden 64 (a gain of +0.006 alone, second) waits until two
 * layers and 5 epochs make it affordable, so it comes last (at 5 layers and 10 epochs it trains
 * 2.5 × longer than `best`; `bench/ladder_test.ts` recomputes the order from sweep CA's
 * numbers). Each field appears once, so any order ends at `best`. `best` is always the rung
 * after the last of them. It inherits from `fixed` keeping the last tokens (sweep 9 chose it for
 * `best` first: +0.008 GRU, +0.014 LSTM on validation), the gated cells' word dropout (sweeps
 * 5–6 chose 0.25 for `best`) and clipping at 5 (a safety net in `best`, not swept there).
 * Two fields `best` shares with `fixed` had notes of their own: `embedDim` 64 is not swept
 * (E = 128 doubles the step time, measured: 0.205 vs 0.111 s per batch), and
 * `init: "remember"` came out of sweeps 2–3 (+0.04 LSTM and +0.08 GRU on its own; kept in the
 * best combination).
 */
export const BEST_SWITCHES: readonly ProfileSwitch[] = [
  /**
   * A vocabulary of the 5,000 most frequent tokens instead of all of them, chosen on the chunks
   * carve of validation (`--validation-carve chunks`: its movies are not in training, as the
   * test split's are not; bench/notes/data.md). Sweeps AP, AS, BA, BB and BC (3 seeds, at
   * `best`'s shape), last-epoch medians, 20,000 / 10,000 / 5,000 / 2,500 tokens: GRU 0.8752 /
   * 0.8836 / 0.8940 / 0.8922, LSTM 0.8732 / 0.8814 / 0.8848 / 0.8848 (the GRU breaks the
   * LSTM's tie). The tokens ranked 5,000 to 20,000 occur 10 to 82 times each in train, ordinary
   * words (energetic, deranged) and names (tara, cassidy) alike: few enough that one movie's
   * reviews (at most 30) can hold many uses of one, which the random carve rewards and unseen
   * movies do not. Alone on `fixed` (sweep CA): RNN +0.012, LSTM +0.019, GRU +0.014.
   */
  {
    field: "vocabMaxSize",
    value: 5000,
    key: "vocab",
    why: "a vocabulary of the 5,000 most frequent tokens (a smaller embedding, fewer of one " +
      "movie's own words to learn)",
  },
  /**
   * Sweep 3 (at hidden 16): batch 50 lost to 100 with LR 3e-2 and the gate-bias init. Alone on
   * `fixed` (sweep CA): RNN +0.012, LSTM +0.000, GRU +0.003.
   */
  {
    field: "batchSize",
    value: 100,
    key: "batch",
    why: "smaller batches (more Adam steps per epoch)",
  },
  /**
   * Sweep 1 (at hidden 16): 400 beat 200 for every architecture and both learning rates. Alone
   * on `fixed` (sweep CA): RNN +0.008, LSTM −0.000, GRU +0.004.
   */
  {
    field: "maxLen",
    value: 400,
    key: "maxlen",
    why: "longer reviews (a larger maxLen)",
  },
  /**
   * Word dropout for the RNN too: `fixed` gives it to the gated cells only (sweep Q, random
   * carve: at 5 × 8 it made the RNN unstable), and `best`'s RNN was tuned with it (sweeps 5–6:
   * with 0.25 the RNN does best at 3e-3; for GRU and LSTM 0.25 beat 0 (+0.005, +0.032) and 0.4
   * on validation). Alone on `fixed` (sweep CA, chunks carve): RNN +0.005.
   */
  {
    field: "wordDropout",
    value: { default: 0.25 },
    key: "rnn-dropout",
    why: "word dropout for the RNN too (best's RNN was tuned with it)",
  },
  /**
   * Sweeps 4–6 at hidden 64: 1e-2 beat 3e-3 for GRU and LSTM, and 3e-2 for LSTM (at hidden
   * 16, sweeps 1–3 had preferred 3e-2); with word dropout 0.25 the RNN does best at 3e-3. It
   * changes only the GRU's rate from `fixed`'s; alone on `fixed` (sweep CA): GRU −0.002.
   */
  {
    field: "learningRate",
    value: { default: 1e-2, rnn: 3e-3 },
    key: "lr",
    why: "the learning rates chosen for best",
  },
  /**
   * Sweep 3 (at hidden 16): cosine beat constant with LR 3e-2 and the gate-bias init. Alone on
   * `fixed` (sweep CA): RNN +0.006, LSTM +0.001, GRU −0.023.
   */
  {
    field: "lrSchedule",
    value: "cosine",
    key: "cosine",
    why: "a cosine decay of the learning rate over the run",
  },
  /**
   * Two stacked layers instead of `fixed`'s five. Sweep AD (validation, 3 seeds, at `best`'s
   * final shape, epochs and readout), last-epoch medians: two layers LSTM 0.9002 against 0.8938
   * for one, GRU 0.9018 against 0.9004, at about twice the step time (the second layer's input
   * is the first's 64-wide h); `best` had had one layer since its first sweeps. Five layers were
   * not run at `best`'s shape (2.5 × the training time of two). Alone on `fixed` (sweep CA):
   * RNN −0.045, LSTM +0.009, GRU +0.005.
   */
  {
    field: "layers",
    value: 2,
    key: "two-layers",
    why: "two stacked layers instead of five",
  },
  /**
   * The head reads each unit's MAXIMUM of the top layer's h over the 400 steps instead of its
   * last value (max pooling over time), for the RNN and the LSTM; the GRU keeps its last state.
   * Sweep W (validation, 3 seeds, at `best`'s hidden-64 one-layer shape), last-epoch medians:
   * RNN 0.8538 against 0.7344 (the vanilla RNN's last state forgets most of a 400-token review),
   * LSTM 0.8938 against 0.8866, GRU 0.8928 against 0.9004. Sweeps Y and Z found nothing to
   * adopt on top: a 40,000-token vocabulary (LSTM 0.8932), 8 epochs (LSTM 0.8974, +0.004;
   * at `best`'s final shape on the chunks carve, sweep CC: −0.0008). Alone on `fixed`, at
   * hidden 8 (sweep CA): RNN −0.041, LSTM −0.019.
   */
  {
    field: "readout",
    value: { default: "max", gru: "last" },
    key: "max-pool",
    why: "max pooling of the top layer's h over time for the RNN and the LSTM (the GRU keeps " +
      "its last state)",
  },
  /**
   * Back to 5 epochs for the gated cells (early stopping, chosen at `best`'s one-layer hidden-64
   * shape): those models fit train to 0.97–0.99 and stop gaining on validation after epoch 5.
   * Sweep K (validation, seed 1): 8 epochs gave GRU 0.8964 and LSTM 0.9058 against 0.9052 and
   * 0.9034 at 5 (sweep 9): −0.009 for GRU, +0.002 for LSTM, at 1.6 × the time. The RNN keeps
   * `fixed`'s 10: sweep CC (chunks carve, 3 seeds, at `best`): 0.8724 at 10 epochs and 0.8684 at
   * 8 against 0.8556 at 5, every seed above every seed at 5. Alone on `fixed`, at hidden 8, it
   * loses most (sweep CA): LSTM −0.031, GRU −0.030 (the RNN's run is `fixed`'s own).
   */
  {
    field: "epochs",
    value: { default: 5, rnn: 10 },
    key: "epochs",
    why: "5 epochs instead of 10 for the gated cells (the hidden-64 models overfit after " +
      "epoch 5; the RNN keeps 10)",
  },
  /**
   * Sweep 4 (bench/notes/profiles.md): 64 beat the earlier 16 by +0.06 (GRU) and +0.04 (LSTM) on
   * validation; 64 needs the code generator's wide path (4 × the step time of 16). Alone on
   * `fixed` (sweep CA, seed 1 only: it cannot move before the cheaper switches whatever its
   * gain): RNN −0.011, LSTM +0.000, GRU +0.029.
   */
  {
    field: "hiddenSize",
    value: 64,
    key: "hidden",
    why: "a wider hidden state",
  },
];

/** The ladder's switches in order: rung i (i ≥ 1) applies switch i − 1. */
export const LADDER_SWITCHES: readonly ProfileSwitch[] = [
  LABELS_SWITCH,
  ...FIXED_SWITCHES,
  ...BEST_SWITCHES,
];

/** The profile `p` with `s` applied, under another name and description. */
function applySwitch(p: Profile, s: ProfileSwitch, name: string, description: string): Profile {
  return { ...p, [s.field]: s.value, name, description };
}

/** The name of rung `index`, applying `s`, when it is not a named profile: `ladder-02-lr`. */
export function rungProfileName(index: number, s: ProfileSwitch): string {
  return `ladder-${String(index).padStart(2, "0")}-${s.key}`;
}

const originalLabels: Profile = {
  ...original,
  name: "original-labels",
  description: "The report's exact setup AND its label handling (every label becomes 0)",
  labels: "original",
  // Not timed: its models have `original`'s shapes, so ONNX Runtime runs the same graphs (they
  // are still exported and checked); `original` times them.
  inferSeconds: 0,
};

/** The named profiles the ladder passes through, by the number of switches applied. */
const LANDMARKS = new Map<
  number,
  { name: string; description: string; seeds?: Profile["seeds"] }
>([
  [1, original],
  [1 + FIXED_SWITCHES.length, {
    name: "fixed",
    description: "The report's data and cells with the fewest changes found that let them " +
      "learn: a per-architecture learning rate, padding at the start, 5 layers instead of 25, " +
      "the gate-bias init, a long review's last tokens kept, 10 epochs instead of 5, word " +
      "dropout for the gated cells, and gradient clipping (each chosen on a validation split)",
    seeds: { default: 1, rnn: 3 },
  }],
  [LADDER_SWITCHES.length, {
    name: "best",
    description: "The strongest recurrent classifier the suite trains from scratch in 5 " +
      "epochs (the RNN 10) with the same cells: 2 layers of hidden 64, embedding 64, a " +
      "vocabulary of 5,000, maxLen 400, batch 100, Adam 1e-2 (RNN 3e-3) with a cosine " +
      "decay, gate-bias init, word dropout 0.25, a long review's last tokens kept, max " +
      "pooling over time for the RNN and the LSTM (settings chosen on a validation split)",
  }],
]);

/**
 * The ladder's profiles in order: `original-labels`, then each switch of
 * {@linkcode LADDER_SWITCHES} applied to the profile before it. The rungs that are named
 * profiles (`original`, `fixed`, `best`) take their names; the others are named
 * `ladder-NN-<key>` and described as "<previous rung> with <why>".
 */
export const LADDER_PROFILES: readonly Profile[] = LADDER_SWITCHES.reduce<Profile[]>(
  (rungs, s, i) => {
    const previous = rungs[i]!;
    const named = LANDMARKS.get(i + 1);
    const rung = applySwitch(
      { ...previous, inferSeconds: original.inferSeconds, seeds: named?.seeds ?? { default: 1 } },
      s,
      named?.name ?? rungProfileName(i + 1, s),
      named?.description ?? `${previous.name} with ${s.why}`,
    );
    rungs.push(named === undefined ? { ...rung, inferSeconds: 0 } : rung);
    return rungs;
  },
  [originalLabels],
);

/** The profiles with names of their own, in `--help` order (the others are rungs of the ladder). */
export const NAMED_PROFILES = ["smoke", "original-labels", "original", "fixed", "best"] as const;
/** A profile with a name of its own. */
export type NamedProfile = typeof NAMED_PROFILES[number];

const smoke: Profile = {
  name: "smoke",
  description: "Fixture data and a small model: the whole pipeline in seconds",
  dataSource: "fixture",
  maxLen: 64,
  padding: "start",
  keepTokens: "first",
  vocabMaxSize: 5000,
  embedDim: 16,
  hiddenSize: 8,
  layers: 2,
  readout: { default: "last" },
  batchSize: 100,
  epochs: { default: 3 },
  learningRate: { default: 1e-2, rnn: 3e-3 },
  labels: "correct",
  gradClip: 5,
  lrSchedule: "constant",
  init: "original",
  wordDropout: { default: 0 },
  inferSeconds: 0.2,
  seeds: { default: 1 },
};

/**
 * Every profile, by name: `smoke`, then the ladder's rungs in order (`original-labels`,
 * `original`, `ladder-02-…`, …, `fixed`, …, `best`).
 */
export const PROFILES: Readonly<Record<NamedProfile, Profile>> & Readonly<Record<string, Profile>> =
  Object.fromEntries([smoke, ...LADDER_PROFILES].map((p) => [p.name, p])) as Record<
    NamedProfile,
    Profile
  >;

/** A profile name. */
export type ProfileName = string;
/** Profile names: `smoke`, then the ladder's rungs in order. */
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/**
 * Looks a profile up by name.
 * @throws Error listing the valid names when unknown
 */
export function getProfile(name: string): Profile {
  const p = (PROFILES as Record<string, Profile>)[name];
  if (p === undefined) {
    throw new Error(`Unknown profile "${name}": valid values are ${PROFILE_NAMES.join(", ")}`);
  }
  return p;
}

/**
 * Loads (from the cache in `cacheDir("data")`, or by encoding) the data a profile needs.
 * @param p the profile
 * @param log receives progress lines and warnings
 */
export function loadProfileData(p: Profile, log: (s: string) => void): Promise<EncodedDataset> {
  return loadDataset({
    source: p.dataSource,
    maxLen: p.maxLen,
    padding: p.padding,
    keepTokens: p.keepTokens,
    ...(p.vocabMaxSize === null ? {} : { vocabMaxSize: p.vocabMaxSize }),
    cacheDir: cacheDir("data"),
  }, log);
}
