/**
 * The op set and the IR of recurrent cells: the one small file every lowering reads.
 *
 * A cell is written once as a typed function over {@linkcode CellOps}; tracing it yields a
 * {@linkcode CellGraph}, a list of nodes in topological order. Backward graphs
 * (see `grad.ts`) use the same node type with four more ops, so every lowering is a
 * `Record<OpName, …>` and a missing op is a compile error.
 *
 * Dimension letters used in comments throughout the project:
 * B batch, T timesteps (sequence length), L layers, E embedding size, V vocabulary size,
 * I a layer's input size (E for layer 0, H above), H hidden size, K a matmul's inner size.
 *
 * @module
 */

/** `Omit` distributed over a union, so each node variant keeps its own fields. */
export type NodeInit = Node extends infer N ? N extends Node ? Omit<N, "id"> : never : never;

/**
 * What a weight is: an input matrix `[I, H]`, a state matrix `[H, H]`, a bias `[H]`, or a
 * diagonal `[H]` (an elementwise recurrent weight `u ⊙ h`, as IndRNN's).
 */
export type ParamKind = "input" | "hidden" | "bias" | "diagonal";

/** Every op a graph may hold, grouped by arity. */
export const OPS = {
  /** Leaves of a forward graph: the layer input `x [B, I]`, a state `[B, H]`, a scalar. */
  leaf: ["input", "state", "const"],
  /** Leaves of a backward graph: a saved forward value, the incoming gradient of a state. */
  backwardLeaf: ["fwd", "gradIn"],
  /**
   * `matmul(a [B, K], W [K, H]) → [B, H]`; `addBias(a [B, H], b [H]) → [B, H]`;
   * `scale(a [B, H], u [H]) = a ⊙ u → [B, H]` (a diagonal weight, broadcast over the batch).
   */
  param: ["matmul", "addBias", "scale"],
  /** Backward only: `matmulT(g [B, H], W [K, H]) = g Wᵀ → [B, K]`. */
  paramT: ["matmulT"],
  /** Elementwise on equal shapes, or with a `const` scalar on either side. */
  binary: ["add", "sub", "mul"],
  /** Elementwise activations. */
  unary: ["sigmoid", "tanh", "relu"],
  /** Backward only: `step(a) = 1 where a > 0, else 0` (the derivative of relu). */
  backwardUnary: ["step"],
} as const;

/** The name of any op in a forward or backward graph. */
export type OpName = (typeof OPS)[keyof typeof OPS][number];
/** Ops of a forward cell graph. */
export type ForwardOp = Exclude<OpName, "fwd" | "gradIn" | BackwardOnlyOp>;
/** Ops that occur only in backward graphs, besides their leaves. */
export type BackwardOnlyOp = (typeof OPS.paramT)[number] | (typeof OPS.backwardUnary)[number];
/** Elementwise binary ops. */
export type BinaryOp = (typeof OPS.binary)[number];
/** Elementwise unary ops of a cell (activations). */
export type UnaryOp = (typeof OPS.unary)[number];
/** Elementwise unary ops of backward graphs only. */
export type BackwardUnaryOp = (typeof OPS.backwardUnary)[number];

/** One node of a graph; its `id` is its index in the graph's `nodes`. */
export type Node =
  | { op: "input"; id: number; size: "I" }
  | { op: "state"; id: number; size: "H"; name: string }
  | { op: "const"; id: number; size: "scalar"; value: number }
  | { op: "fwd"; id: number; size: Size; ref: number }
  | { op: "gradIn"; id: number; size: "H"; name: string }
  | { op: "matmul"; id: number; size: "H"; a: number; param: string }
  | { op: "matmulT"; id: number; size: Size; a: number; param: string }
  | { op: "addBias"; id: number; size: "H"; a: number; param: string }
  | { op: "scale"; id: number; size: "H"; a: number; param: string }
  | { op: BinaryOp; id: number; size: Size; a: number; b: number }
  | { op: UnaryOp; id: number; size: Size; a: number }
  | { op: BackwardUnaryOp; id: number; size: Size; a: number };

/** The width of a node's value: the layer input (I), hidden (H), or a broadcast scalar. */
export type Size = "I" | "H" | "scalar";

