/**
 * The renderer base shared by the generated-code lowerings (C now, CUDA later): it turns
 * a traced cell graph and its derived backward graph into straight-line code over "lane
 * values", and wraps them in the classifier's per-group forward and backward passes.
 *
 * A lane value (`lane_t`) holds one float for each of `lanes` sequences processed
 * together: a SIMD vector of 8 floats in C (GCC vector extensions), a plain `float` in
 * CUDA (one thread per sequence). Every op is written once, over lane values, in the
 * table {@linkcode Renderer.ops} (tinygrad's `code_for_op`): a `Record<OpName, …>`, so a
 * missing op is a compile error. Shapes are compile-time constants (H, I, E, L), so the
 * C compiler unrolls the tiny matmuls completely.
 *
 * Layout of values inside a cell function: a value of H elements (or of I ≤
 * {@linkcode REG_MAX} elements) is a set of locals `p12_0 … p12_7` ("reg"); a wider value
 * (the layer-0 input, I = E = 64) is an array indexed in a loop ("mem"). For a WIDE hidden
 * size (H > {@linkcode REG_MAX}, {@linkcode isWide}) every value is an array — the states
 * and incoming gradients are read in place — and matmuls, transposed matmuls and the
 * gradient flush are loops over blocks of {@linkcode BLOCK} accumulators held in registers,
 * so code size grows with H / BLOCK rather than H².
 *
 * Backward recomputes each cell's forward from the saved states (or reads the values it
 * needs from the tape, {@linkcode Renderer.saveForward}), writes the operands of the
 * parameter gradients to a per-timestep stash, and every 16 timesteps a generated
 * `rb_flush_I*` turns the stash into `dW += Σ_t a ⊗ g` with the accumulators in registers.
 *
 * SEAM FOR THE CUDA TARGET (what a `CudaRenderer extends Renderer` must override):
 * - `target`, `lanes` (1: one thread per sequence) and `prelude()`, which must define:
 *   `lane_t` (`float`); `rb_w_t`, the weight element the cell code reads (`float`: the C
 *   target broadcasts weights into lane vectors once per call, CUDA reads them as they
 *   are); `RB_FN` (`__device__ __forceinline__`); `RB_GROUP_FN` (`__device__`);
 *   `RB_RESTRICT` (`__restrict__`); `RB_LANE(v, i)` (`(v)`); `RB_ZERO` (`0.0f`);
 *   `RB_PREFETCH(p, n)` (empty); and the array math functions named in `math`,
 *   `void rb_sigmoid_v(const lane_t *x, lane_t *y, int n)` and `rb_tanh_v` (e.g. a loop
 *   over `__expf`/`tanhf`; their accuracy is the target's to test).
 * - `kernels()`: the C target emits OpenMP loops over groups with per-thread scratch
 *   (tape, stash, accumulators) and host entry points. CUDA emits `extern "C" __global__`
 *   kernels: thread index → sequence (group of 1) calling `rb_group_forward` /
 *   `rb_group_backward` with per-sequence scratch in global memory; then a reduction of
 *   the per-sequence parameter-gradient partials in a fixed order (no float atomics if
 *   runs must be bitwise reproducible), the embedding scatter (rows sorted by token id)
 *   and Adam as kernels launched from TypeScript through the driver API.
 * - Everything else — the op table, the cell and flush functions, `rb_gather`,
 *   `rb_group_forward`, `rb_group_backward` — is shared text and needs no change; `ops`
 *   entries may be overridden one by one where a target needs other code for an op, and
 *   an op a target cannot lower throws {@linkcode LoweringError}
 *   (`Cannot lower op "tanh" for cuda: …`).
 *
 * @module
 */
import { backward, type BackwardGraph } from "../grad.ts";
import { cellGraph } from "../cells.ts";
import type { ModelConfig } from "../classifier.ts";
import type { CellGraph, Node, OpName, ParamKind } from "../ir.ts";

/** Values wider than this many elements live in arrays; narrower ones in locals. */
export const REG_MAX = 16;

/** Accumulators a blocked matrix loop keeps in registers at once (wide shapes). */
export const BLOCK = 8;

/**
 * Whether a hidden size is "wide": above {@linkcode REG_MAX}, every vector value of a
 * cell (input, states, intermediates) lives in an array, matmuls are loops over blocks of
 * {@linkcode BLOCK} accumulators, and nothing of size H is unrolled.
 */
export function isWide(H: number): boolean {
  return H > REG_MAX;
}

/** `[start, width]` of consecutive blocks of at most `width` covering `0 … n - 1`. */
function blocks(n: number, width: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j0 = 0; j0 < n; j0 += width) out.push([j0, Math.min(width, n - j0)]);
  return out;
}

/** Thrown when an op cannot be lowered for a target. */
export class LoweringError extends Error {
  /**
   * A lowering error.
   * @param op the op that could not be lowered
   * @param target the target's name ("c", "cuda")
   * @param why the reason
   */
  constructor(op: string, target: string, why: string) {
    super(`Cannot lower op "${op}" for ${target}: ${why}`);
    this.name = "LoweringError";
  }
}

/** The model shape a program is generated for (compile-time constants). */
export interface ProgramShape {
  /** The traced forward cell. */
  readonly graph: CellGraph;
  /** Its derived backward graph. */
  readonly backward: BackwardGraph;
  /** Embedding size E (layer 0's input size). */
  readonly embedDim: number;
  /** Hidden size H. */
  readonly hiddenSize: number;
  /** Number of layers L. */
  readonly layers: number;
}

/** The program shape of a classifier: its cell traced and differentiated, and its sizes. */
export function programShape(model: ModelConfig): ProgramShape {
  const graph = cellGraph(model.arch);
  return {
    graph,
    backward: backward(graph),
    embedDim: model.embedDim,
    hiddenSize: model.hiddenSize,
    layers: model.layers,
  };
}

