/**
 * Adam, as `torch.optim.Adam` computes it (no weight decay, no amsgrad), over a flat
 * float64 parameter array: the reference every engine's optimizer is checked against.
 *
 * @module
 */

/** Adam's hyperparameters. */
export interface AdamConfig {
  /** Learning rate. */
  readonly lr: number;
  /**
   * Decay of the first moment (the gradients' running mean).
   * @default 0.9
   */
  readonly beta1: number;
  /**
   * Decay of the second moment (the squared gradients' running mean).
   * @default 0.999
   */
  readonly beta2: number;
  /**
   * Added to the second moment's square root, against division by zero.
   * @default 1e-8
   */
  readonly eps: number;
}

/**
 * The defaults of `torch.optim.Adam`, with a learning rate.
 * @param lr the learning rate
 * @returns Adam's hyperparameters: `lr` and the defaults of the others
 */
export function adamConfig(lr: number): AdamConfig {
  return { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
}

/** Adam's state: first and second moments and the step count. */
export interface AdamState {
  /** First moments, one per parameter. */
  m: Float64Array;
  /** Second moments, one per parameter. */
  v: Float64Array;
  /** Steps taken (the bias corrections' exponent). */
  step: number;
}

/** A zero state for `n` parameters. */
export function adamState(n: number): AdamState {
  return { m: new Float64Array(n), v: new Float64Array(n), step: 0 };
}

/**
 * One Adam step, in place: `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) g²`,
 * `p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)`.
 *
 * @param p parameters (updated)
 * @param g gradients
 * @param s optimizer state (updated)
 * @param c hyperparameters
 */
export function adamStep(p: Float64Array, g: ArrayLike<number>, s: AdamState, c: AdamConfig): void {
  s.step++;
  const bc1 = 1 - c.beta1 ** s.step, bc2 = 1 - c.beta2 ** s.step;
  const stepSize = c.lr / bc1, sqrtBc2 = Math.sqrt(bc2);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    const m = (s.m[i] = c.beta1 * s.m[i]! + (1 - c.beta1) * gi);
    const v = (s.v[i] = c.beta2 * s.v[i]! + (1 - c.beta2) * gi * gi);
    p[i] = p[i]! - stepSize * m / (Math.sqrt(v) / sqrtBc2 + c.eps);
  }
}