/** A traced cell: what every lowering consumes. */
export interface CellGraph {
  /** Architecture name, e.g. "lstm". */
  readonly name: string;
  /** State names; the first is always "h", the state the next layer and the head read. */
  readonly states: readonly string[];
  /** Weights in declaration order (the order of the flat parameter layout). */
  readonly params: readonly { readonly name: string; readonly kind: ParamKind }[];
  /** Nodes in topological order; `nodes[i].id === i`. */
  readonly nodes: readonly Node[];
  /** The node holding each new state, by state name. */
  readonly outputs: Readonly<Record<string, number>>;
}

/** An opaque handle to a traced value. */
export interface Val {
  /** The id of the node holding the value (for the tracer; cells never read it). */
  readonly __val: number;
}

/** An opaque handle to a weight of a given kind. */
export interface Param<K extends ParamKind> {
  /** The weight's name (for the tracer; cells never read it). */
  readonly __param: string;
  /** The weight's kind, so that the compiler checks each weight is used as declared. */
  readonly kind: K;
}

/** The ops a cell is written with. Each returns a new value `[B, H]` unless noted. */
export interface CellOps {
  /** `a [B, K] @ W [K, H]`: K is I when `a` is the layer input, H otherwise. */
  matmul(a: Val, w: Param<"input" | "hidden">): Val;
  /** `a [B, H] + b [H]`, broadcast over the batch. */
  addBias(a: Val, b: Param<"bias">): Val;
  /** `a [B, H] ⊙ u [H]`, broadcast over the batch: a diagonal (elementwise) weight. */
  scale(a: Val, u: Param<"diagonal">): Val;
  /** Elementwise sum. */
  add(a: Val | number, b: Val | number): Val;
  /** Elementwise difference. */
  sub(a: Val | number, b: Val | number): Val;
  /** Elementwise product. */
  mul(a: Val | number, b: Val | number): Val;
  /** Logistic sigmoid. */
  sigmoid(a: Val): Val;
  /** Hyperbolic tangent. */
  tanh(a: Val): Val;
  /** Rectified linear unit, `max(a, 0)`. */
  relu(a: Val): Val;
  /** Convenience, built from the ops above: `x Wx + h Wh + b`. */
  affine(x: Val, wx: Param<"input" | "hidden">, h: Val, wh: Param<"hidden">, b: Param<"bias">): Val;
}

/**
 * How a cell maps onto one of ONNX's built-in recurrent operators (`RNN`, `GRU`, `LSTM`):
 * the operator, its gates in ONNX's order, each with the cell's input weight, state weight
 * and bias, and whether to negate them; plus integer attributes of the operator. The ONNX
 * exporter checks it against the cell's declared weights, and parity tests check it
 * numerically against the cell's own graph.
 */
export interface OnnxBuiltinMapping<W extends string = string> {
  /** The ONNX operator. */
  readonly op: "RNN" | "GRU" | "LSTM";
  /** Gates in the operator's order. */
  readonly gates: readonly {
    readonly x: W;
    readonly h: W;
    readonly b: W;
    readonly negate: boolean;
  }[];
  /** Integer attributes of the operator, e.g. `{ linear_before_reset: 0 }`. */
  readonly attrs: Readonly<Record<string, number>>;
}

/** A cell written once: typed states and typed weights, and what runs need to know of it. */
export interface CellSpec<S extends string, W extends Record<string, ParamKind>> {
  /** Architecture name: an identifier, unique among the registered cells. */
  readonly name: string;
  /** How reports write the name (e.g. "LSTM"); default: the name in upper case. */
  readonly label?: string;
  /** State names, "h" first. */
  readonly states: readonly ["h", ...S[]];
  /** Weights and their kinds, in layout order. */
  readonly weights: W;
  /** One timestep: from the layer input and the previous states to the new states. */
  step(
    o: CellOps,
    x: Val,
    s: { readonly [K in "h" | S]: Val },
    w: { readonly [K in keyof W]: Param<W[K]> },
  ): { [K in "h" | S]: Val };
  /**
   * The cell's gate-bias initialisation (profiles with `init: "remember"`): initial values of
   * bias weights that decide how much of the state a step keeps; biases not named start at
   * 0, as everywhere else. Omitted: the cell has no such gate.
   */
  readonly gateBiasInit?: { readonly [K in keyof W]?: number };
  /** Its mapping onto an ONNX built-in recurrent operator, if it has one. */
  readonly onnxBuiltin?: OnnxBuiltinMapping<keyof W & string>;
}

