/**
 * TENSORFLOW.JS lowering of the cell IR: one tfjs op per IR op ({@linkcode TFJS_OPS}), an
 * interpreter for a traced {@linkcode CellGraph}, and the whole stacked classifier built
 * from the flat parameter layout of `classifier.ts`. Gradients come from tfjs autodiff,
 * so `@tensorflow/tfjs` (not `tfjs-core` alone) is imported: it registers the gradients.
 *
 * Two measured facts shape the embedding (DESIGN.md §4; timings here re-measured for
 * V = 120,000, E = 64, T = 200, B = 1000 on the 2-core reference machine):
 * - the built-in `gather` gradient is unusable (cpu loops over the whole vocabulary, wasm
 *   lacks `UnsortedSegmentSum`), so the embedding gradient is ONE dense `scatterND` of the
 *   per-timestep input gradients into `[V, E]` (≈ 0.1 s);
 * - the wasm `Slice` kernel copies its whole input, so cutting a `[T, B, E]` tensor into
 *   timesteps is O(T²) (`tf.unstack` of it: 11 s on wasm, 1.3 s on cpu). The training
 *   path therefore never slices: it gathers each timestep's rows `[B, E]` in JavaScript
 *   (0.12–0.25 s per batch, against 0.6–1.2 s for 200 `tf.gather` calls), makes them
 *   leaves of the autodiff, and scatters their gradients once ({@linkcode tfjsLossAndGrad}).
 *   {@linkcode tfjsForward} is the same model written end to end with a `tf.customGrad`
 *   embedding lookup ({@linkcode embeddingLookup}), for callers that want `tf.grads`
 *   through everything; tests check both give the same gradients.
 *
 * Memory: tfjs frees nothing of an autodiff tape until its backward pass ends, so one
 * tape over a batch holds ~3 `[B, H]` tensors per IR node per layer per step (≈ 11.5 GiB
 * for the original-shape LSTM). {@linkcode tfjsLossAndGrad} can instead checkpoint every
 * k steps: a tape-free forward keeps the states at every k-th step, then each chunk is
 * recomputed on its own tape, backwards, seeded with the gradient of its end states.
 *
 * Every function here creates tensors: call them inside `tf.tidy` (or dispose the results).
 * Shapes: ids `[B, T]` row-major int32 (as everywhere in the project); activations
 * `[B, n]`; parameters in layout order with their layout shapes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { cellGraph } from "./cells.ts";
import { type ParamLayout, readoutOf } from "./classifier.ts";
import type { CellGraph, ForwardOp, Node, OpName } from "./ir.ts";

/** What an op reads while a forward cell graph is interpreted. */
export interface TfjsContext {
  /** Layer input x `[B, I]`. */
  readonly x: tf.Tensor2D;
  /** Previous states `[B, H]` by name. */
  readonly states: Readonly<Record<string, tf.Tensor2D>>;
  /** A weight of the current layer: `[I, H]`, `[H, H]`, or a bias or diagonal `[H]`. */
  weight(name: string): tf.Tensor;
  /** A scalar constant, shared across the whole pass. */
  constant(value: number): tf.Scalar;
  /** Values computed so far, by node id. */
  readonly values: readonly tf.Tensor[];
}

/** The tfjs code of one op. */
export type TfjsImpl = (n: Node, c: TfjsContext) => tf.Tensor;

type Of<K extends Node["op"]> = Extract<Node, { op: K }>;
const val = (c: TfjsContext, id: number): tf.Tensor => {
  const t = c.values[id];
  if (t === undefined) throw new Error(`Cannot lower node ${id} for tfjs: not computed yet`);
  return t;
};
const binary = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): TfjsImpl => (n, c) => {
  const m = n as Of<"add" | "sub" | "mul">;
  return f(val(c, m.a), val(c, m.b));
};
const unary = (f: (a: tf.Tensor) => tf.Tensor): TfjsImpl => (n, c) =>
  f(val(c, (n as Of<"sigmoid" | "tanh" | "relu">).a));

