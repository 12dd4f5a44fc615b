/**
 * A non-recurrent reference classifier in plain TypeScript: naive-Bayes-weighted logistic
 * regression on binarised, hashed unigram and bigram features, after Wang & Manning (2012),
 * "Baselines and Bigrams: Simple, Good Sentiment and Topic Classification".
 *
 * What is implemented, precisely:
 * 1. Features: each review's tokens (the suite's tokenizer, applied by the caller), unigrams
 *    and adjacent bigrams, hashed (FNV-1a, 32 bits) into {@linkcode NbsvmOptions.buckets}
 *    buckets; a review is the SET of its buckets (binarised: x̂ = 1[count > 0]). Hashing
 *    instead of a vocabulary bounds memory whatever the bigram count; colliding n-grams share
 *    a weight. There is no count threshold.
 * 2. Log-count ratio from the training reviews only, smoothing α:
 *    p = α + Σ_{positive} x̂, q = α + Σ_{negative} x̂, r = log((p / ‖p‖₁) / (q / ‖q‖₁)).
 * 3. Classifier: logistic regression with a bias on x̃ = r ⊙ x̂, trained by plain SGD (one
 *    review at a time, shuffled each epoch with a seeded generator, learning rate decaying
 *    linearly to 0 over the epochs, L2 weight decay applied to the weights a review touches).
 *    Prediction: positive when the logit is
 *    > 0.
 *
 * What differs from the paper: their NBSVM trains an L2-regularised L2-loss SVM (liblinear)
 * on the same features and interpolates its weights with their mean magnitude (β = 0.25);
 * this is a logistic regression without interpolation, so its accuracy is its own, not
 * their published number.
 *
 * @module
 */
import { permutation, Rng, STREAM } from "../../models/rng.ts";

/** Options of {@linkcode trainNbsvm}; every field has a default. */
export interface NbsvmOptions {
  /** Hash buckets shared by unigrams and bigrams (a power of two). @default {2 ** 22} */
  buckets?: number;
  /** Smoothing α of the log-count ratio. @default {1} */
  alpha?: number;
  /** SGD epochs over the training reviews. @default {4} */
  epochs?: number;
  /** Initial SGD learning rate (decays linearly to 0). @default {0.1} */
  learningRate?: number;
  /** L2 weight decay per example. @default {1e-6} */
  l2?: number;
  /** Seed of the shuffling. @default {1} */
  seed?: number;
}

/** A trained model: weights over buckets and a bias, with the ratio r folded in. */
export interface NbsvmModel {
  /** Hash buckets. */
  buckets: number;
  /** `r[j] * w[j]` per bucket: the logit is `bias + Σ_{j in review} weights[j]`. */
  weights: Float32Array;
  /** The bias. */
  bias: number;
}

/** The defaults of {@linkcode NbsvmOptions}. */
export const NBSVM_DEFAULTS: Required<NbsvmOptions> = {
  buckets: 2 ** 22,
  alpha: 1,
  epochs: 4,
  learningRate: 0.1,
  l2: 1e-6,
  seed: 1,
};

function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The binarised feature set of one review: the buckets of its unigrams and bigrams, sorted
 * ascending, without repeats.
 * @param tokens the review's tokens
 * @param buckets hash buckets (a power of two)
 * @returns bucket indices
 * @example
 * ```ts
 * import { featureSet } from "./nbsvm.ts";
 * featureSet(["not", "good"], 2 ** 20).length; // 3: "not", "good", "not good"
 * ```
 */
export function featureSet(tokens: readonly string[], buckets: number): Uint32Array {
  if (!(buckets > 0 && (buckets & (buckets - 1)) === 0)) {
    throw new RangeError(`Cannot hash features: buckets must be a power of two, got ${buckets}`);
  }
  const mask = buckets - 1;
  const out = new Uint32Array(tokens.length * 2);
  let n = 0, prev = 0;
  for (let i = 0; i < tokens.length; i++) {
    const h = fnv1a(tokens[i]!);
    out[n++] = h & mask;
    // A bigram hashes the previous unigram's hash, a separator, and this token.
    if (i > 0) out[n++] = fnv1a(tokens[i]!, Math.imul(prev ^ 0x9e3779b9, 0x01000193)) & mask;
    prev = h;
  }
  const s = out.subarray(0, n).sort();
  let m = 0;
  for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) s[m++] = s[i]!;
  return s.slice(0, m);
}

