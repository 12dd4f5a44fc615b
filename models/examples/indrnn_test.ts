// The IndRNN example against what its paper and the op set say: its diagonal weight starts
// in [0, 1] (Li et al. 2018), the float64 reference computes `h' = relu(x W + u ⊙ h + b)`
// exactly, and the reference gradient through the whole classifier matches central finite
// differences on every parameter. Its engines are checked in bench/indrnn_test.ts.
import { cellGraph, registerCell } from "../cells.ts";
import { bceWithLogits, initParams } from "../classifier.ts";
import { referenceForward, referenceLossAndGrad } from "../reference.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams } from "../_testing.ts";
import { indrnn } from "./indrnn.ts";

registerCell(indrnn);
const B = 5, T = 7;
const layout = tinyLayout("indrnn");
const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);

Deno.test("IndRNN's recurrent weights are [H] diagonals drawn uniformly from [0, 1]", () => {
  const H = layout.config.hiddenSize;
  const p = initParams(layout, 5);
  const diagonals = layout.tensors.filter((t) => t.kind === "diagonal");
  if (diagonals.length !== layout.config.layers) throw new Error(`${diagonals.length} diagonals`);
  for (const t of diagonals) {
    if (t.param !== "u_h" || t.shape.join() !== `${H}`) throw new Error(`${t.name} [${t.shape}]`);
    const v = p.subarray(t.offset, t.offset + t.size);
    if (!v.every((x) => x >= 0 && x <= 1) || new Set(v).size !== v.length) {
      throw new Error(`${t.name} = ${v}`);
    }
  }
});

Deno.test("the reference computes IndRNN's step as the paper writes it", () => {
  const p = tinyParams(layout);
  const f = referenceForward(layout, p, ids, B, T);
  const g = cellGraph("indrnn");
  const { embedDim: E, hiddenSize: H } = layout.config;
  const get = (name: string) => {
    const t = layout.get(`layers.0.${name}`);
    return p.subarray(t.offset, t.offset + t.size);
  };
  const W = get("W_xh"), u = get("u_h"), bias = get("b_h");
  // Layer 0 by hand: h_t = max(0, x_t W + u ⊙ h_{t−1} + b), from h_{−1} = 0.
  const h = new Float64Array(B * H);
  for (let t = 0; t < T; t++) {
    const x = f.embedded[t]!;
    const next = new Float64Array(B * H);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        let s = bias[j]! + u[j]! * h[b * H + j]!;
        for (let e = 0; e < E; e++) s += x[b * E + e]! * W[e * H + j]!;
        next[b * H + j] = Math.max(0, s);
      }
    }
    h.set(next);
    assertClose(`layer 0 h at t=${t}`, f.tape[t]![0]!.values[g.outputs["h"]!]!, h, {
      atol: 1e-12,
      rtol: 1e-12,
    });
  }
});

Deno.test("IndRNN's reference gradient matches central finite differences on every parameter", () => {
  const p = tinyParams(layout);
  const { grad } = referenceLossAndGrad(layout, p, ids, labels, T);
  // relu's derivative jumps at 0: the pre-activations must keep away from it.
  const g = cellGraph("indrnn");
  const relu = g.nodes.find((n) => n.op === "relu") as { a: number };
  const f = referenceForward(layout, p, ids, B, T);
  const nearest = Math.min(
    ...f.tape.flatMap((row) => row.flatMap((s) => Array.from(s.values[relu.a]!, Math.abs))),
  );
  if (!(nearest > 1e-4)) throw new Error(`a pre-activation is ${nearest} from relu's kink`);
  const lossAt = (q: Float64Array) =>
    bceWithLogits(referenceForward(layout, q, ids, B, T).logits, labels).loss;
  const h = 1e-6;
  for (const t of layout.tensors) {
    const fd = new Float64Array(t.size);
    for (let i = 0; i < t.size; i++) {
      const q = p.slice();
      q[t.offset + i]! += h;
      const up = lossAt(q);
      q[t.offset + i]! -= 2 * h;
      fd[i] = (up - lossAt(q)) / (2 * h);
    }
    assertClose(`indrnn d/d${t.name}`, grad.subarray(t.offset, t.offset + t.size), fd, {
      atol: 1e-8,
      rtol: 1e-5,
    });
  }
});
