/**
 * The renderer base of the generated-code lowerings, C (`c.ts`) and CUDA (`cuda.ts`): it
 * turns a traced cell graph and its derived backward graph into straight-line functions
 * over "lane values" and lays out the program around them. A target overrides only what
 * differs.
 *
 * A lane value (`lane_t`) holds one float for each of `lanes` sequences processed
 * together: a SIMD vector of 8 floats in C (GCC vector extensions), a plain `float` in
 * CUDA (one warp per sequence, one lane per layer). Every op is written once, over lane
 * values, in the table {@linkcode Renderer.ops} (`defaultOps`, tinygrad's `code_for_op`).
 * Shapes are compile-time constants (H, I, E, L), so the compilers unroll the tiny
 * matmuls completely. Where values live (locals, arrays) is the emitter's business
 * (`emitter.ts`); for a wide hidden size every value is an array and matmuls are blocked
 * loops (`program_shape.ts`, `default_ops.ts`).
 *
 * A program ({@linkcode Renderer.program}) is: a first comment, the target's prelude
 * (types, qualifiers, math), the constants, the functions generated from the IR, and the
 * target's passes and kernels. The functions generated here, shared by both targets:
 * - the cell forward step of a layer with input size I: the caller binds the leaves
 *   (input, states) and the op table emits every other node;
 * - the cell backward step: it recomputes the forward values it reads from the saved
 *   states (or, with {@linkcode Renderer.saveForward}, reads them from the tape), runs the
 *   backward graph, writes the operands of the parameter gradients to a per-timestep
 *   stash (`stashLayout`) and assigns the input and state gradients;
 * - the flush `rb_flush_I*`, which turns a block of up to 16 stashed timesteps into
 *   `dW += Σ_t a ⊗ g` with the accumulators in registers.
 *
 * What a target supplies: `target`, `lanes`, `inlineMath`, `mapping()`, `prelude()` and
 * `kernels()`; and, where it differs, the hooks: which input sizes get functions (`functions()`),
 * more constants (`constants()`), values the cell functions bind besides the leaves and
 * compute themselves (`forwardLeaf()`, `boundValues()`, `extraGradients()`), the
 * functions' names and parameters (`forwardHead()`, `backwardHead()`), and the wording of
 * two comments. The C target (`c.ts`) takes the defaults; the CUDA target (`cuda.ts`)
 * generates the cell functions once, in the uniform I = H layout of its warp lanes, with
 * layer 0's input projections hoisted out of them. An op a target cannot lower throws
 * {@linkcode LoweringError} (`Cannot lower op "tanh" for cuda: …`).
 *
 * @module
 */
import type { BackwardGraph } from "../grad.ts";
import type { CellGraph, Node, OpName } from "../ir.ts";
import { defaultOps, type OpEmitter } from "./default_ops.ts";
import { Emitter, type LaneTarget, type Storage } from "./emitter.ts";
import { LoweringError } from "./lowering_error.ts";
import {
  BLOCK,
  blocks,
  isWide,
  layerSize,
  layerSlots,
  type ProgramShape,
  REG_MAX,
  stashLayout,
  type WeightSlot,
} from "./program_shape.ts";

/** The renderer base: the shared cell functions, flush and program layout. */
export abstract class Renderer implements LaneTarget {
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
   * Elementwise functions written inline, as expressions of one lane value (relu and its
   * derivative mask): they differ between a SIMD vector and a float, so each target says.
   */
  abstract readonly inlineMath: Readonly<Record<"relu" | "step", (x: string) => string>>;
  /** What the program's first comment names as its generator. */
  protected readonly generator: string = "models/codegen";
  /** The letters the program's comments use for dimensions. */
  protected readonly letters: string =
    "B batch, T timesteps, L layers, E embedding, H hidden, I layer input, S states";