/** Where a weight sits inside one layer's block of the flat parameter array. */
export interface WeightSlot {
  /** The weight's name in the cell, e.g. "W_hf". */
  readonly name: string;
  /** Input matrix, state matrix or bias. */
  readonly kind: ParamKind;
  /** Offset in elements from the start of the layer's block. */
  readonly offset: number;
  /** Rows K (I for input matrices, H for state matrices, 1 for biases). */
  readonly rows: number;
}

/**
 * Weight offsets of one layer with input size `I`, in declaration order (the layout of
 * `models/classifier.ts`): `[I, H]` input matrices, `[H, H]` state matrices, `[H]` biases.
 */
export function layerSlots(graph: CellGraph, I: number, H: number): WeightSlot[] {
  let offset = 0;
  return graph.params.map((p) => {
    const rows = p.kind === "input" ? I : p.kind === "hidden" ? H : 1;
    const slot = { name: p.name, kind: p.kind, offset, rows };
    offset += rows * H;
    return slot;
  });
}

/** Total weights of one layer with input size `I`. */
export function layerSize(graph: CellGraph, I: number, H: number): number {
  return layerSlots(graph, I, H).reduce((s, w) => s + w.rows * H, 0);
}

/**
 * Where the backward step of a layer with input size `I` leaves, per timestep, the
 * values parameter gradients are built from: every distinct `a` of an outer product
 * (K values) and every distinct gradient `g` (H values). {@linkcode Renderer.flush}
 * turns a block of timesteps of them into `dW += Σ_t a ⊗ g`, `db += Σ_t g`.
 */
export function stashLayout(
  shape: ProgramShape,
  I: number,
): { slots: Map<number, number>; stride: number } {
  const bw = shape.backward, H = shape.hiddenSize;
  const slots = new Map<number, number>();
  let stride = 0;
  const add = (node: number, size: number) => {
    if (!slots.has(node)) {
      slots.set(node, stride);
      stride += size;
    }
  };
  const rows = (param: string) => layerSlots(shape.graph, I, H).find((w) => w.name === param)!.rows;
  for (const pg of bw.paramGrads) if (pg.kind === "outer") add(pg.a, rows(pg.param));
  for (const pg of bw.paramGrads) add(pg.g, H);
  return { slots, stride };
}

/** Formats a number as a C float literal. */
export function floatLiteral(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`Cannot write ${v} as a C float literal`);
  let s = String(Math.fround(v));
  if (!/[.e]/.test(s)) s += ".0";
  return v < 0 ? `(${s}f)` : `${s}f`;
}

/** How a node's value is held in generated code. */
export type Storage =
  | { readonly kind: "reg"; readonly name: string; readonly size: number }
  | { readonly kind: "mem"; readonly name: string; readonly size: number }
  | { readonly kind: "const"; readonly literal: string };

/**
 * The emission context of one graph inside one cell function: storage of every node,
 * element access, weights. Op emitters (the `ops` table) only talk to this.
 */
export class Emitter {
  /** Storage of each node, by node id. */
  readonly storage: Storage[] = [];
  readonly #slots: Map<string, WeightSlot>;

  /**
   * Assigns storage to every node.
   * @param renderer the target
   * @param nodes the graph's nodes
   * @param prefix local-name prefix ("p" forward values, "q" backward values)
   * @param I this layer's input size
   * @param H hidden size
   * @param slots this layer's weights
   * @param leaf storage of leaves the caller provides (input, states, gradIn, fwd aliases)
   */
  constructor(
    readonly renderer: Renderer,
    readonly nodes: readonly Node[],
    readonly prefix: string,
    readonly I: number,
    readonly H: number,
    slots: readonly WeightSlot[],
    leaf: (n: Node) => Storage | null,
  ) {
    this.#slots = new Map(slots.map((s) => [s.name, s]));
    for (const n of nodes) {
      const given = leaf(n);
      if (given !== null) this.storage.push(given);
      else if (n.op === "const") {
        this.storage.push({ kind: "const", literal: floatLiteral(n.value) });
      } else {
        const size = this.sizeOf(n);
        const name = `${prefix}${n.id}`;
        this.storage.push(
          size > REG_MAX || isWide(H) ? { kind: "mem", name, size } : { kind: "reg", name, size },
        );
      }
    }
  }

  /** Number of elements of a node's value. */
  sizeOf(n: Node): number {
    return n.size === "H" ? this.H : n.size === "I" ? this.I : 1;
  }

  /** The C expression of element `j` of node `id`; `j` is a number or a loop variable. */
  el(id: number, j: number | string): string {
    const s = this.storage[id]!;
    if (s.kind === "const") return s.literal;
    if (s.kind === "mem") return `${s.name}[${j}]`;
    if (s.size === 1) return `${s.name}_0`;
    if (typeof j === "string") {
      throw new Error(`Internal error: register value ${s.name} indexed by loop variable ${j}`);
    }
    return `${s.name}_${j}`;
  }

  /** The weight slot of a parameter; throws naming the parameter if absent. */
  slot(param: string): WeightSlot {
    const s = this.#slots.get(param);
    if (s === undefined) throw new Error(`Internal error: no weight "${param}" in this layer`);
    return s;
  }

  /** Declares node `id`'s value (locals or an array) and assigns `value(j)` to each element. */
  define(id: number, value: (j: number | string) => string, comment: string): string[] {
    const s = this.storage[id]!;
    const lane = this.renderer.laneType;
    if (s.kind === "const") throw new Error(`Internal error: cannot define constant node ${id}`);
    const out = [`/* ${comment} */`];
    if (s.kind === "mem") {
      out.push(`${lane} ${s.name}[${s.size}];`);
      out.push(`for (int k = 0; k < ${s.size}; k++) ${s.name}[k] = ${value("k")};`);
    } else {
      for (let j = 0; j < s.size; j++) out.push(`const ${lane} ${this.el(id, j)} = ${value(j)};`);
    }
    return out;
  }
}