/** One tfjs implementation per forward op; a missing op is a compile error. */
export const TFJS_OPS: Record<ForwardOp, TfjsImpl> = {
  input: (_n, c) => c.x,
  state: (n, c) => {
    const s = c.states[(n as Of<"state">).name];
    if (s === undefined) {
      throw new Error(`Cannot lower state "${(n as Of<"state">).name}" for tfjs: not given`);
    }
    return s;
  },
  const: (n, c) => c.constant((n as Of<"const">).value),
  // a [B, K] @ W [K, H] → [B, H]
  matmul: (n, c) => {
    const m = n as Of<"matmul">;
    return tf.matMul(val(c, m.a) as tf.Tensor2D, c.weight(m.param) as tf.Tensor2D);
  },
  // a [B, H] + b [H], broadcast over the batch
  addBias: (n, c) => {
    const m = n as Of<"addBias">;
    return tf.add(val(c, m.a), c.weight(m.param));
  },
  // a [B, H] ⊙ u [H], broadcast over the batch
  scale: (n, c) => {
    const m = n as Of<"scale">;
    return tf.mul(val(c, m.a), c.weight(m.param));
  },
  add: binary((a, b) => tf.add(a, b)),
  sub: binary((a, b) => tf.sub(a, b)),
  mul: binary((a, b) => tf.mul(a, b)),
  sigmoid: unary((a) => tf.sigmoid(a)),
  tanh: unary((a) => tf.tanh(a)),
  relu: unary((a) => tf.relu(a)),
};

/**
 * Runs one step of a traced cell with tfjs tensors.
 *
 * @param g the forward cell graph
 * @param c the layer input, previous states, weights and constants (`values` is filled here)
 * @returns the new states `[B, H]` by name
 */
export function tfjsCellStep(
  g: CellGraph,
  c: Omit<TfjsContext, "values">,
): Record<string, tf.Tensor2D> {
  const values: tf.Tensor[] = [];
  const ctx: TfjsContext = { ...c, values };
  for (const n of g.nodes) {
    const impl = (TFJS_OPS as Partial<Record<OpName, TfjsImpl>>)[n.op];
    if (impl === undefined) {
      throw new Error(
        `Cannot lower op "${n.op}" for tfjs: it belongs to backward graphs, which tfjs ` +
          `derives by autodiff`,
      );
    }
    values.push(impl(n, ctx));
  }
  const out: Record<string, tf.Tensor2D> = {};
  for (const s of g.states) out[s] = values[g.outputs[s]!] as tf.Tensor2D;
  return out;
}

/** Checks that `params` matches `layout` tensor by tensor. */
function checkParams(layout: ParamLayout, params: readonly tf.Tensor[]): void {
  if (params.length !== layout.tensors.length) {
    throw new RangeError(
      `Cannot build the tfjs classifier: got ${params.length} parameter tensors, the ` +
        `${layout.config.arch} layout has ${layout.tensors.length}`,
    );
  }
  layout.tensors.forEach((t, i) => {
    const p = params[i]!;
    if (p.shape.length !== t.shape.length || p.shape.some((d, k) => d !== t.shape[k])) {
      throw new RangeError(
        `Cannot build the tfjs classifier: tensor "${t.name}" has shape [${p.shape}], ` +
          `the layout says [${t.shape}]`,
      );
    }
  });
}

/** The states of every layer: `states[l][name]` is `[B, H]`. */
export type TfjsStates = Record<string, tf.Tensor2D>[];

/**
 * Tensors carried along the timesteps beside the states, fed the top layer's `h` of each
 * step: the readout `"max"` keeps its running maximum this way (and, for checkpointing,
 * where it was reached; and, backwards, the head gradient's contribution).
 */
interface Pool {
  /** The carried tensors before the run's first step (never disposed by the run), or
   * null: the first step starts them. */
  readonly init: readonly tf.Tensor[] | null;
  /**
   * The carried tensors after global timestep `t`, from those before it (null before
   * the first) and the top layer's `h` at `t`. Must return NEW tensors (the run disposes
   * the previous ones).
   */
  step(prev: readonly tf.Tensor[] | null, h: tf.Tensor2D, t: number): tf.Tensor[];
}

