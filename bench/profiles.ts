/**
 * Profiles: typed, named configurations of a whole benchmark run. Adding one is a few
 * lines in {@linkcode PROFILES}. "seed" in this project only ever means a random seed.
 *
 * @module
 */
import type { Arch } from "../models/cells.ts";
import type { LabelMode } from "./data/batches.ts";
import type { Padding } from "./data/encode.ts";

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
  /** Keep only this many most frequent tokens (plus `<unk>`); null = all, as the original. */
  readonly vocabMaxSize: number | null;
  /** Embedding size E. */
  readonly embedDim: number;
  /** Hidden size H. */
  readonly hiddenSize: number;
  /** Stacked layers L. */
  readonly layers: number;
  /** Sequences per batch. */
  readonly batchSize: number;
  /** Training epochs (epoch 0, the evaluation before training, comes on top). */
  readonly epochs: number;
  /** Adam learning rate per architecture. */
  readonly learningRate: Readonly<Record<Arch, number>>;
  /** Label handling: "correct", or "original" (the report's bug: every label 0). */
  readonly labels: LabelMode;
  /** Global gradient-norm clipping; null = none. */
  readonly gradClip: number | null;
  /** Approximate seconds per timed repeat of the ONNX inference benchmark. */
  readonly inferSeconds: number;
}

const original: Profile = {
  name: "original",
  description: "The report's exact setup (embed 64, 25 × 8, maxLen 200, batch 1000, 5 epochs, " +
    "LR RNN 1e-7 / LSTM 1e-10 / GRU 1e-9), with correct labels",
  dataSource: "imdb",
  maxLen: 200,
  padding: "end",
  vocabMaxSize: null,
  embedDim: 64,
  hiddenSize: 8,
  layers: 25,
  batchSize: 1000,
  epochs: 5,
  learningRate: { rnn: 1e-7, lstm: 1e-10, gru: 1e-9 },
  labels: "correct",
  gradClip: null,
  inferSeconds: 1,
};

/** Every profile, by name. */
export const PROFILES = {
  smoke: {
    name: "smoke",
    description: "Fixture data and a small model: the whole pipeline in seconds",
    dataSource: "fixture",
    maxLen: 64,
    padding: "start",
    vocabMaxSize: 5000,
    embedDim: 16,
    hiddenSize: 8,
    layers: 2,
    batchSize: 100,
    epochs: 3,
    learningRate: { rnn: 3e-3, lstm: 1e-2, gru: 1e-2 },
    labels: "correct",
    gradClip: 5,
    inferSeconds: 0.2,
  },
  original,
  "original-labels": {
    ...original,
    name: "original-labels",
    description: "The report's exact setup AND its label handling (every label becomes 0)",
    labels: "original",
  },
} as const satisfies Record<string, Profile>;

/** A profile name. */
export type ProfileName = keyof typeof PROFILES;
/** Profile names, in the order `--help` lists them. */
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