/** Emits the statements that compute one node. */
export type OpEmitter = (n: Node, e: Emitter) => string[];

const describe = (e: Emitter, id: number): string => {
  const s = e.storage[id]!;
  return s.kind === "const" ? s.literal : `${s.name} [${s.size}]`;
};

/** An emitter for leaves the cell function's caller must bind (never emitted as code). */
const boundLeaf = (what: string): OpEmitter => (n, e) => {
  if (e.storage[n.id]?.kind === "const") return [];
  throw new LoweringError(n.op, e.renderer.target, `${what} must be bound by the caller`);
};

const elementwise = (f: (a: string, b: string) => string): OpEmitter => (n, e) => {
  const m = n as Extract<Node, { op: "add" | "sub" | "mul" }>;
  return e.define(
    n.id,
    (j) => f(e.el(m.a, j), e.el(m.b, j)),
    `${describe(e, n.id)} = ${n.op}(${describe(e, m.a)}, ${describe(e, m.b)})`,
  );
};

const unary = (fn: "sigmoid" | "tanh"): OpEmitter => (n, e) => {
  const m = n as Extract<Node, { op: "sigmoid" | "tanh" }>;
  const f = e.renderer.math[fn];
  const dst = e.storage[n.id]!, size = e.sizeOf(n), lane = e.renderer.laneType;
  const out = [`/* ${describe(e, n.id)} = ${fn}(${describe(e, m.a)}) */`];
  if (dst.kind === "const") throw new Error(`Internal error: constant ${fn} node ${n.id}`);
  // Array form: the target evaluates all `size` values step by step, interleaved.
  if (dst.kind === "mem") {
    const src = e.storage[m.a]!;
    if (src.kind !== "mem") throw new LoweringError(fn, e.renderer.target, "mixed storage");
    out.push(`${lane} ${dst.name}[${size}];`, `${f}(${src.name}, ${dst.name}, ${size});`);
    return out;
  }
  const ins = Array.from({ length: size }, (_, j) => e.el(m.a, j)).join(", ");
  out.push(`${lane} ${dst.name}_in[${size}] = {${ins}}, ${dst.name}_out[${size}];`);
  out.push(`${f}(${dst.name}_in, ${dst.name}_out, ${size});`);
  for (let j = 0; j < size; j++) {
    out.push(`const ${lane} ${e.el(n.id, j)} = ${dst.name}_out[${j}];`);
  }
  return out;
};

/**
 * The default op table over lane values (shared by C and CUDA; every expression is valid
 * for both a GCC vector `lane_t` and a scalar `float`). `W` is the layer's weight block.
 */
export function defaultOps(): Record<OpName, OpEmitter> {
  return {
    input: boundLeaf("the layer input"),
    state: boundLeaf("a state"),
    const: () => [], // a literal, inlined where used
    fwd: boundLeaf("a saved forward value"),
    gradIn: boundLeaf("an incoming state gradient"),
    // out [H] = a [K] @ W [K, H]
    matmul: (n, e) => {
      const m = n as Extract<Node, { op: "matmul" }>;
      const w = e.slot(m.param), H = e.H, K = w.rows;
      const a = e.storage[m.a]!;
      const out: string[] = [
        `/* ${describe(e, n.id)} = ${describe(e, m.a)} @ ${m.param} [${K}, ${H}] */`,
      ];
      const lane = e.renderer.laneType;
      const dst = e.storage[n.id]!;
      if (dst.kind === "mem") {
        // Wide: blocks of BLOCK output columns, accumulators in registers over k.
        out.push(`${lane} ${dst.name}[${H}];`);
        for (const [j0, bw] of blocks(H, BLOCK)) {
          const c = (i: number) => `${dst.name}_c${i}`;
          out.push(`{`);
          out.push(
            `  ${lane} ${
              Array.from({ length: bw }, (_, i) => `${c(i)} = ${e.renderer.zero}`).join(", ")
            };`,
          );
          out.push(`  for (int k = 0; k < ${K}; k++) {`);
          out.push(`    const ${lane} ak = ${e.el(m.a, "k")};`);
          out.push(`    const rb_w_t *RB_RESTRICT wk = W + ${w.offset} + k * ${H} + ${j0};`);
          for (let i = 0; i < bw; i++) out.push(`    ${c(i)} += ak * wk[${i}];`);
          out.push(`  }`);
          for (let i = 0; i < bw; i++) out.push(`  ${dst.name}[${j0 + i}] = ${c(i)};`);
          out.push(`}`);
        }
      } else if (a.kind === "mem") {
        for (let j = 0; j < H; j++) out.push(`${lane} ${e.el(n.id, j)} = ${e.renderer.zero};`);
        out.push(`for (int k = 0; k < ${K}; k++) {`);
        out.push(`  const ${lane} ak = ${e.el(m.a, "k")};`);
        out.push(`  const rb_w_t *RB_RESTRICT wk = W + ${w.offset} + k * ${H};`);
        for (let j = 0; j < H; j++) out.push(`  ${e.el(n.id, j)} += ak * wk[${j}];`);
        out.push(`}`);
      } else {
        for (let j = 0; j < H; j++) {
          out.push(`${lane} ${e.el(n.id, j)} = ${e.el(m.a, 0)} * W[${w.offset + j}];`);
        }
        for (let k = 1; k < K; k++) {
          for (let j = 0; j < H; j++) {
            out.push(`${e.el(n.id, j)} += ${e.el(m.a, k)} * W[${w.offset + k * H + j}];`);
          }
        }
      }
      return out;
    },
    // out [K] = g [H] @ W [K, H]ᵀ
    matmulT: (n, e) => {
      const m = n as Extract<Node, { op: "matmulT" }>;
      const w = e.slot(m.param), H = e.H;
      const dst = e.storage[n.id]!;
      if (dst.kind === "mem" && e.storage[m.a]!.kind === "mem") {
        // Wide: blocks of BLOCK output rows k, accumulators in registers over j.
        const lane = e.renderer.laneType;
        const out = [
          `/* ${describe(e, n.id)} = ${describe(e, m.a)} @ ${m.param}ᵀ */`,
          `${lane} ${dst.name}[${w.rows}];`,
        ];
        for (const [k0, bw] of blocks(w.rows, BLOCK)) {
          const c = (i: number) => `${dst.name}_c${i}`;
          out.push(`{`);
          out.push(
            `  ${lane} ${
              Array.from({ length: bw }, (_, i) => `${c(i)} = ${e.renderer.zero}`).join(", ")
            };`,
          );
          out.push(`  for (int j = 0; j < ${H}; j++) {`);
          out.push(`    const ${lane} gj = ${e.el(m.a, "j")};`);
          for (let i = 0; i < bw; i++) {
            out.push(`    ${c(i)} += gj * W[${w.offset + (k0 + i) * H} + j];`);
          }
          out.push(`  }`);
          for (let i = 0; i < bw; i++) out.push(`  ${dst.name}[${k0 + i}] = ${c(i)};`);
          out.push(`}`);
        }
        return out;
      }
      const dot = (k: number | string) => {
        const row = typeof k === "number" ? `${w.offset + k * H}` : `${w.offset} + ${k} * ${H}`;
        return Array.from({ length: H }, (_, j) => `${e.el(m.a, j)} * W[${row} + ${j}]`).join(
          " + ",
        );
      };
      return e.define(n.id, dot, `${describe(e, n.id)} = ${describe(e, m.a)} @ ${m.param}ᵀ`);
    },
    // out [H] = a [H] + b [H] (broadcast over lanes)
    addBias: (n, e) => {
      const m = n as Extract<Node, { op: "addBias" }>;
      const w = e.slot(m.param);
      return e.define(
        n.id,
        (j) =>
          `${e.el(m.a, j)} + W[${typeof j === "number" ? w.offset + j : `${w.offset} + ${j}`}]`,
        `${describe(e, n.id)} = ${describe(e, m.a)} + ${m.param}`,
      );
    },
    add: elementwise((a, b) => `${a} + ${b}`),
    sub: elementwise((a, b) => `${a} - ${b}`),
    mul: elementwise((a, b) => `${a} * ${b}`),
    sigmoid: unary("sigmoid"),
    tanh: unary("tanh"),
  };
}