  /** The whole program: first comment, prelude, constants, generated functions, kernels. */
  program(shape: ProgramShape): string {
    const { graph: g } = shape;
    // The first comment's lines are joined like the sections, a blank line apart.
    return [
      `/* Generated by rnnbench (${this.generator}) for target ${this.target}: ${g.name} classifier,`,
      ` * E=${shape.embedDim} H=${shape.hiddenSize} L=${shape.layers}${this.mapping()}`,
      ` * Letters: ${this.letters}. */`,
      this.prelude(shape),
      this.constants(shape),
      ...this.functions(shape),
      this.kernels(shape),
      "",
    ].join("\n\n");
  }

  /** How the work maps onto the machine, as the first comment says it after the shape. */
  protected abstract mapping(): string;

  /**
   * Types, qualifiers and math functions. Must define `lane_t`, `rb_w_t` (the weight
   * element the cell code reads), `RB_FN`, `RB_RESTRICT`, `RB_ZERO` and the math functions
   * named in {@linkcode Renderer.math}.
   */
  abstract prelude(shape: ProgramShape): string;

  /** The passes over sequences and the entry points (OpenMP loops, CUDA kernels). */
  abstract kernels(shape: ProgramShape): string;

  /**
   * The functions generated from the IR: by default the cell forward, the cell backward
   * and the flush for each input size ({@linkcode Renderer.inputSizes}).
   */
  functions(shape: ProgramShape): string[] {
    const sizes = this.inputSizes(shape);
    return [
      ...sizes.map((I) => this.cellForward(shape, I)),
      ...sizes.map((I) => this.cellBackward(shape, I)),
      ...sizes.map((I) => this.flush(shape, I)),
    ];
  }

  /**
   * Emits, through the op table, every node of the emitter's graph that its caller did
   * not bind and `skip` does not exclude, checking each op.
   */
  emitNodes(e: Emitter, skip: (n: Node) => boolean = () => false): string[] {
    const out: string[] = [];
    for (const n of e.nodes) {
      if (e.bound.has(n.id) || skip(n)) continue;
      const emit = this.ops[n.op];
      if (emit === undefined) {
        throw new LoweringError(n.op, this.target, "no entry in the op table");
      }
      out.push(...emit(n, e));
    }
    return out;
  }

  /**
   * Storage of the nodes a cell function binds in its forward values: the input from `x`
   * and the states from `s`, in locals (`p…`) or read in place.
   */
  protected forwardLeaf(shape: ProgramShape, I: number): (n: Node) => Storage | null {
    const { graph: g, hiddenSize: H } = shape;
    return (n) => {
      if (n.op === "input") {
        return I > REG_MAX || isWide(H)
          ? { kind: "mem", name: "x", size: I }
          : { kind: "reg", name: `p${n.id}`, size: I };
      }
      if (n.op === "state") {
        // Wide: read in place from the state array.
        const si = g.states.indexOf(n.name);
        return isWide(H)
          ? { kind: "mem", name: `(s + ${si * H})`, size: H }
          : { kind: "reg", name: `p${n.id}`, size: H };
      }
      return null;
    };
  }

  /** The forward values of a cell function with input size `I` (locals `p…`). */
  protected forwardEmitter(shape: ProgramShape, I: number): Emitter {
    const { graph: g, hiddenSize: H } = shape;
    return new Emitter(this, g.nodes, "p", I, H, layerSlots(g, I, H), this.forwardLeaf(shape, I));
  }

  /** Loads the bound leaves held in locals (small inputs, states) from `x` and `s`. */
  protected loadLeaves(e: Emitter, g: CellGraph): string[] {
    const out: string[] = [];
    const H = e.H;
    for (const n of e.nodes) {
      const s = e.storage[n.id]!;
      if (!e.bound.has(n.id) || s.kind !== "reg") continue;
      if (n.op === "input") {
        out.push(`/* ${s.name} [${s.size}] = layer input x */`);
        for (let k = 0; k < s.size; k++) {
          out.push(`const ${this.laneType} ${e.el(n.id, k)} = x[${k}];`);
        }
      } else if (n.op === "state") {
        const si = g.states.indexOf(n.name);
        out.push(this.stateComment(e, n));
        for (let j = 0; j < H; j++) {
          out.push(`const ${this.laneType} ${e.el(n.id, j)} = s[${si * H + j}];`);
        }
      }
    }
    return out;
  }

