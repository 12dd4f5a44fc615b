import { ARCHS, cellGraph } from "./cells.ts";
import { bceWithLogits, READOUTS } from "./classifier.ts";
import { backward, GRAD_RULES } from "./grad.ts";
import { interpret, referenceForward, referenceLossAndGrad } from "./reference.ts";
import { assertClose, tinyBatch, tinyLayout, tinyParams } from "./_testing.ts";
import { type CellGraph, type ForwardOp, OPS } from "./ir.ts";
import { Rng } from "./rng.ts";

const B = 5, T = 7;

Deno.test("the readout max reads every timestep's maximum, the readout last only the last step", () => {
  const layout = tinyLayout("rnn"), pooled = tinyLayout("rnn", { readout: "max" });
  const p = tinyParams(layout);
  const { ids } = tinyBatch(B, T, layout.config.vocabSize);
  const last = referenceForward(layout, p, ids, B, T).logits;
  const max = referenceForward(pooled, p, ids, B, T).logits;
  // Changing the first token moves max's logits, and (through the recurrence) last's too;
  // the two readouts give different logits from the same parameters.
  if (last.every((z, i) => Math.abs(z - max[i]!) < 1e-9)) throw new Error("readouts agree");
  if (!max.every(Number.isFinite)) throw new Error(`non-finite logits ${max}`);
});

for (const [arch, readout] of ARCHS.flatMap((a) => READOUTS.map((r) => [a, r] as const))) {
  const as = readout === "last" ? "" : ` (readout ${readout})`;
  Deno.test(`reference gradient of ${arch}${as} matches central finite differences on every parameter`, () => {
    const layout = tinyLayout(arch, { readout });
    const p = tinyParams(layout);
    const { ids, labels } = tinyBatch(B, T, layout.config.vocabSize);
    const { grad } = referenceLossAndGrad(layout, p, ids, labels, T);
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
      assertClose(`${arch} d/d${t.name}`, grad.subarray(t.offset, t.offset + t.size), fd, {
        atol: 1e-8,
        rtol: 1e-5,
      });
    }
  });

  Deno.test(`reference logits of ${arch}${as} depend on the input at test scale`, () => {
    const layout = tinyLayout(arch, { readout });
    const { ids } = tinyBatch(B, T, layout.config.vocabSize);
    const { logits } = referenceForward(layout, tinyParams(layout), ids, B, T);
    const spread = Math.max(...logits) - Math.min(...logits);
    if (!(spread > 1e-3)) throw new Error(`logits barely differ: spread ${spread}`);
  });
}

Deno.test("backward() keeps only the forward values its rules read", () => {
  const bw = backward(cellGraph("lstm"));
  const ops = new Set(bw.saved.map((id) => bw.forward.nodes[id]!.op));
  if (ops.has("const")) throw new Error("a constant was saved");
  if (bw.dx === null || bw.dStates["h"] === null || bw.dStates["c"] === null) {
    throw new Error("lstm backward lost dx, dh or dc");
  }
  // 12 weights: 8 matrices (outer) + 4 biases (rowsum).
  if (bw.paramGrads.length !== 12) {
    throw new Error(`want 12 param grads, got ${bw.paramGrads.length}`);
  }
});

const UNARY: readonly ForwardOp[] = OPS.unary;
const BINARY: readonly ForwardOp[] = OPS.binary;

/**
 * A graph of one op: inputs are states h (and k for binary ops), output node 2; a param op
 * (matmul, addBias, scale) reads the 1×1 weight W.
 */
function oneOpGraph(op: ForwardOp): CellGraph {
  const binary = BINARY.includes(op);
  return {
    name: "t",
    states: binary ? ["h", "k"] : ["h"],
    params: [{
      name: "W",
      kind: op === "scale" ? "diagonal" : op === "addBias" ? "bias" : "hidden",
    }],
    nodes: [
      { op: "state", id: 0, size: "H", name: "h" },
      binary
        ? { op: "state", id: 1, size: "H", name: "k" }
        : { op: "const", id: 1, size: "scalar", value: 0 },
      UNARY.includes(op)
        ? { op: op as "tanh", id: 2, size: "H", a: 0 }
        : binary
        ? { op: op as "add", id: 2, size: "H", a: 0, b: 1 }
        : { op: op as "matmul", id: 2, size: "H", a: 0, param: "W" },
    ],
    outputs: binary ? { h: 2, k: 1 } : { h: 2 },
  };
}

// Each gradient rule on its own, checked against finite differences at a few points: a
// one-op graph whose output is the only state, so dState_out = gradIn.
Deno.test("every gradient rule matches finite differences at a few points", () => {
  const rng = new Rng(11);
  const rules = Object.keys(GRAD_RULES) as ForwardOp[];
  for (const op of rules) {
    if (op === "input" || op === "state" || op === "const") continue;
    for (let trial = 0; trial < 4; trial++) {
      const a = rng.uniformIn(-2, 2), b = rng.uniformIn(-2, 2), w = rng.uniformIn(-2, 2);
      const gOut = rng.uniformIn(-1, 1);
      // y(a, b, w) for one scalar element; matmul/addBias use a 1×1 weight.
      const fwdGraph = oneOpGraph(op);
      const f = (av: number, bv: number, wv: number): number =>
        interpret(fwdGraph.nodes, {
          B: 1,
          x: new Float64Array(0),
          states: { h: Float64Array.of(av), k: Float64Array.of(bv) },
          gradIn: {},
          saved: [],
          weight: () => ({ data: Float64Array.of(wv), rows: 1, cols: 1 }),
        })[2]![0]!;
      const h = 1e-6;
      const fdA = (f(a + h, b, w) - f(a - h, b, w)) / (2 * h) * gOut;
      const fdB = (f(a, b + h, w) - f(a, b - h, w)) / (2 * h) * gOut;
      const fdW = (f(a, b, w + h) - f(a, b, w - h)) / (2 * h) * gOut;
      // Apply the rule through backward() on the same one-op graph.
      const bw = backward(fwdGraph);
      const saved = interpret(fwdGraph.nodes, {
        B: 1,
        x: new Float64Array(0),
        states: { h: Float64Array.of(a), k: Float64Array.of(b) },
        gradIn: {},
        saved: [],
        weight: () => ({ data: Float64Array.of(w), rows: 1, cols: 1 }),
      });
      const vals = interpret(bw.nodes, {
        B: 1,
        x: new Float64Array(0),
        states: {},
        gradIn: { h: Float64Array.of(gOut), k: Float64Array.of(0) },
        saved,
        weight: () => ({ data: Float64Array.of(w), rows: 1, cols: 1 }),
      });
      const dA = vals[bw.dStates["h"]!]![0]!;
      assertClose(`${op} d/da`, [dA], [fdA], { atol: 1e-8, rtol: 1e-6 });
      if (BINARY.includes(op)) {
        // k is also an output with zero incoming gradient, so dk is the rule's db alone.
        const dB = vals[bw.dStates["k"]!]![0]!;
        assertClose(`${op} d/db`, [dB], [fdB], { atol: 1e-8, rtol: 1e-6 });
      }
      for (const pg of bw.paramGrads) {
        const contrib = pg.kind === "outer" ? vals[pg.a]![0]! * vals[pg.g]![0]! : vals[pg.g]![0]!;
        const fd = op === "addBias" ? gOut : fdW;
        assertClose(`${op} d/d${pg.param}`, [contrib], [fd], { atol: 1e-8, rtol: 1e-6 });
      }
    }
  }
});
