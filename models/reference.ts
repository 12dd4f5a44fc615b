/**
 * REFERENCE lowering: plain TypeScript, float64 — the executable specification. Slow and
 * simple on purpose; every fast path (tfjs, native C, CUDA, ONNX) is tested against it on
 * small shapes. It interprets the traced cell graph and the derived backward graph with
 * one table entry per op ({@linkcode REFERENCE_OPS}).
 *
 * Shapes: ids `[B, T]` row-major int32; activations `[B, n]` row-major float64.
 *
 * @module
 */
import { cellGraph } from "./cells.ts";
import { bceWithLogits, type ParamLayout, readoutOf } from "./classifier.ts";
import { backward, type BackwardGraph } from "./grad.ts";
import type { CellGraph, Node, OpName } from "./ir.ts";

/** What an op reads while a graph is interpreted. */
export interface RefContext {
  /** Batch size B. */
  readonly B: number;
  /** Layer input x `[B, I]` (forward graphs). */
  readonly x: Float64Array;
  /** Previous states `[B, H]` by name (forward graphs). */
  readonly states: Readonly<Record<string, Float64Array>>;
  /** Incoming state gradients `[B, H]` by name (backward graphs). */
  readonly gradIn: Readonly<Record<string, Float64Array>>;
  /** Saved forward values by forward node id (backward graphs). */
  readonly saved: readonly Float64Array[];
  /**
   * A weight of the current layer: its data and its `[rows, cols]` (a bias or a diagonal
   * is `[1, H]`).
   */
  weight(name: string): { data: Float64Array; rows: number; cols: number };
  /** Values computed so far, by node id (a `const` is a length-1 array). */
  readonly values: Float64Array[];
}

type Impl = (n: Node, c: RefContext) => Float64Array;
const v = (c: RefContext, id: number) => c.values[id]!;
const ew = (f: (x: number, y: number) => number): Impl => (n, c) => {
  const { a, b } = n as { a: number; b: number };
  const va = v(c, a), vb = v(c, b);
  const len = Math.max(va.length, vb.length);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = f(va.length === 1 ? va[0]! : va[i]!, vb.length === 1 ? vb[0]! : vb[i]!);
  }
  return out;
};
const unary = (f: (x: number) => number): Impl => (n, c) => v(c, (n as { a: number }).a).map(f);

/** One float64 implementation per op. */
export const REFERENCE_OPS: Record<OpName, Impl> = {
  input: (_n, c) => c.x,
  state: (n, c) => c.states[(n as { name: string }).name]!,
  const: (n) => Float64Array.of((n as { value: number }).value),
  fwd: (n, c) => c.saved[(n as { ref: number }).ref]!,
  gradIn: (n, c) => c.gradIn[(n as { name: string }).name]!,
  matmul: (n, c) => {
    const m = n as { a: number; param: string };
    const a = v(c, m.a), w = c.weight(m.param);
    const out = new Float64Array(c.B * w.cols);
    for (let b = 0; b < c.B; b++) {
      for (let k = 0; k < w.rows; k++) {
        const ak = a[b * w.rows + k]!;
        for (let j = 0; j < w.cols; j++) out[b * w.cols + j]! += ak * w.data[k * w.cols + j]!;
      }
    }
    return out;
  },
  matmulT: (n, c) => {
    const m = n as { a: number; param: string };
    const g = v(c, m.a), w = c.weight(m.param);
    const out = new Float64Array(c.B * w.rows);
    for (let b = 0; b < c.B; b++) {
      for (let k = 0; k < w.rows; k++) {
        let s = 0;
        for (let j = 0; j < w.cols; j++) s += g[b * w.cols + j]! * w.data[k * w.cols + j]!;
        out[b * w.rows + k] = s;
      }
    }
    return out;
  },
  addBias: (n, c) => {
    const m = n as { a: number; param: string };
    const a = v(c, m.a), w = c.weight(m.param);
    return a.map((x, i) => x + w.data[i % w.cols]!);
  },
  scale: (n, c) => {
    const m = n as { a: number; param: string };
    const a = v(c, m.a), w = c.weight(m.param);
    return a.map((x, i) => x * w.data[i % w.cols]!);
  },
  add: ew((x, y) => x + y),
  sub: ew((x, y) => x - y),
  mul: ew((x, y) => x * y),
  sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  tanh: unary(Math.tanh),
  relu: unary((x) => Math.max(x, 0)),
  step: unary((x) => (x > 0 ? 1 : 0)),
};