  /** The comment above a state's loads (`p1 [8] = state h`). */
  protected stateComment(e: Emitter, n: Extract<Node, { op: "state" }>): string {
    return `/* ${e.describe(n.id)} = state ${n.name} */`;
  }

  /**
   * Statements that define the values the forward leaf function binds besides the leaves
   * ({@linkcode Renderer.forwardLeaf}): none here.
   */
  protected boundValues(_shape: ProgramShape, _fe: Emitter): string[] {
    return [];
  }

  /**
   * The forward values of a cell function: the leaves loaded, the bound values defined,
   * then every other node through the op table (only those in `needed`, if given).
   */
  protected forwardValues(shape: ProgramShape, fe: Emitter, needed: Set<number> | null): string[] {
    return [
      ...this.loadLeaves(fe, shape.graph),
      ...this.boundValues(shape, fe),
      ...this.emitNodes(fe, needed === null ? undefined : (n) => !needed.has(n.id)),
    ];
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
    const e = this.forwardEmitter(shape, I);
    const body = [...this.forwardValues(shape, e, null), `/* new states */`];
    g.states.forEach((s, si) => {
      const id = g.outputs[s]!;
      if (e.storage[id]!.kind === "mem") {
        body.push(`for (int j = 0; j < ${H}; j++) o[${si * H} + j] = ${e.el(id, "j")};`);
      } else for (let j = 0; j < H; j++) body.push(`o[${si * H + j}] = ${e.el(id, j)};`);
    });
    const SH = g.states.length * H;
    for (const [id, off] of this.savedLayout(shape, I).slots) {
      const st = e.storage[id]!;
      body.push(`/* saved for backward: ${e.describe(id)} */`);
      if (st.kind === "mem") {
        body.push(`for (int k = 0; k < ${st.size}; k++) o[${SH + off} + k] = ${e.el(id, "k")};`);
      } else if (st.kind === "reg") {
        for (let j = 0; j < st.size; j++) body.push(`o[${SH + off + j}] = ${e.el(id, j)};`);
      }
    }
    return [...this.forwardHead(shape, I), ...body.map((l) => `  ${l}`), `}`].join("\n");
  }

  /** The comment and the opening line of the cell forward function `rb_cell_fwd_I{I}`. */
  protected forwardHead(shape: ProgramShape, I: number): string[] {
    const { graph: g, hiddenSize: H } = shape;
    const lane = this.laneType;
    return [
      `/* ${g.name} cell forward, I=${I}: x [${I}], s [${g.states.length}][${H}] (${
        g.states.join(", ")
      })`,
      ` * → o [${g.states.length}][${H}]. W: this layer's weights, ${
        weightsComment(layerSlots(g, I, H), H)
      }. */`,
      `RB_FN void rb_cell_fwd_I${I}(const rb_w_t *RB_RESTRICT W, const ${lane} *RB_RESTRICT x,`,
      `    const ${lane} *RB_RESTRICT s, ${lane} *RB_RESTRICT o) {`,
    ];
  }

