/**
 * The vanilla RNN cell, exactly as the original report computes it (see
 * `../shared/original-report`): `h' = tanh(x W_xh + h W_hh + b_h)`.
 *
 * @module
 */
import type { CellSpec } from "../ir.ts";

/** Vanilla RNN: `h' = tanh(x W_xh + h W_hh + b_h)`. No gate, so no gate-bias initialisation. */
export const rnn: CellSpec<never, { W_xh: "input"; W_hh: "hidden"; b_h: "bias" }> = {
  name: "rnn",
  label: "RNN",
  states: ["h"],
  weights: { W_xh: "input", W_hh: "hidden", b_h: "bias" },
  step: (o, x, { h }, w) => ({ h: o.tanh(o.affine(x, w.W_xh, h, w.W_hh, w.b_h)) }),
  // ONNX RNN: h' = tanh(x W + h R + Wb + Rb); default activation Tanh.
  onnxBuiltin: { op: "RNN", gates: [{ x: "W_xh", h: "W_hh", b: "b_h", negate: false }], attrs: {} },
};