/**
 * The running maximum over time of the top `h` (readout `"max"`), differentiable: tfjs's
 * `maximum` sends the gradient to its first argument on a tie, so to the FIRST timestep
 * holding the maximum, as the reference does.
 */
const MAX_POOL: Pool = {
  init: null,
  step: (prev, h) => [prev === null ? tf.clone(h) : tf.maximum(prev[0]!, h)],
};

/**
 * The running maximum over time of the top `h` and the FIRST timestep reaching it
 * (float32 `[B, H]`), without autodiff: `[max, argmax]`.
 */
const ARGMAX_POOL: Pool = {
  init: null,
  step: (prev, h, t) => {
    if (prev === null) return [tf.clone(h), tf.fill(h.shape, t, "float32")];
    const [m, at] = prev as [tf.Tensor2D, tf.Tensor2D];
    return [tf.maximum(m, h), tf.where(tf.greater(h, m), tf.fill(h.shape, t, "float32"), at)];
  },
};

/**
 * The part of Σ_t sum(h_t ⊙ dh_t) that the readout `"max"` adds: the head's gradient
 * `dTop` at the timestep holding each maximum (`argmax`, float32 `[B, H]`), a scalar.
 */
function maxGradPool(dTop: tf.Tensor2D, argmax: tf.Tensor2D): Pool {
  return {
    init: null,
    step: (prev, h, t) => {
      const at = tf.cast(tf.equal(argmax, tf.scalar(t)), "float32");
      const term = tf.sum(tf.mul(h, tf.mul(dTop, at)));
      return [prev === null ? term : tf.add(prev[0]!, term)];
    },
  };
}

/**
 * The recurrent stack over tfjs tensors, built once per pass from the parameter tensors:
 * per-layer weight lookup, shared constants, the timestep loop and the head.
 */
class Stack {
  readonly g: CellGraph;
  readonly L: number;
  readonly H: number;
  readonly #weights: ((name: string) => tf.Tensor)[];
  readonly #consts = new Map<number, tf.Scalar>();
  readonly #wy: tf.Tensor2D;
  readonly #by: tf.Tensor;