/**
 * Traces a cell into its IR graph, checking every weight is used the way its kind says.
 *
 * @param spec the cell written with {@linkcode CellOps}
 * @returns the traced graph
 * @example
 * ```ts
 * import { trace } from "./ir.ts";
 * import { rnn } from "./cells.ts";
 * const g = trace(rnn);
 * console.log(g.nodes.length);
 * ```
 */
export function trace<S extends string, W extends Record<string, ParamKind>>(
  spec: CellSpec<S, W>,
): CellGraph {
  const name = typeof spec?.name === "string" ? spec.name : String(spec?.name);
  const fail = (why: string): never => {
    throw new TraceError(`Cannot trace cell "${name}": ${why}`);
  };
  checkShape(spec, fail);
  const nodes: Node[] = [];
  const used = new Set<string>();
  const kinds = spec.weights as Record<string, ParamKind>;
  const push = (n: NodeInit): Val => {
    const id = nodes.length;
    nodes.push({ ...n, id } as Node);
    return { __val: id };
  };
  const node = (v: unknown, what: string): Node => {
    const id = (v as Val | null)?.__val;
    const n = typeof id === "number" ? nodes[id] : undefined;
    return n ?? fail(`${what} is not a value of this cell (got ${describe(v)})`);
  };
  const param = (w: unknown, what: string): [string, ParamKind] => {
    const p = (w as Param<ParamKind> | null)?.__param;
    const kind = typeof p === "string" ? kinds[p] : undefined;
    return kind === undefined ? fail(`${what} is not a declared weight (got ${describe(w)})`) : [
      p as string,
      kind,
    ];
  };
  const lift = (v: Val | number, what: string): Node =>
    typeof v === "number"
      ? (Number.isFinite(v) ? node(push({ op: "const", size: "scalar", value: v }), what) : fail(
        `${what} is the number ${v}; constants must be finite`,
      ))
      : node(v, what);
  const ew = (op: BinaryOp, a: Val | number, b: Val | number): Val => {
    const na = lift(a, `the first operand of ${op}`), nb = lift(b, `the second operand of ${op}`);
    if (na.size !== "scalar" && nb.size !== "scalar" && na.size !== nb.size) {
      fail(`${op} of values of different widths (${na.size} and ${nb.size})`);
    }
    const size = na.size === "scalar" ? nb.size : na.size;
    return push({ op, size, a: na.id, b: nb.id });
  };
  const unary = (op: UnaryOp) => (a: Val): Val => {
    const na = node(a, `the operand of ${op}`);
    return push({ op, size: na.size, a: na.id });
  };
  const ops: CellOps = {
    matmul(a, w) {
      const na = node(a, "the first operand of matmul");
      const [p, kind] = param(w, "the weight of matmul");
      const want: ParamKind = na.size === "I" ? "input" : "hidden";
      if (kind !== want) {
        fail(
          `weight "${p}" is declared "${kind}" but multiplies a value of width ${na.size} ` +
            `(needs "${want}")`,
        );
      }
      used.add(p);
      return push({ op: "matmul", size: "H", a: na.id, param: p });
    },
    addBias(a, b) {
      const na = node(a, "the first operand of addBias");
      const [p, kind] = param(b, "the bias of addBias");
      if (kind !== "bias") fail(`weight "${p}" is declared "${kind}" but is added as a bias`);
      if (na.size !== "H") fail(`bias "${p}" added to a value of width ${na.size} (needs H)`);
      used.add(p);
      return push({ op: "addBias", size: "H", a: na.id, param: p });
    },
    scale(a, u) {
      const na = node(a, "the first operand of scale");
      const [p, kind] = param(u, "the weight of scale");
      if (kind !== "diagonal") {
        fail(
          `weight "${p}" is declared "${kind}" but scales a value elementwise (needs "diagonal")`,
        );
      }
      if (na.size !== "H") fail(`diagonal "${p}" scales a value of width ${na.size} (needs H)`);
      used.add(p);
      return push({ op: "scale", size: "H", a: na.id, param: p });
    },
    add: (a, b) => ew("add", a, b),
    sub: (a, b) => ew("sub", a, b),
    mul: (a, b) => ew("mul", a, b),
    sigmoid: unary("sigmoid"),
    tanh: unary("tanh"),
    relu: unary("relu"),
    affine(x, wx, h, wh, b) {
      return ops.addBias(ops.add(ops.matmul(x, wx), ops.matmul(h, wh)), b);
    },
  };
  const x = push({ op: "input", size: "I" });
  const s: Record<string, Val> = {};
  for (const state of spec.states) s[state] = push({ op: "state", size: "H", name: state });
  const w: Record<string, Param<ParamKind>> = {};
  for (const [p, kind] of Object.entries(kinds)) w[p] = { __param: p, kind };
  const strict = <T extends object>(o: T, what: (k: string) => string): T =>
    new Proxy(o, {
      get: (t, k) => (typeof k !== "string" || k in t) ? Reflect.get(t, k) : fail(what(k)),
    });
  let out: Record<string, unknown>;
  try {
    out = spec.step(
      strict(ops, (k) => `op "${k}" is not in the op set (valid: ${Object.keys(ops).join(", ")})`),
      x,
      strict(s, (k) => `state "${k}" is read but not declared`) as { [K in "h" | S]: Val },
      strict(w, (k) => `weight "${k}" is used but not declared`) as {
        [K in keyof W]: Param<W[K]>;
      },
    ) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TraceError) throw e;
    return fail(`step() threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (out === null || typeof out !== "object") {
    fail(`step() must return an object of states, got ${describe(out)}`);
  }
  for (const k of Object.keys(out)) {
    if (!spec.states.includes(k as S)) fail(`state "${k}" is written but not declared`);
  }
  const outputs: Record<string, number> = {};
  for (const state of spec.states) {
    if (out[state] === undefined) fail(`state "${state}" is declared but never written`);
    const n = node(out[state], `the new state "${state}"`);
    if (n.size !== "H") fail(`the new state "${state}" has width ${n.size} (needs H)`);
    outputs[state] = n.id;
  }
  for (const p of Object.keys(kinds)) {
    if (!used.has(p)) fail(`weight "${p}" is declared but unused`);
  }
  return {
    name,
    states: [...spec.states],
    params: Object.entries(kinds).map(([p, kind]) => ({ name: p, kind })),
    nodes,
    outputs,
  };
}

/** A cell that cannot be traced: the message names the cell and the problem. */
export class TraceError extends Error {
  override name = "TraceError";
}

const PARAM_KINDS: readonly ParamKind[] = ["input", "hidden", "bias", "diagonal"];

/** Checks the parts of a spec that tracing relies on, before running its step. */
function checkShape(spec: unknown, fail: (why: string) => never): void {
  if (spec === null || typeof spec !== "object") fail(`a cell must be an object`);
  const c = spec as Record<string, unknown>;
  if (typeof c.name !== "string" || c.name === "") fail(`"name" must be a non-empty string`);
  const states = c.states;
  if (!Array.isArray(states) || states.length === 0 || states[0] !== "h") {
    fail(`"states" must be an array of names starting with "h", got ${describe(states)}`);
  }
  for (const st of states as unknown[]) {
    if (typeof st !== "string" || st === "") fail(`state names must be non-empty strings`);
  }
  if (new Set(states as string[]).size !== (states as string[]).length) {
    fail(`"states" names a state twice: ${JSON.stringify(states)}`);
  }
  const weights = c.weights;
  if (weights === null || typeof weights !== "object" || Array.isArray(weights)) {
    fail(`"weights" must be an object from weight name to kind (${PARAM_KINDS.join(", ")})`);
  }
  for (const [p, kind] of Object.entries(weights as object)) {
    if (!PARAM_KINDS.includes(kind as ParamKind)) {
      fail(`weight "${p}" has kind ${describe(kind)} (valid: ${PARAM_KINDS.join(", ")})`);
    }
  }
  if (typeof c.step !== "function") fail(`"step" must be a function`);
}

/** A short description of a value for an error message. */
function describe(v: unknown): string {
  if (v === undefined || v === null || typeof v === "number" || typeof v === "boolean") {
    return String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "function") return "a function";
  return Array.isArray(v) ? "an array" : "an object";
}
