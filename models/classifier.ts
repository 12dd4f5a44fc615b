/**
 * The stacked classifier shared by every engine: token ids `[B, T]` → embedding `[V, E]`
 * → L stacked cells of hidden size H (layer 0 reads the embedding, layer l > 0 reads
 * layer l − 1's `h`) → the readout of the LAST layer's `h` (the original's: after the LAST
 * timestep; or its maximum over the timesteps, see {@linkcode Readout}) → linear `[H, 1]` →
 * one logit per sequence. Loss: mean binary cross-entropy with logits.
 *
 * Parameters live in ONE flat array in the order of {@linkcode paramLayout}, so every
 * engine, checkpoint and exporter agrees on where each tensor is.
 *
 * @module
 */
import { type Arch, cellGraph } from "./cells.ts";
import type { ParamKind } from "./ir.ts";
import { Rng, STREAM } from "./rng.ts";

/**
 * What the head reads of the top layer's `h` `[T, B, H]`:
 * - `"last"`: its value after the last timestep (the original);
 * - `"max"`: its maximum over all T timesteps, per sequence and unit (max pooling over time,
 *   Johnson & Zhang 2016). The gradient goes to the timestep that holds the maximum, the
 *   FIRST such timestep where several hold it (the reference and the native C and CUDA
 *   engines; tfjs and autodiff tools share it among them; ties need equal float values and
 *   do not occur in the tests' random data).
 * Padded steps are not masked: with padding at the start they run the same state from the
 * same pad token in every sequence.
 */
export type Readout = "last" | "max";

/** The readouts, for validation and `--help`. */
export const READOUTS: readonly Readout[] = ["last", "max"];

/** A model's readout: its own, else the original's `"last"`. */
export function readoutOf(cfg: ModelConfig): Readout {
  return cfg.readout ?? "last";
}

/** The shape of a classifier. */
export interface ModelConfig {
  /** Cell architecture. */
  readonly arch: Arch;
  /** Vocabulary size V (rows of the embedding). */
  readonly vocabSize: number;
  /** Embedding size E. */
  readonly embedDim: number;
  /** Hidden size H of every layer. */
  readonly hiddenSize: number;
  /** Number of stacked layers L. */
  readonly layers: number;
  /** What the head reads of the top layer (see {@linkcode Readout}). @default "last" */
  readonly readout?: Readout;
}

/**
 * How a tensor is initialised (the original's scheme, see DESIGN.md §1): standard normal,
 * uniform in `[−bound, bound]`, uniform in `[low, high]` (diagonal weights), or zeros.
 */
export type Init =
  | { readonly kind: "normal" }
  | { readonly kind: "uniform"; readonly bound: number }
  | { readonly kind: "uniformIn"; readonly low: number; readonly high: number }
  | { readonly kind: "zeros" };

/** One tensor of the flat parameter array. */
export interface TensorSpec {
  /** e.g. "embedding", "layers.3.W_hf", "head.W_hy". */
  readonly name: string;
  /** Row-major shape: `[V, E]`, `[I, H]`, `[H, H]`, `[H]` (bias, diagonal), `[H, 1]` or `[1]`. */
  readonly shape: readonly number[];
  /** Offset into the flat array, in elements. */
  readonly offset: number;
  /** Number of elements. */
  readonly size: number;
  /** Its initialisation. */
  readonly init: Init;
  /** Layer index for cell weights, null for embedding and head. */
  readonly layer: number | null;
  /** The cell weight name ("W_hf"), or null for embedding and head. */
  readonly param: string | null;
  /** The cell weight kind, or null. */
  readonly kind: ParamKind | null;
}

/** Where every tensor lives in the flat parameter array. */
export interface ParamLayout {
  /** The model shape the layout was computed for. */
  readonly config: ModelConfig;
  /** Every tensor, in layout order (increasing offsets, no gaps). */
  readonly tensors: readonly TensorSpec[];
  /** Total number of parameters. */
  readonly total: number;
  /** Look up a tensor by name; throws if absent. */
  get(name: string): TensorSpec;
}

/**
 * Computes the flat parameter layout: embedding, then each layer's cell weights in the
 * cell's declaration order, then the head `W_hy [H, 1]` and `b_y [1]`.
 *
 * @param cfg the model shape
 * @returns the layout
 */