/**
 * The renderer base. Subclasses supply the target parts (see the module comment for
 * what the CUDA target must override).
 */
export abstract class Renderer {
  /** Target name used in messages: "c", "cuda". */
  abstract readonly target: string;
  /** Sequences per lane value: the SIMD width in C, 1 in CUDA. */
  abstract readonly lanes: number;
  /** code_for_op: one emitter per op. Override entries to specialise an op. */
  readonly ops: Record<OpName, OpEmitter> = defaultOps();
  /**
   * Whether the forward pass saves the values backward reads (after the states in each
   * tape entry) instead of backward recomputing them from the saved states.
   */
  saveForward = false;
  /** The lane value type name. */
  readonly laneType: string = "lane_t";
  /** The zero lane value. */
  readonly zero: string = "RB_ZERO";
  /**
   * Math functions in array form, defined by the prelude:
   * `void f(const lane_t *x, lane_t *y, int n)` computes `y[i] = f(x[i])` for `i < n`.
   */
  readonly math: Record<"sigmoid" | "tanh", string> = {
    sigmoid: "rb_sigmoid_v",
    tanh: "rb_tanh_v",
  };

  /**
   * Types, qualifiers and math functions. Must define `lane_t`, `RB_FN`, `RB_RESTRICT`,
   * `RB_LANE(v, i)`, `RB_ZERO`, `rb_sigmoid`, `rb_tanh`.
   */
  abstract prelude(shape: ProgramShape): string;

  /** Kernels and host entry points (target-specific: OpenMP loops, CUDA kernels). */
  abstract kernels(shape: ProgramShape): string;

  /** Compiler flags the target needs beyond the defaults (none by default). */
  extraFlags(): string[] {
    return [];
  }

  /** Emits the statements of a graph's nodes through the op table, checking each op. */
  emitNodes(e: Emitter, skip: (n: Node) => boolean = () => false): string[] {
    const out: string[] = [];
    for (const n of e.nodes) {
      if (skip(n)) continue;
      const emit = this.ops[n.op];
      if (emit === undefined) {
        throw new LoweringError(n.op, this.target, "no entry in the op table");
      }
      out.push(...emit(n, e));
    }
    return out;
  }

