/**
 * The three architectures, each written ONCE, exactly as the original report computes
 * them (see `../shared/original-report`). Every lowering (reference, tfjs, native C/CUDA,
 * ONNX) is derived from these definitions by tracing them with {@linkcode trace}.
 *
 * @module
 */
import { type CellGraph, type CellSpec, type ParamKind, trace } from "./ir.ts";

/** Vanilla RNN: `h' = tanh(x W_xh + h W_hh + b_h)`. */
export const rnn: CellSpec<never, { W_xh: "input"; W_hh: "hidden"; b_h: "bias" }> = {
  name: "rnn",
  states: ["h"],
  weights: { W_xh: "input", W_hh: "hidden", b_h: "bias" },
  step: (o, x, { h }, w) => ({ h: o.tanh(o.affine(x, w.W_xh, h, w.W_hh, w.b_h)) }),
};

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
};

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
};

/** The architectures the suite knows, by name. */
export const ARCHS = ["rnn", "gru", "lstm"] as const;
/** An architecture name. */
export type Arch = (typeof ARCHS)[number];

// deno-lint-ignore no-explicit-any
const SPECS: Record<Arch, CellSpec<any, Record<string, ParamKind>>> = { rnn, gru, lstm };
const GRAPHS = new Map<Arch, CellGraph>();

/**
 * The traced IR graph of an architecture (traced once, then cached).
 * @param arch "rnn", "gru" or "lstm"
 * @returns its cell graph
 */
export function cellGraph(arch: Arch): CellGraph {
  let g = GRAPHS.get(arch);
  if (g === undefined) {
    const spec = SPECS[arch];
    if (spec === undefined) {
      throw new Error(`Unknown architecture "${arch}": valid values are ${ARCHS.join(", ")}`);
    }
    g = trace(spec);
    GRAPHS.set(arch, g);
  }
  return g;
}