  constructor(layout: ParamLayout, params: readonly tf.Tensor[]) {
    checkParams(layout, params);
    const { arch, hiddenSize, layers } = layout.config;
    this.g = cellGraph(arch);
    this.L = layers;
    this.H = hiddenSize;
    const byName = new Map(layout.tensors.map((t, i) => [t.name, params[i]!]));
    this.#weights = Array.from({ length: layers }, (_, l) => {
      const prefix = `layers.${l}.`;
      return (name: string): tf.Tensor => {
        const w = byName.get(prefix + name);
        if (w === undefined) throw new Error(`No tensor "${prefix + name}" in the ${arch} layout`);
        return w;
      };
    });
    this.#wy = byName.get("head.W_hy")! as tf.Tensor2D;
    this.#by = byName.get("head.b_y")!;
    // Constants live for the whole pass (created once, not once per step).
    for (const n of this.g.nodes) if (n.op === "const") this.#constant(n.value);
  }

  #constant = (v: number): tf.Scalar => {
    let s = this.#consts.get(v);
    if (s === undefined) this.#consts.set(v, s = tf.scalar(v));
    return s;
  };

  /** Zero states for a batch of B (one shared zero tensor). */
  zeros(B: number): TfjsStates {
    const z = tf.zeros([B, this.H]) as tf.Tensor2D;
    return Array.from(
      { length: this.L },
      () => Object.fromEntries(this.g.states.map((s) => [s, z])),
    );
  }

  /** One timestep through all layers. */
  #step(x0: tf.Tensor2D, prev: TfjsStates): TfjsStates {
    const next: TfjsStates = [];
    let x = x0;
    for (let l = 0; l < this.L; l++) {
      const s = tfjsCellStep(this.g, {
        x,
        states: prev[l]!,
        weight: this.#weights[l]!,
        constant: this.#constant,
      });
      next.push(s);
      x = s["h"]!;
    }
    return next;
  }

  /**
   * Runs timesteps `xs` from `initial` (never disposed here). With `tidySteps`, each step
   * is a `tf.tidy` and intermediate states are disposed once the next step has them.
   */
  run(initial: TfjsStates, xs: readonly tf.Tensor2D[], tidySteps: boolean): TfjsStates {
    return this.runPooled(initial, xs, tidySteps, null, 0).states;
  }

  /**
   * {@linkcode run}, also carrying `pool` along the steps (fed the top `h` of each step);
   * `t0` is the global timestep of `xs[0]`. Returns the end states and the carried
   * tensors after the last step (`[]` without a pool).
   */
  runPooled(
    initial: TfjsStates,
    xs: readonly tf.Tensor2D[],
    tidySteps: boolean,
    pool: Pool | null,
    t0: number,
  ): { states: TfjsStates; pooled: tf.Tensor[] } {
    const S = this.g.states, top = this.L - 1;
    let states = initial;
    let carried = pool?.init ?? null;
    xs.forEach((x, i) => {
      if (!tidySteps) {
        states = this.#step(x, states);
        if (pool !== null) carried = pool.step(carried, states[top]!["h"]!, t0 + i);
        return;
      }
      const prev = states, prevCarried = carried;
      const flat = tf.tidy(() => {
        const next = this.#step(x, prev);
        const out: tf.Tensor[] = next.flatMap((s) => S.map((k) => s[k]!));
        if (pool !== null) out.push(...pool.step(prevCarried, next[top]!["h"]!, t0 + i));
        return out;
      });
      if (i > 0) {
        for (const s of prev) for (const k of S) s[k]!.dispose();
        for (const c of prevCarried ?? []) c.dispose();
      }
      states = Array.from(
        { length: this.L },
        (_, l) => Object.fromEntries(S.map((k, j) => [k, flat[l * S.length + j] as tf.Tensor2D])),
      );
      if (pool !== null) carried = flat.slice(this.L * S.length);
    });
    return { states, pooled: carried === null ? [] : [...carried] };
  }

  /** The head: `h W_hy + b_y`, h `[B, H]` → logits `[B]`. */
  logits(top: tf.Tensor2D): tf.Tensor1D {
    return tf.reshape(tf.add(tf.matMul(top, this.#wy), this.#by), [top.shape[0]]);
  }
}

/** Checks the embedded inputs: T ≥ 1 tensors `[B, E]` of one B; returns B. */
function checkEmbedded(layout: ParamLayout, embedded: readonly tf.Tensor2D[]): number {
  const E = layout.config.embedDim;
  const first = embedded[0];
  if (first === undefined) throw new RangeError("Cannot run the tfjs classifier: T = 0");
  const B = first.shape[0];
  for (const x of embedded) {
    if (x.shape[0] !== B || x.shape[1] !== E) {
      throw new RangeError(
        `Cannot run the tfjs classifier: an embedded step has shape [${x.shape}], ` +
          `want [${B}, ${E}]`,
      );
    }
  }
  return B;
}

/** How {@linkcode tfjsLogits} runs the recurrence. */
export interface TfjsLogitsOptions {
  /**
   * Wrap each timestep in `tf.tidy`, so only what autodiff saved (or, outside autodiff,
   * only the states) outlives the step. Results are identical; without autodiff this is
   * what keeps a forward pass small.
   * @default true
   */
  readonly tidySteps?: boolean;
}

/**
 * The recurrent stack and the head: `embedded[t] [B, E]` → L layers × T timesteps → the
 * last layer's `h` after the last step `[B, H]` (readout `"last"`), or its maximum over
 * the timesteps (readout `"max"`) → `h W_hy + b_y` → logits `[B]`.
 * The embedding tensor `params[0]` is not read (the inputs are already embedded).
 *
 * @param layout the parameter layout
 * @param params parameter tensors in layout order, layout shapes
 * @param embedded the embedded input of every timestep, `[T][B, E]`
 * @param options see {@linkcode TfjsLogitsOptions}
 * @returns logits `[B]`
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initParams, paramLayout } from "./classifier.ts";
 * import { tfjsLogits, tfjsParams } from "./tfjs.ts";
 * const layout = paramLayout({ arch: "gru", vocabSize: 10, embedDim: 3, hiddenSize: 2, layers: 2 });
 * tf.tidy(() => {
 *   const params = tfjsParams(layout, initParams(layout, 1));
 *   const xs = [tf.ones([4, 3]), tf.zeros([4, 3])] as tf.Tensor2D[];
 *   tfjsLogits(layout, params, xs).print();
 * });
 * ```
 */
export function tfjsLogits(
  layout: ParamLayout,
  params: readonly tf.Tensor[],
  embedded: readonly tf.Tensor2D[],
  options: TfjsLogitsOptions = {},
): tf.Tensor1D {
  const B = checkEmbedded(layout, embedded);
  const stack = new Stack(layout, params);
  const tidySteps = options.tidySteps ?? true;
  if (readoutOf(layout.config) === "max") {
    const { pooled } = stack.runPooled(stack.zeros(B), embedded, tidySteps, MAX_POOL, 0);
    return stack.logits(pooled[0] as tf.Tensor2D);
  }
  const states = stack.run(stack.zeros(B), embedded, tidySteps);
  return stack.logits(states[stack.L - 1]!["h"]!);
}

/**
 * Mean binary cross-entropy with logits, in the same stable form as `bceWithLogits`:
 * `mean(max(z, 0) − z y + log(1 + e^(−|z|)))`.
 *
 * @param logits z `[B]`
 * @param labels y `[B]` in {0, 1}
 * @returns the mean loss, a scalar
 */
export function tfjsBce(logits: tf.Tensor1D, labels: tf.Tensor1D): tf.Scalar {
  return tf.mean(
    tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, labels)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    ),
  );
}