/** Interprets a graph's nodes in order; returns every node's value. */
export function interpret(nodes: readonly Node[], c: Omit<RefContext, "values">): Float64Array[] {
  const values: Float64Array[] = [];
  const ctx: RefContext = { ...c, values };
  for (const n of nodes) values.push(REFERENCE_OPS[n.op](n, ctx));
  return values;
}

/** The values one cell step computed, kept for backward. */
export interface StepTape {
  /** Every node's value `[B, n]` by node id of the cell graph (a `const` has length 1). */
  readonly values: Float64Array[];
}

/** A forward pass and what backward needs. */
export interface ReferenceForward {
  /** One logit per sequence `[B]`. */
  readonly logits: Float64Array;
  /** `tape[t][l]`: the forward values of layer l at timestep t. */
  readonly tape: StepTape[][];
  /** Embedded inputs `[T][B, E]`. */
  readonly embedded: Float64Array[];
}

function weightsOf(layout: ParamLayout, params: Float64Array, layer: number) {
  return (name: string) => {
    const t = layout.get(`layers.${layer}.${name}`);
    const data = params.subarray(t.offset, t.offset + t.size);
    return t.shape.length === 1
      ? { data, rows: 1, cols: t.shape[0]! }
      : { data, rows: t.shape[0]!, cols: t.shape[1]! };
  };
}

/**
 * Forward pass of the stacked classifier in float64.
 *
 * @param layout the parameter layout
 * @param params flat parameters (float64)
 * @param ids token ids `[B, T]`
 * @param B batch size
 * @param T sequence length
 * @returns logits `[B]` and the tape for {@linkcode referenceBackward}
 */
export function referenceForward(
  layout: ParamLayout,
  params: Float64Array,
  ids: Int32Array,
  B: number,
  T: number,
): ReferenceForward {
  const { arch, embedDim: E, hiddenSize: H, layers: L, vocabSize: V } = layout.config;
  if (ids.length !== B * T) {
    throw new RangeError(`ids has ${ids.length} elements, want B*T=${B * T}`);
  }
  const g = cellGraph(arch);
  const emb = layout.get("embedding");
  let states: Record<string, Float64Array>[] = Array.from(
    { length: L },
    () => Object.fromEntries(g.states.map((s) => [s, new Float64Array(B * H)])),
  );
  const tape: StepTape[][] = [];
  const embedded: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    let x: Float64Array = new Float64Array(B * E);
    for (let b = 0; b < B; b++) {
      const id = ids[b * T + t]!;
      if (id < 0 || id >= V) throw new RangeError(`Token id ${id} is outside [0, ${V})`);
      x.set(params.subarray(emb.offset + id * E, emb.offset + (id + 1) * E), b * E);
    }
    embedded.push(x);
    const row: StepTape[] = [];
    const next: Record<string, Float64Array>[] = [];
    for (let l = 0; l < L; l++) {
      const values = interpret(g.nodes, {
        B,
        x,
        states: states[l]!,
        gradIn: {},
        saved: [],
        weight: weightsOf(layout, params, l),
      });
      row.push({ values });
      next.push(Object.fromEntries(g.states.map((s) => [s, values[g.outputs[s]!]!])));
      x = next[l]!["h"]!;
    }
    tape.push(row);
    states = next;
  }
  const hOut = g.outputs["h"]!;
  const top = readoutOf(layout.config) === "max"
    ? maxOverTime(tape.map((row) => row[L - 1]!.values[hOut]!), B * H).max
    : states[L - 1]!["h"]!;
  const wy = layout.get("head.W_hy"), by = layout.get("head.b_y");
  const logits = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = params[by.offset]!;
    for (let j = 0; j < H; j++) s += top[b * H + j]! * params[wy.offset + j]!;
    logits[b] = s;
  }
  return { logits, tape, embedded };
}

/**
 * The elementwise maximum of `T` arrays of `n` values, and for each element the FIRST
 * timestep that holds it (the readout `"max"`).
 */
function maxOverTime(
  steps: readonly Float64Array[],
  n: number,
): { max: Float64Array; at: Int32Array } {
  const max = new Float64Array(n).fill(-Infinity), at = new Int32Array(n);
  steps.forEach((h, t) => {
    for (let i = 0; i < n; i++) {
      if (h[i]! > max[i]!) {
        max[i] = h[i]!;
        at[i] = t;
      }
    }
  });
  return { max, at };
}

const BACKWARD = new Map<CellGraph, BackwardGraph>();
function backwardOf(g: CellGraph): BackwardGraph {
  let bw = BACKWARD.get(g);
  if (bw === undefined) BACKWARD.set(g, bw = backward(g));
  return bw;
}

