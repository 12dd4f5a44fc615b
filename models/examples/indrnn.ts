/**
 * IndRNN, the independently recurrent neural network of S. Li, W. Li, C. Cook, C. Zhu and
 * Y. Gao, "Independently Recurrent Neural Network (IndRNN): Building A Longer and Deeper
 * RNN", CVPR 2018 (arXiv:1803.04831): `h' = relu(x W + u ⊙ h + b)`. Each unit reads only its
 * own previous state, through one recurrent weight of its own (the diagonal `u`, drawn
 * uniformly from [0, 1] like the paper's, see `models/classifier.ts`); the units of a layer
 * mix only through the next layer's input weights, which is why the paper stacks many layers.
 *
 * A plain exported cell: no import is needed to define one (the type annotation only lets
 * the compiler check `step` against the declared weights).
 *
 * @module
 */
import type { CellSpec } from "../ir.ts";

/**
 * IndRNN: `h' = relu(x W_xh + u_h ⊙ h + b_h)`, written as `(x W_xh + b_h) + u_h ⊙ h` so that
 * what reads only the input is one affine expression: the ONNX export then folds it, with
 * the embedding, into the lookup table of layer 0.
 */
export const indrnn: CellSpec<never, { W_xh: "input"; u_h: "diagonal"; b_h: "bias" }> = {
  name: "indrnn",
  label: "IndRNN",
  states: ["h"],
  weights: { W_xh: "input", u_h: "diagonal", b_h: "bias" },
  step: (o, x, { h }, w) => ({
    h: o.relu(o.add(o.addBias(o.matmul(x, w.W_xh), w.b_h), o.scale(h, w.u_h))),
  }),
};
