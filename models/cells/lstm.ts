/**
 * The LSTM cell (no peepholes), exactly as the original report computes it (see
 * `../shared/original-report`).
 *
 * @module
 */
import type { CellSpec } from "../ir.ts";

/**
 * LSTM without peepholes: `f, i, o = σ(x W_x* + h W_h* + b_*)`, `C~ = tanh(…)`,
 * `c' = c f + i C~`, `h' = o tanh(c')`.
 */
export const lstm: CellSpec<"c", {
  W_xf: "input";
  W_hf: "hidden";
  b_f: "bias";
  W_xi: "input";
  W_hi: "hidden";
  b_i: "bias";
  W_xC: "input";
  W_hC: "hidden";
  b_C: "bias";
  W_xo: "input";
  W_ho: "hidden";
  b_o: "bias";
}> = {
  name: "lstm",
  label: "LSTM",
  states: ["h", "c"],
  weights: {
    W_xf: "input",
    W_hf: "hidden",
    b_f: "bias",
    W_xi: "input",
    W_hi: "hidden",
    b_i: "bias",
    W_xC: "input",
    W_hC: "hidden",
    b_C: "bias",
    W_xo: "input",
    W_ho: "hidden",
    b_o: "bias",
  },
  step: (o, x, { h, c }, w) => {
    const f = o.sigmoid(o.affine(x, w.W_xf, h, w.W_hf, w.b_f));
    const i = o.sigmoid(o.affine(x, w.W_xi, h, w.W_hi, w.b_i));
    const cand = o.tanh(o.affine(x, w.W_xC, h, w.W_hC, w.b_C));
    const og = o.sigmoid(o.affine(x, w.W_xo, h, w.W_ho, w.b_o));
    const c2 = o.add(o.mul(c, f), o.mul(i, cand));
    return { h: o.mul(og, o.tanh(c2)), c: c2 };
  },
  // The forget gate starts at σ(1) ≈ 73 % instead of 50 % (Jozefowicz et al., 2015).
  gateBiasInit: { b_f: 1 },
  // ONNX LSTM: gate order i, o, f, c; default activations Sigmoid, Tanh, Tanh; no peepholes.
  onnxBuiltin: {
    op: "LSTM",
    gates: [
      { x: "W_xi", h: "W_hi", b: "b_i", negate: false },
      { x: "W_xo", h: "W_ho", b: "b_o", negate: false },
      { x: "W_xf", h: "W_hf", b: "b_f", negate: false },
      { x: "W_xC", h: "W_hC", b: "b_C", negate: false },
    ],
    attrs: {},
  },
};
