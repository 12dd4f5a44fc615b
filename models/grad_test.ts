// Every gradient rule of `GRAD_RULES`, one op at a time on vector shapes (B = 2 sequences,
// I = 3 inputs, H = 4 units), against central finite differences of the float64 reference
// interpreter: the gradient of `Σ_s Σ c_s ⊙ s'` (c_s random) with respect to the input,
// every previous state and every weight, element by element. The rules' results go through
// the same path a lowering takes (the backward graph interpreted, parameter gradients
// accumulated as `outer` / `rowsum` say), so the test checks the rule and its conventions.
import type { AnyCellSpec } from "./cells.ts";
import { backward, GRAD_RULES } from "./grad.ts";
import type { CellSpec, ForwardOp, ParamKind } from "./ir.ts";
import { trace } from "./ir.ts";
import { interpret } from "./reference.ts";
import { Rng } from "./rng.ts";
import { assertClose } from "./_testing.ts";

const B = 2, I = 3, H = 4;

type One = AnyCellSpec;
/** A cell of one or two ops, its `step` type-checked against its weights. */
const cell = <S extends string = never, W extends Record<string, ParamKind> = never>(
  c: CellSpec<S, W>,
): One => c;

/** One or more cells per op, each using the op once or twice (with a constant operand). */
const CASES: Record<Exclude<ForwardOp, "input" | "state" | "const">, One[]> = {
  matmul: [
    cell({
      name: "matmul_x",
      states: ["h"],
      weights: { W: "input" },
      step: (o, x, _s, w) => ({ h: o.matmul(x, w.W) }),
    }),
    cell({
      name: "matmul_h",
      states: ["h"],
      weights: { U: "hidden" },
      step: (o, _x, { h }, w) => ({ h: o.matmul(h, w.U) }),
    }),
  ],
  addBias: [cell({
    name: "addBias",
    states: ["h"],
    weights: { b: "bias" },
    step: (o, _x, { h }, w) => ({ h: o.addBias(h, w.b) }),
  })],
  scale: [cell({
    name: "scale",
    states: ["h"],
    weights: { u: "diagonal" },
    step: (o, _x, { h }, w) => ({ h: o.scale(h, w.u) }),
  })],
  add: binaryCases("add"),
  sub: binaryCases("sub"),
  mul: binaryCases("mul"),
  sigmoid: [unaryCase("sigmoid")],
  tanh: [unaryCase("tanh")],
  relu: [unaryCase("relu")],
};

function unaryCase(op: "sigmoid" | "tanh" | "relu"): One {
  return cell({ name: op, states: ["h"], weights: {}, step: (o, _x, { h }) => ({ h: o[op](h) }) });
}

function binaryCases(op: "add" | "sub" | "mul"): One[] {
  return [
    // k is written back unchanged, so dk is the rule's gradient of the second operand plus c_k.
    cell({
      name: `${op}_hk`,
      states: ["h", "k"],
      weights: {},
      step: (o, _x, { h, k }) => ({ h: o[op](h, k), k }),
    }),
    cell({
      name: `${op}_const`,
      states: ["h"],
      weights: {},
      step: (o, _x, { h }) => ({ h: o[op](0.7, o[op](h, -1.3)) }),
    }),
  ];
}

/** Random values of everything a step reads. */
interface Point {
  x: Float64Array;
  states: Record<string, Float64Array>;
  weights: Record<string, Float64Array>;
}

function shapeOf(kind: ParamKind): [rows: number, cols: number] {
  return kind === "input" ? [I, H] : kind === "hidden" ? [H, H] : [1, H];
}

