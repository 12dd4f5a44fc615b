/**
 * The GRU cell, exactly as the original report computes it (see
 * `../shared/original-report`): its z weights the NEW candidate, the opposite of ONNX's GRU.
 *
 * @module
 */
import type { CellSpec } from "../ir.ts";

/**
 * GRU as the original writes it: `z, r = σ(…)`, `H~ = tanh(x W_xH + (h r) W_rH + b_H)`,
 * `h' = h (1 − z) + z H~` — z weights the NEW candidate (the opposite of ONNX's GRU).
 */
export const gru: CellSpec<never, {
  W_xz: "input";
  W_hz: "hidden";
  b_z: "bias";
  W_xr: "input";
  W_hr: "hidden";
  b_r: "bias";
  W_xH: "input";
  W_rH: "hidden";
  b_H: "bias";
}> = {
  name: "gru",
  label: "GRU",
  states: ["h"],
  weights: {
    W_xz: "input",
    W_hz: "hidden",
    b_z: "bias",
    W_xr: "input",
    W_hr: "hidden",
    b_r: "bias",
    W_xH: "input",
    W_rH: "hidden",
    b_H: "bias",
  },
  step: (o, x, { h }, w) => {
    const z = o.sigmoid(o.affine(x, w.W_xz, h, w.W_hz, w.b_z));
    const r = o.sigmoid(o.affine(x, w.W_xr, h, w.W_hr, w.b_r));
    const cand = o.tanh(o.affine(x, w.W_xH, o.mul(h, r), w.W_rH, w.b_H));
    return { h: o.add(o.mul(h, o.sub(1, z)), o.mul(z, cand)) };
  },
  // z weights the NEW candidate, so b_z = −1 makes a step keep σ(1) ≈ 73 % of its state.
  gateBiasInit: { b_z: -1 },
  // ONNX GRU: gate order z, r, h, and h' = (1 − z) h~ + z h, so its z is this cell's 1 − z:
  // σ(−a) = 1 − σ(a), hence the negated z weights and bias. r applies to h BEFORE the
  // matmul, as here: linear_before_reset = 0.
  onnxBuiltin: {
    op: "GRU",
    gates: [
      { x: "W_xz", h: "W_hz", b: "b_z", negate: true },
      { x: "W_xr", h: "W_hr", b: "b_r", negate: false },
      { x: "W_xH", h: "W_rH", b: "b_H", negate: false },
    ],
    attrs: { linear_before_reset: 0 },
  },
};
