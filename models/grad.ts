/**
 * Backward pass of a cell, derived symbolically from its IR: one gradient rule per op
 * (the table {@linkcode GRAD_RULES}), applied in reverse over the traced forward graph.
 * The result is another graph of the same node type, so every lowering that can run a
 * forward graph can run its backward graph too.
 *
 * Conventions (stated once): activation gradients are ASSIGNED (a backward graph returns
 * `dx` and `dState`); parameter gradients ACCUMULATE (a lowering adds each contribution
 * to the parameter's gradient buffer: `dW += aᵀ g` for matrices, `db += Σ_B g` for
 * biases and, with `g` the product `a ⊙ g`, for diagonal weights).
 *
 * @module
 */
import type { CellGraph, ForwardOp, Node, NodeInit, Size } from "./ir.ts";

/** One contribution to a parameter's gradient. */
export type ParamGrad =
  /** `dW [K, H] += a [B, K]ᵀ · g [B, H]` */
  | { readonly param: string; readonly kind: "outer"; readonly a: number; readonly g: number }
  /** `db [H] += Σ_B g [B, H]` */
  | { readonly param: string; readonly kind: "rowsum"; readonly g: number };

/** The backward graph of one cell step. Node ids index `nodes`. */
export interface BackwardGraph {
  /** The forward graph this was derived from. */
  readonly forward: CellGraph;
  /** Nodes in topological order; leaves are `fwd` (a saved forward value), `gradIn`, `const`. */
  readonly nodes: readonly Node[];
  /** Gradient of the loss w.r.t. the layer input `x [B, I]`, or null if x is unused. */
  readonly dx: number | null;
  /** Gradient w.r.t. each previous state `[B, H]`, or null where it does not matter. */
  readonly dStates: Readonly<Record<string, number | null>>;
  /** Parameter gradient contributions, in a deterministic order. */
  readonly paramGrads: readonly ParamGrad[];
  /** Forward node ids the backward reads (what a lowering must keep or recompute). */
  readonly saved: readonly number[];
}

/** Builds backward nodes, sharing one leaf per saved forward value and per constant. */
export class BackwardBuilder {
  readonly nodes: Node[] = [];
  readonly #fwdLeaf = new Map<number, number>();
  readonly #consts = new Map<number, number>();
  readonly #forward: CellGraph;

  constructor(forward: CellGraph) {
    this.#forward = forward;
  }

  #push(n: NodeInit): number {
    const id = this.nodes.length;
    this.nodes.push({ ...n, id } as Node);
    return id;
  }

  #size(id: number): Size {
    return this.nodes[id]!.size;
  }

  /** The forward value `ref` as a backward leaf (a constant stays a constant). */
  val(ref: number): number {
    const f = this.#forward.nodes[ref]!;
    if (f.op === "const") return this.constant(f.value);
    let id = this.#fwdLeaf.get(ref);
    if (id === undefined) {
      id = this.#push({ op: "fwd", size: f.size, ref });
      this.#fwdLeaf.set(ref, id);
    }
    return id;
  }

  /** A scalar constant. */
  constant(value: number): number {
    let id = this.#consts.get(value);
    if (id === undefined) {
      id = this.#push({ op: "const", size: "scalar", value });
      this.#consts.set(value, id);
    }
    return id;
  }

  /** The incoming gradient of an output state. */
  gradIn(name: string): number {
    return this.#push({ op: "gradIn", size: "H", name });
  }

  /** `a + b` */
  add(a: number, b: number): number {
    return this.#push({ op: "add", size: this.#ew(a, b), a, b });
  }
  /** `a − b` */
  sub(a: number, b: number): number {
    return this.#push({ op: "sub", size: this.#ew(a, b), a, b });
  }
  /** `a · b` elementwise */
  mul(a: number, b: number): number {
    return this.#push({ op: "mul", size: this.#ew(a, b), a, b });
  }
  /** `g [B, H] · Wᵀ → [B, K]` where K is `size` */
  matmulT(g: number, param: string, size: Size): number {
    return this.#push({ op: "matmulT", size, a: g, param });
  }
  /** `g [B, H] ⊙ u [H]` for a diagonal weight u */
  scale(g: number, param: string): number {
    return this.#push({ op: "scale", size: "H", a: g, param });
  }
  /** `1 where a > 0, else 0`, elementwise */
  step(a: number): number {
    return this.#push({ op: "step", size: this.#size(a), a });
  }

  #ew(a: number, b: number): Size {
    const sa = this.#size(a);
    return sa === "scalar" ? this.#size(b) : sa;
  }
}

/** What a rule returns: a gradient for each non-constant input, and parameter contributions. */
export interface RuleResult {
  readonly inputs: readonly (readonly [input: number, grad: number])[];
  readonly params: readonly ParamGrad[];
}

/** A gradient rule: given the forward node and the gradient of its output. */
export type GradRule = (n: Node, g: number, b: BackwardBuilder, fwd: CellGraph) => RuleResult;