/**
 * Makes parameter tensors (float32, layout shapes) from a flat array.
 *
 * @param layout the parameter layout
 * @param flat flat parameters in layout order
 * @returns one tensor per layout tensor
 */
export function tfjsParams(
  layout: ParamLayout,
  flat: Float64Array | Float32Array,
): tf.Tensor[] {
  if (flat.length !== layout.total) {
    throw new RangeError(
      `Cannot load parameters: got ${flat.length} values, the layout has ${layout.total}`,
    );
  }
  return layout.tensors.map((t) =>
    tf.tensor(Float32Array.from(flat.subarray(t.offset, t.offset + t.size)), [...t.shape])
  );
}

/** Checks ids `[B, T]` against the vocabulary. */
function checkIds(ids: Int32Array, B: number, T: number, V: number): void {
  if (ids.length < B * T) {
    throw new RangeError(`Cannot embed: ids has ${ids.length} elements, want B*T = ${B * T}`);
  }
  for (let i = 0; i < B * T; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < V)) {
      throw new RangeError(`Cannot embed: token id ${id} at position ${i} is outside [0, ${V})`);
    }
  }
}

/** Transposes ids `[B, T]` to time-major `[T, B]`. */
export function timeMajor(ids: Int32Array, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out[t * B + b] = ids[b * T + t]!;
  return out;
}

/**
 * The embedded input of every timestep, gathered in JavaScript: `[T][B, E]` tensors that
 * are NOT connected to the embedding tensor by autodiff (make them leaves and scatter
 * their gradients, as {@linkcode tfjsLossAndGrad} does). No slicing of a large tensor.
 *
 * @param embedding values of the embedding `[V, E]`, row-major
 * @param E embedding size
 * @param idsTB time-major ids `[T, B]` (see {@linkcode timeMajor})
 * @param B batch size
 * @param T sequence length
 * @returns T tensors `[B, E]`
 */