/**
 * The log-count ratio r of every bucket from binarised training features (step 2 above).
 * @param features each training review's feature set
 * @param labels 1 positive, 0 negative, per review
 * @param buckets hash buckets
 * @param alpha smoothing
 * @returns r per bucket
 */
export function logCountRatio(
  features: readonly Uint32Array[],
  labels: ArrayLike<number>,
  buckets: number,
  alpha: number,
): Float32Array {
  const pos = new Float32Array(buckets).fill(alpha);
  const neg = new Float32Array(buckets).fill(alpha);
  features.forEach((f, i) => {
    const c = labels[i] === 1 ? pos : neg;
    for (let k = 0; k < f.length; k++) c[f[k]!]! += 1;
  });
  let sp = 0, sn = 0;
  for (let j = 0; j < buckets; j++) {
    sp += pos[j]!;
    sn += neg[j]!;
  }
  const r = new Float32Array(buckets);
  const shift = Math.log(sn / sp);
  for (let j = 0; j < buckets; j++) r[j] = Math.log(pos[j]! / neg[j]!) + shift;
  return r;
}

/**
 * Trains the reference classifier (steps 2 and 3 above) on feature sets.
 * @param features each training review's feature set ({@linkcode featureSet})
 * @param labels 1 positive, 0 negative, per review
 * @param options hyperparameters; see {@linkcode NBSVM_DEFAULTS}
 * @returns the model
 */
export function trainNbsvm(
  features: readonly Uint32Array[],
  labels: ArrayLike<number>,
  options: NbsvmOptions = {},
): NbsvmModel {
  const o = { ...NBSVM_DEFAULTS, ...options };
  const r = logCountRatio(features, labels, o.buckets, o.alpha);
  const w = new Float32Array(o.buckets); // weights on x̃ = r ⊙ x̂
  let bias = 0;
  const n = features.length;
  const rng = new Rng(o.seed, STREAM.shuffle);
  const total = o.epochs * n;
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = permutation(n, rng);
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const f = features[i]!;
      let z = bias;
      for (let t = 0; t < f.length; t++) z += w[f[t]!]! * r[f[t]!]!;
      const p = 1 / (1 + Math.exp(-z));
      const lr = o.learningRate * (1 - step++ / total);
      const g = lr * (p - (labels[i] === 1 ? 1 : 0));
      const decay = 1 - lr * o.l2;
      for (let t = 0; t < f.length; t++) {
        const j = f[t]!;
        w[j] = w[j]! * decay - g * r[j]!;
      }
      bias -= g;
    }
  }
  for (let j = 0; j < o.buckets; j++) w[j] = w[j]! * r[j]!;
  return { buckets: o.buckets, weights: w, bias };
}

/**
 * The logit of one review.
 * @param model the trained model
 * @param features the review's feature set
 */
export function nbsvmLogit(model: NbsvmModel, features: Uint32Array): number {
  let z = model.bias;
  for (let t = 0; t < features.length; t++) z += model.weights[features[t]!]!;
  return z;
}

/**
 * The share of reviews classified right (logit > 0 means positive).
 * @param model the trained model
 * @param features each review's feature set
 * @param labels 1 positive, 0 negative, per review
 */
export function nbsvmAccuracy(
  model: NbsvmModel,
  features: readonly Uint32Array[],
  labels: ArrayLike<number>,
): number {
  let right = 0;
  features.forEach((f, i) => {
    if ((nbsvmLogit(model, f) > 0 ? 1 : 0) === labels[i]) right++;
  });
  return features.length === 0 ? 0 : right / features.length;
}