const none: RuleResult = { inputs: [], params: [] };
const isConst = (fwd: CellGraph, id: number) => fwd.nodes[id]!.op === "const";
const binaryInputs = (
  fwd: CellGraph,
  n: Node & { a: number; b: number },
  ga: () => number,
  gb: () => number,
): RuleResult => ({
  inputs: [
    ...(isConst(fwd, n.a) ? [] : [[n.a, ga()] as const]),
    ...(isConst(fwd, n.b) ? [] : [[n.b, gb()] as const]),
  ],
  params: [],
});

/**
 * One gradient rule per forward op. Leaves have no inputs: the walk records their
 * gradients as `dx` and `dStates`.
 */
export const GRAD_RULES: Record<ForwardOp, GradRule> = {
  input: () => none,
  state: () => none,
  const: () => none,
  // y = a W:  da = g Wᵀ;  dW += aᵀ g
  matmul: (n, g, b, fwd) => {
    const m = n as Extract<Node, { op: "matmul" }>;
    return {
      inputs: [[m.a, b.matmulT(g, m.param, fwd.nodes[m.a]!.size)]],
      params: [{ param: m.param, kind: "outer", a: b.val(m.a), g }],
    };
  },
  // y = a + bias:  da = g;  dbias += Σ_B g
  addBias: (n, g) => {
    const m = n as Extract<Node, { op: "addBias" }>;
    return { inputs: [[m.a, g]], params: [{ param: m.param, kind: "rowsum", g }] };
  },
  // y = a ⊙ u:  da = g ⊙ u;  du += Σ_B a ⊙ g
  scale: (n, g, b) => {
    const m = n as Extract<Node, { op: "scale" }>;
    return {
      inputs: [[m.a, b.scale(g, m.param)]],
      params: [{ param: m.param, kind: "rowsum", g: b.mul(g, b.val(m.a)) }],
    };
  },
  // y = a + b:  da = g, db = g
  add: (n, g, _b, fwd) => binaryInputs(fwd, n as Node & { a: number; b: number }, () => g, () => g),
  // y = a − b:  da = g, db = −g
  sub: (n, g, b, fwd) =>
    binaryInputs(
      fwd,
      n as Node & { a: number; b: number },
      () => g,
      () => b.mul(g, b.constant(-1)),
    ),
  // y = a b:  da = g b, db = g a
  mul: (n, g, b, fwd) => {
    const m = n as Node & { a: number; b: number };
    return binaryInputs(fwd, m, () => b.mul(g, b.val(m.b)), () => b.mul(g, b.val(m.a)));
  },
  // y = σ(a):  da = g y (1 − y)
  sigmoid: (n, g, b) => {
    const y = b.val(n.id);
    return {
      inputs: [[(n as { a: number }).a, b.mul(g, b.mul(y, b.sub(b.constant(1), y)))]],
      params: [],
    };
  },
  // y = tanh(a):  da = g (1 − y²)
  tanh: (n, g, b) => {
    const y = b.val(n.id);
    return {
      inputs: [[(n as { a: number }).a, b.mul(g, b.sub(b.constant(1), b.mul(y, y)))]],
      params: [],
    };
  },
  // y = max(a, 0):  da = g · step(y)  (y > 0 exactly where a > 0; 0 at a = 0, as torch)
  relu: (n, g, b) => ({
    inputs: [[(n as { a: number }).a, b.mul(g, b.step(b.val(n.id)))]],
    params: [],
  }),
};

/**
 * Derives the backward graph of a traced cell.
 *
 * @param forward the traced cell
 * @returns its backward graph
 * @example
 * ```ts
 * import { cellGraph } from "./cells.ts";
 * import { backward } from "./grad.ts";
 * const bw = backward(cellGraph("gru"));
 * console.log(bw.paramGrads.length);
 * ```
 */
export function backward(forward: CellGraph): BackwardGraph {
  const b = new BackwardBuilder(forward);
  const grads = new Map<number, number>();
  const accumulate = (id: number, g: number) => {
    const prev = grads.get(id);
    grads.set(id, prev === undefined ? g : b.add(prev, g));
  };
  for (const name of forward.states) accumulate(forward.outputs[name]!, b.gradIn(name));
  const paramGrads: ParamGrad[] = [];
  let dx: number | null = null;
  const dStates: Record<string, number | null> = {};
  for (const name of forward.states) dStates[name] = null;
  for (let id = forward.nodes.length - 1; id >= 0; id--) {
    const g = grads.get(id);
    if (g === undefined) continue;
    const n = forward.nodes[id]!;
    if (n.op === "input") dx = g;
    else if (n.op === "state") dStates[n.name] = g;
    const op = n.op as ForwardOp;
    const rule = GRAD_RULES[op];
    if (rule === undefined) throw new Error(`Cannot differentiate op "${n.op}": no gradient rule`);
    const r = rule(n, g, b, forward);
    for (const [input, gi] of r.inputs) accumulate(input, gi);
    paramGrads.push(...r.params);
  }
  const saved = [
    ...new Set(b.nodes.flatMap((n) => (n.op === "fwd" ? [n.ref] : []))),
  ].sort((x, y) => x - y);
  return { forward, nodes: b.nodes, dx, dStates, paramGrads, saved };
}
