/**
 * MGU, the Minimal Gated Unit: G.-B. Zhou, J. Wu, C.-L. Zhang and Z.-H. Zhou, "Minimal Gated
 * Unit for Recurrent Neural Networks", International Journal of Automation and Computing
 * 13(3), 2016 (arXiv:1603.09420). One gate, the forget gate f, does the work of the GRU's
 * reset and update gates:
 *
 * ```
 * f  = σ(x W_f + h U_f + b_f)
 * h~ = tanh(x W_h + (f ⊙ h) U_h + b_h)
 * h' = (1 − f) ⊙ h + f ⊙ h~
 * ```
 *
 * An example cell for `deno task bench --cell models/examples/mgu.ts`. The import is for type
 * checking only: a copy of this file elsewhere runs without it.
 *
 * @module
 */
import type { CellSpec } from "../ir.ts";

/** MGU: one gate f, which weights the NEW candidate (as the GRU's z here does). */
export const mgu: CellSpec<never, {
  W_f: "input";
  U_f: "hidden";
  b_f: "bias";
  W_h: "input";
  U_h: "hidden";
  b_h: "bias";
}> = {
  name: "mgu",
  label: "MGU",
  states: ["h"],
  weights: { W_f: "input", U_f: "hidden", b_f: "bias", W_h: "input", U_h: "hidden", b_h: "bias" },
  step: (o, x, { h }, w) => {
    const f = o.sigmoid(o.affine(x, w.W_f, h, w.U_f, w.b_f));
    const cand = o.tanh(o.affine(x, w.W_h, o.mul(f, h), w.U_h, w.b_h));
    return { h: o.add(o.mul(o.sub(1, f), h), o.mul(f, cand)) };
  },
  // f weights the new candidate, so b_f = −1 makes a step keep σ(1) ≈ 73 % of its state
  // (init "remember"), as the built-in GRU's b_z does.
  gateBiasInit: { b_f: -1 },
};