/** `Σ_s Σ c_s ⊙ s'` and the values of the forward graph at a point. */
function forward(spec: One, p: Point, c: Record<string, Float64Array>) {
  const g = trace(spec);
  const kinds = Object.fromEntries(g.params.map((q) => [q.name, q.kind]));
  const weight = (name: string) => {
    const [rows, cols] = shapeOf(kinds[name]!);
    return { data: p.weights[name]!, rows, cols };
  };
  const values = interpret(g.nodes, { B, x: p.x, states: p.states, gradIn: {}, saved: [], weight });
  let loss = 0;
  for (const s of g.states) {
    const out = values[g.outputs[s]!]!;
    for (let i = 0; i < B * H; i++) loss += c[s]![i]! * out[i]!;
  }
  return { g, values, weight, loss };
}

/** Central finite differences of the loss with respect to every element of `v`. */
function fd(v: Float64Array, loss: () => number): Float64Array {
  const h = 1e-6, out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i]!;
    v[i] = keep + h;
    const up = loss();
    v[i] = keep - h;
    out[i] = (up - loss()) / (2 * h);
    v[i] = keep;
  }
  return out;
}

const TOL = { atol: 1e-8, rtol: 1e-6 };

function checkCase(spec: One, rng: Rng): void {
  const g0 = trace(spec);
  const draw = (n: number) => Float64Array.from({ length: n }, () => rng.uniformIn(-2, 2));
  const p: Point = {
    x: draw(B * I),
    states: Object.fromEntries(g0.states.map((s) => [s, draw(B * H)])),
    weights: Object.fromEntries(g0.params.map((q) => {
      const [r, c] = shapeOf(q.kind);
      return [q.name, draw(r * c)];
    })),
  };
  const c = Object.fromEntries(g0.states.map((s) => [s, draw(B * H)]));
  const { g, values, weight } = forward(spec, p, c);
  // relu's derivative jumps at 0: the points must keep away from it for differences to hold.
  for (const n of g.nodes) {
    if (n.op !== "relu") continue;
    const a = values[n.a]!;
    if (a.some((v) => Math.abs(v) < 1e-3)) throw new Error(`${spec.name}: a point is at the kink`);
  }
  const bw = backward(g);
  const vals = interpret(bw.nodes, { B, x: p.x, states: {}, gradIn: c, saved: values, weight });
  const loss = () => forward(spec, p, c).loss;
  const zero = (n: number) => new Float64Array(n);
  assertClose(
    `${spec.name} d/dx`,
    bw.dx === null ? zero(B * I) : vals[bw.dx]!,
    fd(p.x, loss),
    TOL,
  );
  for (const s of g.states) {
    const id = bw.dStates[s];
    assertClose(
      `${spec.name} d/d${s}`,
      id === null || id === undefined ? zero(B * H) : vals[id]!,
      fd(p.states[s]!, loss),
      TOL,
    );
  }
  for (const q of g.params) {
    const [rows] = shapeOf(q.kind);
    const got = zero(rows * H);
    for (const pg of bw.paramGrads) {
      if (pg.param !== q.name) continue;
      const gv = vals[pg.g]!;
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < rows; k++) {
          for (let j = 0; j < H; j++) {
            got[k * H + j]! += pg.kind === "rowsum"
              ? gv[b * H + j]!
              : vals[pg.a]![b * rows + k]! * gv[b * H + j]!;
          }
        }
      }
    }
    assertClose(`${spec.name} d/d${q.name}`, got, fd(p.weights[q.name]!, loss), TOL);
  }
}

Deno.test("every forward op with a gradient rule has a case here", () => {
  const missing = Object.keys(GRAD_RULES).filter((op) =>
    !["input", "state", "const"].includes(op) && !(op in CASES)
  );
  if (missing.length > 0) throw new Error(`no gradient case for ${missing.join(", ")}`);
});

for (const [op, cases] of Object.entries(CASES)) {
  Deno.test(`the gradient rule of ${op} matches central finite differences on vectors`, () => {
    const rng = new Rng(29, 1);
    for (const spec of cases) for (let trial = 0; trial < 3; trial++) checkCase(spec, rng);
  });
}