export function embedSteps(
  embedding: Float32Array,
  E: number,
  idsTB: Int32Array,
  B: number,
  T: number,
): tf.Tensor2D[] {
  const out: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const x = new Float32Array(B * E);
    for (let b = 0; b < B; b++) {
      const id = idsTB[t * B + b]!;
      x.set(embedding.subarray(id * E, (id + 1) * E), b * E);
    }
    out.push(tf.tensor2d(x, [B, E]));
  }
  return out;
}

/**
 * Embedding lookup whose gradient is a dense `scatterND` into `[V, E]` (the built-in
 * `gather` gradient is unusable in tfjs 4.22 under Deno, see the module comment).
 *
 * @param embedding the embedding `[V, E]`
 * @param ids indices `[N]` int32
 * @returns rows `[N, E]`; d/d(embedding) is `scatterND(ids, dy, [V, E])` (duplicates summed)
 */
export function embeddingLookup(embedding: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [V, E] = embedding.shape;
  // ids are saved (not closed over): the forward scope of tf.grads disposes its tensors.
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [emb, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([ids]);
    return {
      value: tf.gather(emb, ids) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.scatterND(tf.expandDims(saved[0]!, 1), dy, [V, E]),
      ],
    };
  });
  return lookup(embedding) as tf.Tensor2D;
}

/**
 * The whole classifier end to end, differentiable w.r.t. every parameter tensor
 * including the embedding (through {@linkcode embeddingLookup} once for all timesteps,
 * then `tf.unstack`). Use it with `tf.grads`; the training engine uses the faster
 * {@linkcode tfjsLossAndGrad}. On wasm the unstack is O(T²) (see the module comment).
 *
 * @param layout the parameter layout
 * @param params parameter tensors in layout order
 * @param ids token ids `[B, T]`, row-major
 * @param B batch size
 * @param T sequence length
 * @returns logits `[B]`
 */
export function tfjsForward(
  layout: ParamLayout,
  params: readonly tf.Tensor[],
  ids: Int32Array,
  B: number,
  T: number,
): tf.Tensor1D {
  checkParams(layout, params);
  const { vocabSize: V, embedDim: E } = layout.config;
  checkIds(ids, B, T, V);
  const idsTB = tf.tensor1d(timeMajor(ids, B, T), "int32");
  const rows = embeddingLookup(params[0] as tf.Tensor2D, idsTB);
  const embedded = tf.unstack(tf.reshape(rows, [T, B, E])) as tf.Tensor2D[];
  return tfjsLogits(layout, params, embedded);
}

/** What {@linkcode tfjsLossAndGrad} returns (tensors owned by the caller's scope). */
export interface TfjsLossAndGrad {
  /** Mean BCE, a scalar. */
  readonly loss: tf.Scalar;
  /** Logits `[B]` of the forward pass. */
  readonly logits: tf.Tensor1D;
  /** Gradient of every parameter tensor, layout order and shapes (embedding dense `[V, E]`). */
  readonly grads: tf.Tensor[];
}

/** How {@linkcode tfjsLossAndGrad} trades memory for time. */
export interface TfjsLossAndGradOptions {
  /**
   * Gradient checkpointing: null (or ≥ T) differentiates the whole sequence on one
   * autodiff tape, which keeps every step's tensors until the backward pass ends (memory
   * ∝ T). A number k first runs the forward pass without a tape, keeping only the states
   * at every k-th timestep, then differentiates chunk by chunk backwards, recomputing
   * each chunk's forward on a tape of k steps (memory ∝ k + T/k; one extra forward).
   * @default null
   */
  readonly checkpointEvery?: number | null;
}

/**
 * Loss, logits and the gradient of every parameter on one batch, by tfjs autodiff. The
 * per-timestep embedded inputs are autodiff leaves (gathered in JavaScript, no slicing);
 * their gradients are scattered into the dense embedding gradient with ONE `scatterND`.
 *
 * @param layout the parameter layout
 * @param params parameter tensors in layout order
 * @param embeddingValues the embedding's values `[V, E]` (e.g. `params[0].dataSync()`)
 * @param ids token ids `[B, T]`, row-major
 * @param labels `[B]` in {0, 1}
 * @param T sequence length
 * @param options see {@linkcode TfjsLossAndGradOptions}
 * @returns loss, logits and gradients
 */