  /**
   * The backward step of one layer with input size `I`, recomputing its forward values
   * from `x` and `s` first (or reading them from `sv`): gradients `gin [S][H]` of the new
   * states → `dx [I]` (assigned), `ds [S][H]` (assigned), and this timestep's stash `st`
   * (the operands of the parameter gradients, see {@linkcode stashLayout}).
   */
  cellBackward(shape: ProgramShape, I: number): string {
    const { graph: g, backward: bw, hiddenSize: H } = shape;
    const fe = this.forwardEmitter(shape, I);
    // Backward leaves: `fwd` aliases the recomputed (or saved) forward value; `gradIn` is
    // loaded.
    const be = new Emitter(this, bw.nodes, "q", I, H, layerSlots(g, I, H), (n) => {
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
        ...this.loadLeaves(fe, g),
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
      body.push(
        `/* ---- forward, recomputed (only what backward reads) ---- */`,
        ...this.forwardValues(shape, fe, forwardNeeded(g, bw, fe)),
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
    body.push(...this.emitNodes(be));
    body.push(`/* ---- operands of the parameter gradients, for rb_flush_I${I} ---- */`);
    const stash = stashLayout(shape, I);
    for (const [node, offset] of stash.slots) {
      const st = be.storage[node]!;
      const size = st.kind === "const" ? 1 : st.size;
      body.push(...this.stashComment(be, node, offset));
      if (st.kind === "mem") {
        body.push(`for (int k = 0; k < ${size}; k++) st[${offset} + k] = ${be.el(node, "k")};`);
      } else for (let k = 0; k < size; k++) body.push(`st[${offset + k}] = ${be.el(node, k)};`);
    }
    const extra = this.extraGradients(shape, be);
    body.push(
      `/* ---- input${
        extra === null ? " and state" : `, state and ${extra.what}`
      } gradients (assign) ---- */`,
    );
    body.push(...this.assignGradient(be, "dx", bw.dx, I));
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
    if (extra !== null) body.push(...extra.lines);
    return [...this.backwardHead(shape, I, stash.stride), ...body.map((l) => `  ${l}`), `}`]
      .join("\n");
  }

  /** The comment and the opening line of the cell backward function `rb_cell_bwd_I{I}`. */
  protected backwardHead(shape: ProgramShape, I: number, stashStride: number): string[] {
    const { graph: g, hiddenSize: H } = shape;
    const S = g.states.length, lane = this.laneType;
    return [
      `/* ${g.name} cell backward, I=${I} (${
        this.saveForward ? "reads the saved forward values sv" : "recomputes the forward"
      }): x [${I}], s [${S}][${H}],`,
      ` * gin [${S}][${H}] → dx [${I}], ds [${S}][${H}], st [${stashStride}]`,
      ` * (W: ${weightsComment(layerSlots(g, I, H), H)}). */`,
      `RB_FN void rb_cell_bwd_I${I}(const rb_w_t *RB_RESTRICT W, const ${lane} *RB_RESTRICT x,`,
      `    const ${lane} *RB_RESTRICT s, const ${lane} *RB_RESTRICT sv,`,
      `    const ${lane} *RB_RESTRICT gin,`,
      `    ${lane} *RB_RESTRICT st, ${lane} *RB_RESTRICT dx, ${lane} *RB_RESTRICT ds) {`,
    ];
  }

  /** The comment above the stash writes of one value: which value goes where. */
  protected stashComment(be: Emitter, node: number, offset: number): string[] {
    return [`/* st[${offset}…] = ${be.describe(node)} */`];
  }

  /**
   * Gradients the backward step assigns besides `dx` and `ds`, and what they are of, for
   * the section's comment: none here.
   */
  protected extraGradients(
    _shape: ProgramShape,
    _be: Emitter,
  ): { readonly what: string; readonly lines: string[] } | null {
    return null;
  }

  /** Assigns `n` elements of node `id` (zero when null) to the array `dst`. */
  protected assignGradient(
    be: Emitter,
    dst: string,
    id: number | null,
    n: number,
    zero: string = this.zero,
  ): string[] {
    if (id === null) return [`for (int k = 0; k < ${n}; k++) ${dst}[k] = ${zero};`];
    if (be.storage[id]!.kind === "mem") {
      return [`for (int k = 0; k < ${n}; k++) ${dst}[k] = ${be.el(id, "k")};`];
    }
    return Array.from({ length: n }, (_, k) => `${dst}[${k}] = ${be.el(id, k)};`);
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
}

function isLeaf(n: Node): boolean {
  return n.op === "input" || n.op === "state" || n.op === "const";
}

/**
 * Forward nodes the backward reads, and everything they depend on up to the nodes the
 * cell function binds (leaves, and values it computes itself).
 */
function forwardNeeded(g: CellGraph, bw: BackwardGraph, fe: Emitter): Set<number> {
  const need = new Set<number>();
  const visit = (id: number) => {
    if (need.has(id)) return;
    need.add(id);
    if (fe.bound.has(id)) return;
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