/**
 * Backward pass through time in float64: the gradient of the loss w.r.t. every parameter.
 *
 * @param layout the parameter layout
 * @param params flat parameters
 * @param ids token ids `[B, T]`
 * @param fwd the forward pass
 * @param dlogits dLoss/dlogit `[B]`
 * @returns the gradient, same layout as `params`
 */
export function referenceBackward(
  layout: ParamLayout,
  params: Float64Array,
  ids: Int32Array,
  fwd: ReferenceForward,
  dlogits: Float64Array,
): Float64Array {
  const { arch, embedDim: E, hiddenSize: H, layers: L } = layout.config;
  const B = dlogits.length, T = fwd.tape.length;
  const g = cellGraph(arch), bw = backwardOf(g);
  const grad = new Float64Array(layout.total);
  const emb = layout.get("embedding");
  const wy = layout.get("head.W_hy"), by = layout.get("head.b_y");
  // Head: logit = h_top W_hy + b_y, h_top the last step's h or its maximum over time.
  const hOut = g.outputs["h"]!;
  const pooled = readoutOf(layout.config) === "max"
    ? maxOverTime(fwd.tape.map((row) => row[L - 1]!.values[hOut]!), B * H)
    : null;
  const topH = pooled?.max ?? fwd.tape[T - 1]![L - 1]!.values[hOut]!;
  const dTop = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    const d = dlogits[b]!;
    grad[by.offset]! += d;
    for (let j = 0; j < H; j++) {
      grad[wy.offset + j]! += topH[b * H + j]! * d;
      dTop[b * H + j] = d * params[wy.offset + j]!;
    }
  }
  const zeros = () => Object.fromEntries(g.states.map((s) => [s, new Float64Array(B * H)]));
  let carry: Record<string, Float64Array>[] = Array.from({ length: L }, zeros);
  for (let t = T - 1; t >= 0; t--) {
    let fromAbove: Float64Array | null = pooled !== null
      ? dTop.map((d, i) => pooled.at[i] === t ? d : 0)
      : t === T - 1
      ? dTop
      : null;
    const nextCarry: Record<string, Float64Array>[] = Array.from({ length: L }, zeros);
    for (let l = L - 1; l >= 0; l--) {
      const gradIn: Record<string, Float64Array> = { ...carry[l]! };
      if (fromAbove !== null) gradIn["h"] = gradIn["h"]!.map((x, i) => x + fromAbove![i]!);
      const I = l === 0 ? E : H;
      const values = interpret(bw.nodes, {
        B,
        x: new Float64Array(0),
        states: {},
        gradIn,
        saved: fwd.tape[t]![l]!.values,
        weight: weightsOf(layout, params, l),
      });
      for (const pg of bw.paramGrads) {
        const tp = layout.get(`layers.${l}.${pg.param}`);
        const gv = values[pg.g]!;
        if (pg.kind === "rowsum") {
          for (let i = 0; i < B * H; i++) grad[tp.offset + (i % H)]! += gv[i]!;
        } else {
          const av = values[pg.a]!;
          const K = tp.shape[0]!;
          for (let b = 0; b < B; b++) {
            for (let k = 0; k < K; k++) {
              const ak = av[b * K + k]!;
              for (let j = 0; j < H; j++) grad[tp.offset + k * H + j]! += ak * gv[b * H + j]!;
            }
          }
        }
      }
      for (const s of g.states) {
        const id = bw.dStates[s];
        if (id !== null && id !== undefined) nextCarry[l]![s] = values[id]!.slice();
      }
      fromAbove = bw.dx === null ? new Float64Array(B * I) : values[bw.dx]!;
    }
    // fromAbove is now dL/d(embedded input at t).
    for (let b = 0; b < B; b++) {
      const id = ids[b * T + t]!;
      for (let e = 0; e < E; e++) grad[emb.offset + id * E + e]! += fromAbove![b * E + e]!;
    }
    carry = nextCarry;
  }
  return grad;
}

/**
 * Loss, logits and gradient of the classifier on one batch, in float64.
 *
 * @param layout the parameter layout
 * @param params flat parameters
 * @param ids token ids `[B, T]`
 * @param labels `[B]` in {0, 1}
 * @param T sequence length
 * @returns mean BCE loss, logits and the full gradient
 */
export function referenceLossAndGrad(
  layout: ParamLayout,
  params: Float64Array,
  ids: Int32Array,
  labels: ArrayLike<number>,
  T: number,
): { loss: number; logits: Float64Array; grad: Float64Array } {
  const B = labels.length;
  const fwd = referenceForward(layout, params, ids, B, T);
  const { loss, dlogits } = bceWithLogits(fwd.logits, labels);
  return { loss, logits: fwd.logits, grad: referenceBackward(layout, params, ids, fwd, dlogits) };
}