export function paramLayout(cfg: ModelConfig): ParamLayout {
  for (const [k, v] of Object.entries(cfg)) {
    if (k === "readout") {
      if (v !== undefined && !READOUTS.includes(v as Readout)) {
        throw new RangeError(
          `Invalid model config: readout must be one of ${READOUTS.join(", ")}, got ${v}`,
        );
      }
      continue;
    }
    if (k !== "arch" && !(Number.isInteger(v) && (v as number) > 0)) {
      throw new RangeError(`Invalid model config: ${k} must be a positive integer, got ${v}`);
    }
  }
  const g = cellGraph(cfg.arch);
  const H = cfg.hiddenSize;
  const tensors: TensorSpec[] = [];
  let offset = 0;
  const add = (t: Omit<TensorSpec, "offset" | "size">) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    tensors.push({ ...t, offset, size });
    offset += size;
  };
  add({
    name: "embedding",
    shape: [cfg.vocabSize, cfg.embedDim],
    init: { kind: "normal" },
    layer: null,
    param: null,
    kind: null,
  });
  for (let l = 0; l < cfg.layers; l++) {
    const I = l === 0 ? cfg.embedDim : H;
    for (const p of g.params) {
      const shape = p.kind === "input" ? [I, H] : p.kind === "hidden" ? [H, H] : [H];
      // kaiming_uniform_(a=√5) on a 2-D [in, out] tensor: bound = 1/√(fan_in), fan_in = out.
      // A diagonal (elementwise recurrent) weight is drawn uniformly from [0, 1], as Li et al.
      // (2018) initialise IndRNN's recurrent weights: each unit starts out keeping between
      // none and all of its own state, never amplifying or flipping it.
      const init: Init = p.kind === "bias"
        ? { kind: "zeros" }
        : p.kind === "diagonal"
        ? { kind: "uniformIn", low: 0, high: 1 }
        : { kind: "uniform", bound: 1 / Math.sqrt(H) };
      add({ name: `layers.${l}.${p.name}`, shape, init, layer: l, param: p.name, kind: p.kind });
    }
  }
  add({
    name: "head.W_hy",
    shape: [H, 1],
    init: { kind: "uniform", bound: 1 },
    layer: null,
    param: null,
    kind: null,
  });
  add({
    name: "head.b_y",
    shape: [1],
    init: { kind: "zeros" },
    layer: null,
    param: null,
    kind: null,
  });
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    config: cfg,
    tensors,
    total: offset,
    get(name) {
      const t = byName.get(name);
      if (t === undefined) throw new Error(`No tensor "${name}" in the ${cfg.arch} layout`);
      return t;
    },
  };
}

/**
 * Draws the original's initialisation from a seed, identically for every engine.
 * Tensors are drawn in layout order from one stream.
 *
 * @param layout the parameter layout
 * @param seed the random seed
 * @returns the parameters, float64
 */
export function initParams(layout: ParamLayout, seed: number): Float64Array {
  const rng = new Rng(seed, STREAM.init);
  const p = new Float64Array(layout.total);
  for (const t of layout.tensors) {
    const init = t.init;
    if (init.kind === "zeros") continue;
    if (init.kind === "normal") {
      rng.fillNormal(p, t.offset, t.offset + t.size);
      continue;
    }
    for (let i = t.offset; i < t.offset + t.size; i++) {
      p[i] = init.kind === "uniformIn"
        ? rng.uniformIn(init.low, init.high)
        : rng.uniformIn(-init.bound, init.bound);
    }
  }
  return p;
}

/**
 * Mean binary cross-entropy with logits, numerically stable, and its gradient.
 * `loss = mean(max(z, 0) − z y + log(1 + e^(−|z|)))`, `dL/dz = (σ(z) − y) / B`.
 *
 * @param logits z `[B]`
 * @param labels y `[B]` in {0, 1}
 * @returns the mean loss and dL/dz
 */
export function bceWithLogits(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
): { loss: number; dlogits: Float64Array } {
  const B = logits.length;
  const d = new Float64Array(B);
  let sum = 0;
  for (let i = 0; i < B; i++) {
    const z = logits[i]!, y = labels[i]!;
    sum += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
    d[i] = (1 / (1 + Math.exp(-z)) - y) / B;
  }
  return { loss: sum / B, dlogits: d };
}
