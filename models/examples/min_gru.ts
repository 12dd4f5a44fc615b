/**
 * minGRU: L. Feng, F. Tung, M. O. Ahmed, Y. Bengio and H. Hajimirsadeghi, "Were RNNs All We
 * Needed?", 2024 (arXiv:2410.01201). The GRU with its gate and candidate computed from the
 * input alone (so that training can use a parallel scan) and no activation on the candidate;
 * run here step by step, its sequential form:
 *
 * ```
 * z  = σ(x W_z + b_z)
 * h~ = x W_h + b_h
 * h' = (1 − z) ⊙ h + z ⊙ h~
 * ```
 *
 * An example cell for `deno task bench --cell models/examples/min_gru.ts`. The import is for
 * type checking only: a copy of this file elsewhere runs without it.
 *
 * @module
 */
import type { CellSpec } from "../ir.ts";

/** minGRU: no state weight at all; z weights the NEW candidate. */
export const minGru: CellSpec<never, {
  W_z: "input";
  b_z: "bias";
  W_h: "input";
  b_h: "bias";
}> = {
  name: "mingru",
  label: "minGRU",
  states: ["h"],
  weights: { W_z: "input", b_z: "bias", W_h: "input", b_h: "bias" },
  step: (o, x, { h }, w) => {
    const z = o.sigmoid(o.addBias(o.matmul(x, w.W_z), w.b_z));
    const cand = o.addBias(o.matmul(x, w.W_h), w.b_h);
    return { h: o.add(o.mul(o.sub(1, z), h), o.mul(z, cand)) };
  },
  // z weights the new candidate, so b_z = −1 makes a step keep σ(1) ≈ 73 % of its state
  // (init "remember"), as the built-in GRU's b_z does.
  gateBiasInit: { b_z: -1 },
};