  /** Storage of a forward leaf inside a cell function: x from `x`, states from `s`. */
  #forwardLeaf(g: CellGraph, I: number, H: number, prefix: string): (n: Node) => Storage | null {
    return (n) => {
      if (n.op === "input") {
        return I > REG_MAX || isWide(H)
          ? { kind: "mem", name: "x", size: I }
          : { kind: "reg", name: `${prefix}${n.id}`, size: I };
      }
      if (n.op === "state") {
        // Wide: read in place from the state array.
        const si = g.states.indexOf(n.name);
        return isWide(H)
          ? { kind: "mem", name: `(s + ${si * H})`, size: H }
          : { kind: "reg", name: `${prefix}${n.id}`, size: H };
      }
      return null;
    };
  }

  /** Loads the register-held leaves (small inputs, states) from their arrays. */
  #loadLeaves(e: Emitter, g: CellGraph): string[] {
    const out: string[] = [];
    const H = e.H;
    for (const n of e.nodes) {
      const s = e.storage[n.id]!;
      if (n.op === "input" && s.kind === "reg") {
        out.push(`/* ${s.name} [${s.size}] = layer input x */`);
        for (let k = 0; k < s.size; k++) {
          out.push(`const ${this.laneType} ${e.el(n.id, k)} = x[${k}];`);
        }
      } else if (n.op === "state" && s.kind === "reg") {
        const si = g.states.indexOf(n.name);
        out.push(`/* ${s.name} [${H}] = state ${n.name} */`);
        for (let j = 0; j < H; j++) {
          out.push(`const ${this.laneType} ${e.el(n.id, j)} = s[${si * H + j}];`);
        }
      }
    }
    return out;
  }

  /**
   * With {@linkcode Renderer.saveForward}: where each forward value backward reads (other
   * than the layer input and the states) sits in a tape entry, after the S·H states.
   */
  savedLayout(shape: ProgramShape, I: number): { slots: Map<number, number>; size: number } {
    const slots = new Map<number, number>();
    let size = 0;
    if (!this.saveForward) return { slots, size };
    for (const id of shape.backward.saved) {
      const n = shape.graph.nodes[id]!;
      if (isLeaf(n)) continue;
      slots.set(id, size);
      size += n.size === "H" ? shape.hiddenSize : n.size === "I" ? I : 1;
    }
    return { slots, size };
  }

  /** Lane values per tape entry: the states, then what backward reads if saved. */
  tapeStride(shape: ProgramShape): number {
    const S = shape.graph.states.length * shape.hiddenSize;
    return S + Math.max(...this.inputSizes(shape).map((I) => this.savedLayout(shape, I).size));
  }

  /**
   * The forward step of one layer with input size `I`:
   * `x [I]`, `s [S][H]` previous states → `o [S][H]` new states (lane values), followed in
   * `o` by the values backward reads when {@linkcode Renderer.saveForward} is set.
   */
  cellForward(shape: ProgramShape, I: number): string {
    const { graph: g, hiddenSize: H } = shape;
    const slots = layerSlots(g, I, H);
    const e = new Emitter(this, g.nodes, "p", I, H, slots, this.#forwardLeaf(g, I, H, "p"));
    const body = [...this.#loadLeaves(e, g), ...this.emitNodes(e, isLeaf)];
    body.push(`/* new states */`);
    g.states.forEach((s, si) => {
      const id = g.outputs[s]!;
      if (e.storage[id]!.kind === "mem") {
        body.push(`for (int j = 0; j < ${H}; j++) o[${si * H} + j] = ${e.el(id, "j")};`);
      } else for (let j = 0; j < H; j++) body.push(`o[${si * H + j}] = ${e.el(id, j)};`);
    });
    const SH = g.states.length * H;
    for (const [id, off] of this.savedLayout(shape, I).slots) {
      const st = e.storage[id]!;
      body.push(`/* saved for backward: ${describe(e, id)} */`);
      if (st.kind === "mem") {
        body.push(`for (int k = 0; k < ${st.size}; k++) o[${SH + off} + k] = ${e.el(id, "k")};`);
      } else if (st.kind === "reg") {
        for (let j = 0; j < st.size; j++) body.push(`o[${SH + off + j}] = ${e.el(id, j)};`);
      }
    }
    return [
      `/* ${g.name} cell forward, I=${I}: x [${I}], s [${g.states.length}][${H}] (${
        g.states.join(", ")
      })`,
      ` * → o [${g.states.length}][${H}]. W: this layer's weights, ${weightsComment(slots, H)}. */`,
      `RB_FN void rb_cell_fwd_I${I}(const rb_w_t *RB_RESTRICT W, const ${this.laneType} *RB_RESTRICT x,`,
      `    const ${this.laneType} *RB_RESTRICT s, ${this.laneType} *RB_RESTRICT o) {`,
      ...body.map((l) => `  ${l}`),
      `}`,
    ].join("\n");
  }

  /**
   * The backward step of one layer with input size `I`, recomputing its forward values
   * from `x` and `s` first: gradients `gin [S][H]` of the new states →
   * `dx [I]` (assigned), `ds [S][H]` (assigned), and this timestep's stash `st` (the
   * operands of the parameter gradients, see {@linkcode stashLayout}).
   */
  cellBackward(shape: ProgramShape, I: number): string {
    const { graph: g, backward: bw, hiddenSize: H } = shape;
    const slots = layerSlots(g, I, H);
    const fe = new Emitter(this, g.nodes, "p", I, H, slots, this.#forwardLeaf(g, I, H, "p"));
    // Backward leaves: `fwd` aliases the recomputed (or saved) forward value; `gradIn` is
    // loaded.
    const be = new Emitter(this, bw.nodes, "q", I, H, slots, (n) => {
      if (n.op === "fwd") return fe.storage[n.ref]!;
      if (n.op === "gradIn") {
        // Wide: read in place from the incoming-gradient array.
        return isWide(H)
          ? { kind: "mem", name: `(gin + ${g.states.indexOf(n.name) * H})`, size: H }
          : { kind: "reg", name: `q${n.id}`, size: H };
      }
      return null;
    });
    const body: string[] = [];
    if (this.saveForward) {
      body.push(
        `/* ---- forward values saved by rb_cell_fwd_I${I} ---- */`,
        ...this.#loadLeaves(fe, g),
      );
      for (const [id, off] of this.savedLayout(shape, I).slots) {
        const st = fe.storage[id]!;
        if (st.kind === "mem") {
          body.push(`const ${this.laneType} *RB_RESTRICT ${st.name} = sv + ${off};`);
        } else if (st.kind === "reg") {
          for (let j = 0; j < st.size; j++) {
            body.push(`const ${this.laneType} ${fe.el(id, j)} = sv[${off + j}];`);
          }
        }
      }
    } else {
      const needed = forwardNeeded(g, bw);
      body.push(
        `/* ---- forward, recomputed (only what backward reads) ---- */`,
        ...this.#loadLeaves(fe, g),
        ...this.emitNodes(fe, (n) => isLeaf(n) || !needed.has(n.id)),
      );
    }
    body.push(`/* ---- backward ---- */`);
    for (const n of bw.nodes) {
      if (n.op !== "gradIn" || be.storage[n.id]!.kind !== "reg") continue;
      const si = g.states.indexOf(n.name);
      body.push(`/* q${n.id} [${H}] = incoming gradient of state ${n.name} */`);
      for (let j = 0; j < H; j++) {
        body.push(`const ${this.laneType} ${be.el(n.id, j)} = gin[${si * H + j}];`);
      }
    }
    body.push(...this.emitNodes(be, (n) => n.op === "fwd" || n.op === "gradIn"));
    body.push(`/* ---- operands of the parameter gradients, for rb_flush_I${I} ---- */`);
    const stash = stashLayout(shape, I);
    for (const [node, offset] of stash.slots) {
      const st = be.storage[node]!;
      const size = st.kind === "const" ? 1 : st.size;
      body.push(`/* st[${offset}…] = ${describe(be, node)} */`);
      if (st.kind === "mem") {
        body.push(`for (int k = 0; k < ${size}; k++) st[${offset} + k] = ${be.el(node, "k")};`);
      } else for (let k = 0; k < size; k++) body.push(`st[${offset + k}] = ${be.el(node, k)};`);
    }
    body.push(`/* ---- input and state gradients (assign) ---- */`);
    if (bw.dx === null) body.push(`for (int k = 0; k < ${I}; k++) dx[k] = ${this.zero};`);
    else if (be.storage[bw.dx]!.kind === "mem") {
      body.push(`for (int k = 0; k < ${I}; k++) dx[k] = ${be.el(bw.dx, "k")};`);
    } else for (let k = 0; k < I; k++) body.push(`dx[${k}] = ${be.el(bw.dx, k)};`);
    g.states.forEach((s, si) => {
      const id = bw.dStates[s] ?? null;
      if (id !== null && be.storage[id]!.kind === "mem") {
        body.push(`for (int j = 0; j < ${H}; j++) ds[${si * H} + j] = ${be.el(id, "j")};`);
      } else {
        for (let j = 0; j < H; j++) {
          body.push(`ds[${si * H + j}] = ${id === null ? this.zero : be.el(id, j)};`);
        }
      }
    });
    return [
      `/* ${g.name} cell backward, I=${I} (${
        this.saveForward ? "reads the saved forward values sv" : "recomputes the forward"
      }): x [${I}], s [${g.states.length}][${H}],`,
      ` * gin [${g.states.length}][${H}] → dx [${I}], ds [${g.states.length}][${H}], st [${stash.stride}]`,
      ` * (W: ${weightsComment(slots, H)}). */`,
      `RB_FN void rb_cell_bwd_I${I}(const rb_w_t *RB_RESTRICT W, const ${this.laneType} *RB_RESTRICT x,`,
      `    const ${this.laneType} *RB_RESTRICT s, const ${this.laneType} *RB_RESTRICT sv,`,
      `    const ${this.laneType} *RB_RESTRICT gin,`,
      `    ${this.laneType} *RB_RESTRICT st, ${this.laneType} *RB_RESTRICT dx, ${this.laneType} *RB_RESTRICT ds) {`,
      ...body.map((l) => `  ${l}`),
      `}`,
    ].join("\n");
  }

  /**
   * Parameter gradients of a block of `nt` timesteps of one layer with input size `I`,
   * from the stash its backward steps wrote: `dW [K, H] += Σ_t a ⊗ g` and `db [H] += Σ_t g`
   * into the layer's lane accumulators `acc` (laid out like its weights). The H
   * accumulators of a row stay in registers over the timesteps.
   */
  flush(shape: ProgramShape, I: number): string {
    const { graph: g, backward: bw, hiddenSize: H } = shape;
    const slots = layerSlots(g, I, H);
    const stash = stashLayout(shape, I);
    const lane = this.laneType;
    const body: string[] = [];
    // The accumulators of a block of columns stay in registers over the timesteps: all H
    // at once, or BLOCK at a time for wide shapes.
    const cols = blocks(H, isWide(H) ? BLOCK : H);
    const row = (base: string, term: (j: number) => string, what: string) =>
      cols.flatMap(([j0, w]) => {
        const js = Array.from({ length: w }, (_, i) => j0 + i);
        return [
          `  { /* ${what}${cols.length > 1 ? `, columns ${j0}…${j0 + w - 1}` : ""} */`,
          `    ${lane} ${js.map((j) => `c${j} = acc[${base} + ${j}]`).join(", ")};`,
          `    for (int t = 0; t < nt; t++) {`,
          `      const ${lane} *RB_RESTRICT s = st + (size_t)t * ${stash.stride};`,
          ...js.map((j) => `      c${j} += ${term(j)};`),
          `    }`,
          ...js.map((j) => `    acc[${base} + ${j}] = c${j};`),
          `  }`,
        ];
      });
    for (const pg of bw.paramGrads) {
      const w = slots.find((x) => x.name === pg.param)!;
      const go = stash.slots.get(pg.g)!;
      if (pg.kind === "rowsum") {
        body.push(...row(`${w.offset}`, (j) => `s[${go + j}]`, `d${pg.param} [${H}] += Σ_t g`));
      } else {
        const ao = stash.slots.get(pg.a)!;
        body.push(`  for (int k = 0; k < ${w.rows}; k++) {`);
        body.push(
          ...row(
            `${w.offset} + k * ${H}`,
            (j) => `s[${ao} + k] * s[${go + j}]`,
            `d${pg.param} [${w.rows}, ${H}] row k += Σ_t a[k] g`,
          )
            .map((l) => `  ${l}`),
        );
        body.push(`  }`);
      }
    }
    return [
      `/* Parameter gradients of nt timesteps of a layer with I=${I}: st [nt][${stash.stride}] → acc += … */`,
      `RB_FN void rb_flush_I${I}(const ${lane} *RB_RESTRICT st, int nt, ${lane} *RB_RESTRICT acc) {`,
      ...body,
      `}`,
    ].join("\n");
  }

  /** Layer input sizes that need their own cell functions: E for layer 0, H above. */
  inputSizes(shape: ProgramShape): number[] {
    return [...new Set([shape.embedDim, ...(shape.layers > 1 ? [shape.hiddenSize] : [])])];
  }

  /** Compile-time constants of a program. */
  constants(shape: ProgramShape): string {
    const { graph: g, embedDim: E, hiddenSize: H, layers: L } = shape;
    const P0 = layerSize(g, E, H), PN = layerSize(g, H, H);
    const ncell = P0 + (L - 1) * PN;
    return [
      `#define RB_LANES ${this.lanes}   /* sequences per lane value */`,
      `#define RB_E ${E}   /* embedding size */`,
      `#define RB_H ${H}   /* hidden size */`,
      `#define RB_L ${L}   /* layers */`,
      `#define RB_S ${g.states.length}   /* states per layer: ${
        g.states.join(", ")
      } ("h" first) */`,
      `#define RB_SH (RB_S * RB_H)`,
      `#define RB_TAPE ${this.tapeStride(shape)}   /* lane values per tape entry: states${
        this.saveForward ? ", then forward values backward reads" : ""
      } */`,
      `#define RB_P0 ${P0}   /* weights of layer 0 */`,
      `#define RB_PN ${PN}   /* weights of each layer above */`,
      `#define RB_NCELL ${ncell}   /* all cell weights */`,
      `#define RB_NREST (RB_NCELL + RB_H + 1)   /* everything after the embedding: cells, W_hy, b_y */`,
      ...this.inputSizes(shape).map((I) =>
        `#define RB_STASH_I${I} ${
          stashLayout(shape, I).stride
        }   /* stash of one timestep, I=${I} */`
      ),
      `#define RB_STASH_MAX ${
        Math.max(...this.inputSizes(shape).map((I) => stashLayout(shape, I).stride))
      }`,
      `#define RB_TB 16   /* timesteps per parameter-gradient flush */`,
      `/* Offset of layer l's weights inside the cell block. */`,
      `#define RB_LAYER(l) ((l) == 0 ? 0 : RB_P0 + (size_t)((l) - 1) * RB_PN)`,
    ].join("\n");
  }

  /**
   * Classifier-level code shared by all targets: the forward and backward of one group of
   * `RB_LANES` sequences through all T timesteps and L layers, plus the head and loss
   * gradient. Written over lane values with `RB_LANE` for per-sequence access.
   */
  groupCode(shape: ProgramShape): string {
    const E = shape.embedDim, H = shape.hiddenSize;
    // Layer 0 reads E inputs, layers above H: one call, or a choice between two.
    const byI = (f: (I: number) => string, indent: string) =>
      E === H || shape.layers === 1 ? f(E) : `if (l == 0) ${f(E)};\n${indent}else ${f(H)}`;
    return `
/* Gathers the embedding rows of group g at timestep t: x [E] lanes; lanes past B read row 0.
 * Prefetches the rows of timestep t + 1. */
RB_FN void rb_gather(const float *RB_RESTRICT emb, const int *RB_RESTRICT ids, int B, int T, int g,
    int t, lane_t *RB_RESTRICT x) {
  for (int lane = 0; lane < RB_LANES; lane++) {
    const int b = g * RB_LANES + lane;
    const float *RB_RESTRICT row = emb + (size_t)(b < B ? ids[(size_t)b * T + t] : 0) * RB_E;
    if (b < B && t + 1 < T) RB_PREFETCH(emb + (size_t)ids[(size_t)b * T + t + 1] * RB_E, RB_E);
    for (int e = 0; e < RB_E; e++) RB_LANE(x[e], lane) = row[e];
  }
}

/* Forward of group g (sequences g*LANES …) through L layers, each over T timesteps
 * (layer-major: one layer's weights stay hot in cache).
 * emb [V, E] floats; Wc: all cell weights and then the head (W_hy [H], b_y), as rb_w_t.
 * tape [L][T][RB_TAPE]: every layer's states after every timestep (and the values backward
 * reads, if saved), for backward; or NULL
 * (predict), then hbuf [2][T][H] carries h between layers. xbuf [E] scratch.
 * Returns the logits (lanes). */
RB_GROUP_FN lane_t rb_group_forward(const float *RB_RESTRICT emb, const rb_w_t *RB_RESTRICT Wc,
    const int *RB_RESTRICT ids, int B, int T, int g, lane_t *RB_RESTRICT tape,
    lane_t *RB_RESTRICT hbuf, lane_t *RB_RESTRICT xbuf) {
  lane_t zeros[RB_SH], ob[2][RB_TAPE];
  for (int i = 0; i < RB_SH; i++) zeros[i] = RB_ZERO;
  const lane_t *last = zeros;
  for (int l = 0; l < RB_L; l++) {
    const rb_w_t *RB_RESTRICT Wl = Wc + RB_LAYER(l);
    lane_t *hin = hbuf + (size_t)(l & 1) * T * RB_H, *hout = hbuf + (size_t)((l + 1) & 1) * T * RB_H;
    last = zeros;
    for (int t = 0; t < T; t++) {
      const lane_t *x;
      if (l == 0) {
        rb_gather(emb, ids, B, T, g, t, xbuf);
        x = xbuf;
      } else {
        x = tape ? tape + ((size_t)(l - 1) * T + t) * RB_TAPE : hin + (size_t)t * RB_H;
      }
      lane_t *o = tape ? tape + ((size_t)l * T + t) * RB_TAPE : ob[t & 1];
      ${byI((I) => `rb_cell_fwd_I${I}(Wl, x, last, o)`, "      ")};
      if (!tape) for (int j = 0; j < RB_H; j++) hout[(size_t)t * RB_H + j] = o[j];
      last = o;
    }
  }
  /* head: logit = h_top · W_hy + b_y (state 0 is h) */
  const rb_w_t *RB_RESTRICT head = Wc + RB_NCELL;
  lane_t z = last[0] * head[0];
  for (int j = 1; j < RB_H; j++) z += last[j] * head[j];
  return z + head[RB_H];
}

/* Backward of group g through time, from dz = dLoss/dlogit (lanes; zero in lanes past B).
 * tape: from rb_group_forward. acc [NREST] lane accumulators (cells, W_hy, b_y; accumulate).
 * dxa, dxb [T][H]: scratch for the gradient flowing to the layer below.
 * stash [RB_TB][RB_STASH_MAX]: operands of the parameter gradients of up to RB_TB steps.
 * dxEmb [B][T][E]: dLoss/d(embedded input), assigned for the group's valid sequences. */
RB_GROUP_FN void rb_group_backward(const float *RB_RESTRICT emb, const rb_w_t *RB_RESTRICT Wc,
    const int *RB_RESTRICT ids, int B, int T, int g, const lane_t *RB_RESTRICT tape, lane_t dz,
    lane_t *RB_RESTRICT acc, lane_t *RB_RESTRICT dxa, lane_t *RB_RESTRICT dxb,
    lane_t *RB_RESTRICT xbuf, lane_t *RB_RESTRICT stash, float *RB_RESTRICT dxEmb) {
  /* head: logit = h_top · W_hy + b_y */
  const rb_w_t *RB_RESTRICT head = Wc + RB_NCELL;
  const lane_t *top = tape + ((size_t)(RB_L - 1) * T + (T - 1)) * RB_TAPE;
  lane_t dtop[RB_H];
  for (int j = 0; j < RB_H; j++) {
    acc[RB_NCELL + j] += top[j] * dz;
    dtop[j] = dz * head[j];
  }
  acc[RB_NCELL + RB_H] += dz;
  lane_t zeros[RB_SH];
  for (int i = 0; i < RB_SH; i++) zeros[i] = RB_ZERO;
  lane_t *above = dxa, *below = dxb;
  for (int l = RB_L - 1; l >= 0; l--) {
    const rb_w_t *RB_RESTRICT Wl = Wc + RB_LAYER(l);
    lane_t *RB_RESTRICT accl = acc + RB_LAYER(l);
    lane_t carry[RB_SH];
    for (int i = 0; i < RB_SH; i++) carry[i] = RB_ZERO;
    int nt = 0; /* timesteps in the stash */
    for (int t = T - 1; t >= 0; t--) {
      lane_t gin[RB_SH];
      for (int i = 0; i < RB_SH; i++) gin[i] = carry[i];
      if (l == RB_L - 1) {
        if (t == T - 1) for (int j = 0; j < RB_H; j++) gin[j] += dtop[j];
      } else {
        for (int j = 0; j < RB_H; j++) gin[j] += above[(size_t)t * RB_H + j];
      }
      const lane_t *x;
      if (l == 0) {
        rb_gather(emb, ids, B, T, g, t, xbuf);
        x = xbuf;
      } else {
        x = tape + ((size_t)(l - 1) * T + t) * RB_TAPE;
      }
      const lane_t *s = t > 0 ? tape + ((size_t)l * T + (t - 1)) * RB_TAPE : zeros;
      const lane_t *sv = tape + ((size_t)l * T + t) * RB_TAPE + RB_SH;
      lane_t dx0[RB_E];
      lane_t *dx = l == 0 ? dx0 : below + (size_t)t * RB_H;
      ${
      byI(
        (I) =>
          `rb_cell_bwd_I${I}(Wl, x, s, sv, gin, stash + (size_t)nt * RB_STASH_I${I}, dx, carry)`,
        "      ",
      )
    };
      if (l == 0) {
        for (int lane = 0; lane < RB_LANES; lane++) {
          const int b = g * RB_LANES + lane;
          if (b >= B) break;
          float *RB_RESTRICT row = dxEmb + ((size_t)b * T + t) * RB_E;
          for (int e = 0; e < RB_E; e++) row[e] = RB_LANE(dx0[e], lane);
        }
      }
      if (++nt == RB_TB || t == 0) {
        ${byI((I) => `rb_flush_I${I}(stash, nt, accl)`, "        ")};
        nt = 0;
      }
    }
    lane_t *tmp = above;
    above = below;
    below = tmp;
  }
}
`;
  }

  /** The whole program: prelude, constants, cell functions, group code, kernels. */
  program(shape: ProgramShape): string {
    const { graph: g } = shape;
    const sizes = this.inputSizes(shape);
    return [
      `/* Generated by rnnbench (models/codegen) for target ${this.target}: ${g.name} classifier,`,
      ` * E=${shape.embedDim} H=${shape.hiddenSize} L=${shape.layers}, ${this.lanes} sequences per lane value.`,
      ` * Letters: B batch, T timesteps, L layers, E embedding, H hidden, I layer input, S states. */`,
      this.prelude(shape),
      this.constants(shape),
      ...sizes.map((I) => this.cellForward(shape, I)),
      ...sizes.map((I) => this.cellBackward(shape, I)),
      ...sizes.map((I) => this.flush(shape, I)),
      this.groupCode(shape),
      this.kernels(shape),
      "",
    ].join("\n\n");
  }
}

function isLeaf(n: Node): boolean {
  return n.op === "input" || n.op === "state" || n.op === "const";
}

/** Forward nodes the backward reads, and everything they depend on. */
function forwardNeeded(g: CellGraph, bw: BackwardGraph): Set<number> {
  const need = new Set<number>();
  const visit = (id: number) => {
    if (need.has(id)) return;
    need.add(id);
    const n = g.nodes[id]!;
    if ("a" in n) visit(n.a);
    if ("b" in n) visit(n.b);
  };
  for (const id of bw.saved) visit(id);
  return need;
}

function weightsComment(slots: readonly WeightSlot[], H: number): string {
  return slots.map((s) => `${s.name} [${s.rows === 1 ? H : `${s.rows}, ${H}`}] at ${s.offset}`)
    .join(", ");
}