export function tfjsLossAndGrad(
  layout: ParamLayout,
  params: readonly tf.Tensor[],
  embeddingValues: Float32Array,
  ids: Int32Array,
  labels: ArrayLike<number>,
  T: number,
  options: TfjsLossAndGradOptions = {},
): TfjsLossAndGrad {
  checkParams(layout, params);
  const B = labels.length;
  const { vocabSize: V, embedDim: E } = layout.config;
  checkIds(ids, B, T, V);
  const every = options.checkpointEvery ?? null;
  if (every !== null && !(Number.isInteger(every) && every >= 1)) {
    throw new RangeError(`Cannot checkpoint every ${every} steps: want an integer ≥ 1`);
  }
  const idsTB = timeMajor(ids, B, T);
  const xs = embedSteps(embeddingValues, E, idsTB, B, T);
  const y = tf.tensor1d(Float32Array.from(labels));
  const r = every === null || every >= T
    ? wholeTape(layout, params, xs, y)
    : checkpointed(layout, params, xs, y, every);
  const dEmbedded = tf.concat(r.dxs, 0);
  const dEmb = tf.scatterND(tf.tensor2d(idsTB, [T * B, 1], "int32"), dEmbedded, [V, E]);
  for (const t of [...xs, ...r.dxs, dEmbedded, y]) t.dispose();
  return { loss: r.loss, logits: r.logits, grads: [dEmb, ...r.grads] };
}

/** Loss, logits, gradients of the inputs `[T][B, E]` and of params[1..] (layout order). */
interface StackGrads {
  loss: tf.Scalar;
  logits: tf.Tensor1D;
  dxs: tf.Tensor2D[];
  grads: tf.Tensor[];
}

/** The whole sequence on one autodiff tape. */
function wholeTape(
  layout: ParamLayout,
  params: readonly tf.Tensor[],
  xs: tf.Tensor2D[],
  y: tf.Tensor1D,
): StackGrads {
  const T = xs.length;
  const kept: { logits?: tf.Tensor1D } = {};
  const f = (...args: tf.Tensor[]): tf.Scalar => {
    // args are xs and params[1..] themselves: autodiff follows the same tensors.
    const z = tfjsLogits(layout, params, args.slice(0, T) as tf.Tensor2D[]);
    kept.logits = tf.keep(z); // survives the forward tidy of valueAndGrads
    return tfjsBce(z, y);
  };
  const { value, grads } = tf.valueAndGrads(f)([...xs, ...params.slice(1)]);
  // A kept tensor escapes every tidy: hand out a plain copy the caller's scope owns.
  const logits = tf.clone(kept.logits!);
  kept.logits!.dispose();
  return {
    loss: value as tf.Scalar,
    logits,
    dxs: grads.slice(0, T) as tf.Tensor2D[],
    grads: grads.slice(T),
  };
}

/** Gradient checkpointing every `k` timesteps (see {@linkcode TfjsLossAndGradOptions}). */
function checkpointed(
  layout: ParamLayout,
  params: readonly tf.Tensor[],
  xs: tf.Tensor2D[],
  y: tf.Tensor1D,
  k: number,
): StackGrads {
  const T = xs.length, B = xs[0]!.shape[0];
  const stack = new Stack(layout, params);
  const S = stack.g.states, L = stack.L;
  const flatten = (st: TfjsStates) => st.flatMap((s) => S.map((n) => s[n]!));
  const unflatten = (flat: readonly tf.Tensor[]): TfjsStates =>
    Array.from(
      { length: L },
      (_, l) => Object.fromEntries(S.map((n, j) => [n, flat[l * S.length + j] as tf.Tensor2D])),
    );
  const max = readoutOf(layout.config) === "max";
  // Forward without a tape, keeping the states at the start of every chunk (and, for the
  // readout "max", the running maximum of the top h and where it was reached).
  const starts: TfjsStates[] = [];
  let states = stack.zeros(B);
  let pooled: tf.Tensor[] = [];
  for (let c0 = 0; c0 < T; c0 += k) {
    starts.push(states);
    const from = states, before = pooled;
    const pool = max ? { ...ARGMAX_POOL, init: c0 === 0 ? null : before } : null;
    const flat = tf.tidy(() => {
      const r = stack.runPooled(from, xs.slice(c0, c0 + k), true, pool, c0);
      return [...flatten(r.states), ...r.pooled];
    });
    states = unflatten(flat);
    pooled = flat.slice(L * S.length);
    for (const t of before) t.dispose();
  }
  // Head and loss on a tape: gradient of the top h (or of its maximum over time) and of
  // the head's weights.
  const [maxH, argmax] = pooled as tf.Tensor2D[];
  const top = max ? maxH! : states[L - 1]!["h"]!;
  const nHead = 2, cellParams = params.slice(1, params.length - nHead);
  const head = params.slice(params.length - nHead);
  const logits = stack.logits(top);
  const { value: loss, grads: headGrads } = tf.valueAndGrads((h: tf.Tensor) =>
    tfjsBce(stack.logits(h as tf.Tensor2D), y)
  )([top, ...head]);
  for (const t of flatten(states)) t.dispose();
  maxH?.dispose();
  // Backward, chunk by chunk: the vector-Jacobian product of the chunk's end states with
  // their incoming gradients dS, as the gradient of the scalar Σ sum(state ⊙ dS). For the
  // readout "max" the head's gradient enters the top h at the step of each maximum (a
  // pool adds Σ_t sum(h_t ⊙ dTop ⊙ [argmax = t]) over the chunk), not as an end state's.
  let dS: (tf.Tensor | null)[] = new Array(L * S.length).fill(null);
  const dTop = headGrads[0]! as tf.Tensor2D;
  const gradPool = max ? maxGradPool(dTop, argmax!) : null;
  if (!max) dS[(L - 1) * S.length + S.indexOf("h")] = dTop;
  const dxs: tf.Tensor2D[] = new Array(T);
  const acc: (tf.Tensor | null)[] = cellParams.map(() => null);
  for (let c = starts.length - 1; c >= 0; c--) {
    const c0 = c * k, chunk = xs.slice(c0, c0 + k);
    const from = starts[c]!;
    const fromLeaves = c === 0 ? [] : flatten(from); // chunk 0 starts from constant zeros
    const incoming = dS;
    const f = (...args: tf.Tensor[]): tf.Scalar => {
      const init = c === 0 ? from : unflatten(args.slice(0, fromLeaves.length));
      const r = stack.runPooled(init, chunk, true, gradPool, c0);
      const terms = flatten(r.states).flatMap((t, i) => {
        const d = incoming[i];
        return d === null || d === undefined ? [] : [tf.sum(tf.mul(t, d))];
      });
      return tf.addN([...terms, ...r.pooled]) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)([...fromLeaves, ...chunk, ...cellParams]);
    value.dispose();
    for (const d of incoming) d?.dispose();
    dS = grads.slice(0, fromLeaves.length);
    grads.slice(fromLeaves.length, fromLeaves.length + chunk.length)
      .forEach((d, j) => dxs[c0 + j] = d as tf.Tensor2D);
    grads.slice(fromLeaves.length + chunk.length).forEach((g, i) => {
      const prev = acc[i];
      acc[i] = prev === null || prev === undefined ? g : tf.add(prev, g);
      if (prev !== null && prev !== undefined) {
        prev.dispose();
        g.dispose();
      }
    });
    if (c > 0) { for (const t of fromLeaves) t.dispose(); }
  }
  if (max) {
    dTop.dispose();
    argmax!.dispose();
  }
  return {
    loss: loss as tf.Scalar,
    logits,
    dxs,
    grads: [...acc.map((g) => g!), ...headGrads.slice(1)],
  };
}
