/**
 * The CUDA target of the generated-code lowering: the same cell IR, the same op table
 * (`defaultOps` in `renderer.ts`, over `lane_t = float`), the same stash layout and
 * parameter-gradient flush as the C target; what differs is the prelude (types,
 * qualifiers, math) and how the work is mapped onto the GPU.
 *
 * MAPPING (why not "one thread per sequence", the seam's default). One sequence's work is
 * a chain of T·L dependent cell steps (200 × 25 = 5,000 at the original shape), and the
 * batch has only 1,000 sequences: one thread per sequence gives 32 warps for a 132-SM GPU,
 * each running 5,000 steps in series. Instead, one WARP runs one sequence and lane `l`
 * runs layer `l`, in a WAVEFRONT: at wave `w` lane `l` computes timestep `t = w − l`, whose
 * input `h(l − 1, t)` lane `l − 1` produced at wave `w − 1` and hands over with one
 * `__shfl_up_sync` per element. The chain shrinks from T·L to T + L − 1 waves (224), the
 * 1,000 warps fill the GPU, and no step waits on memory: the hand-over is a register
 * shuffle. Backward runs the same wavefront in reverse (`__shfl_down_sync` carries dx down).
 *
 * - Weights: each block copies every layer's cell weights into shared memory once, with a
 *   per-layer stride that is odd (bank-conflict free: lane `l` reads word `l·WS + k`).
 * - Layer 0's input (E = 64 wide) would make lane 0 three times slower than the others
 *   and stall the whole warp, so the input projections `x·W_x` of layer 0 are HOISTED: a
 *   parallel kernel over all (b, t) computes them before the recurrence
 *   (`rb_pre0`), lane 0 adds them in (`ext`), and all lanes run the same code with the
 *   layer-0 `W_x` zeroed in shared memory. Backward writes the gradient of those values
 *   (`gpre0`) and two parallel kernels turn it into `dW_x` of layer 0 (`rb_dw0`) and the
 *   gradient of the embedded input (`rb_dx0`). Which nodes are input projections is read
 *   off the IR (every `matmul` of the `input` leaf); other uses of the input are refused.
 * - Training step = one fused kernel (`rb_train`: forward saving the states to a tape in
 *   global memory, indexed by wave so every tape access of a warp is coalesced, the loss
 *   gradient, backward) and small parallel kernels after it. Parameter gradients are
 *   accumulated per (sequence, layer) by the shared `rb_flush_I{H}` and reduced across
 *   sequences in a fixed order (`rb_reduce`): no float atomics anywhere, so a training step
 *   is bitwise reproducible. The embedding gradient is dense (as torch): the host sorts the
 *   batch's (b, t) positions by token id (stable), `rb_emb_seg` sums each run of at most
 *   {@linkcode EMB_SEGMENT} positions in order, `rb_emb_rows` sums a row's runs in order.
 * - Global-norm clipping (`rb_sqnorm`, `rb_norm_final`, fixed-order, in double) and Adam
 *   (`rb_adam`, exactly the C target's arithmetic) run on the device.
 *
 * What this module generates from the IR is the cell functions (`rb_cu_fwd`, `rb_cu_bwd`,
 * layer 0's `rb_cu_pre0` and `rb_cu_dx0`), the constants and the flush; the code that is
 * the same for every shape (the prelude, the wavefront passes, the kernels) is CUDA source
 * in `kernels/cuda_*.cu`, copied in with the shape's names filled in. Every kernel's
 * parameter list is the table {@linkcode CUDA_KERNELS} (`cuda_kernels.ts`): the generated
 * signatures, the host's argument marshalling (`bench/engines/cuda/engine.ts`) and the CPU
 * emulator's launch wrappers (`bench/engines/cuda/emulator/emulator.ts`, tests) all come from it.
 *
 * The source compiles with nvcc, with NVRTC (no includes), and, with `-DRB_EMULATE` and
 * the emulator's header, with g++ for the CPU.
 *
 * @module
 */
import type { ModelConfig } from "../classifier.ts";
import type { CellGraph, Node } from "../ir.ts";
import {
  Emitter,
  layerSlots,
  LoweringError,
  type ProgramShape,
  programShape,
  REG_MAX,
  Renderer,
  stashLayout,
  type Storage,
  type WeightSlot,
} from "./renderer.ts";
import {
  CUDA_KERNELS,
  DW0_ROWS,
  emulatorWrappers,
  FLAT_BLOCK,
  type KernelName,
  signature,
  WARP,
} from "./cuda_kernels.ts";
import { codeFile, type Hole } from "./_code_file.ts";
import { type CudaLayout, cudaLayout } from "./cuda_layout.ts";

// The CUDA lowering's public surface, whose parts live in their own modules.
export {
  type ArgKind,
  type ArgName,
  CUDA_KERNELS,
  DW0_ROWS,
  EMB_SEGMENT,
  FLAT_BLOCK,
  type KernelArgs,
  type KernelName,
  kernelParams,
  NORM_BLOCKS,
  WARP,
} from "./cuda_kernels.ts";
export {
  type CudaLayout,
  cudaLayout,
  cudaLayoutFor,
  cudaShapeProblem,
  hoistedProjections,
  type PreNode,
} from "./cuda_layout.ts";

/** The fixed code after the generated functions, in order (files in `kernels/`). */
const KERNEL_FILES = [
  "cuda_wavefront.cu",
  "cuda_model.cu",
  "cuda_embedding.cu",
  "cuda_adam.cu",
] as const;

const isLeaf = (n: Node) => n.op === "input" || n.op === "state" || n.op === "const";

/** The CUDA renderer: one warp per sequence, one lane per layer (see the module comment). */
export class CudaRenderer extends Renderer {
  /** "cuda" */
  readonly target: string = "cuda";
  /** One sequence per lane value: lane values are plain floats. */
  readonly lanes: number = 1;
  /** Sequences (warps) per block of the recurrent kernels. */
  readonly warpsPerBlock: number;

  /**
   * A CUDA renderer.
   * @param warpsPerBlock sequences per block of the recurrent kernels (they share one copy
   *   of the weights in shared memory)
   */
  constructor(warpsPerBlock = 4) {
    super();
    this.warpsPerBlock = warpsPerBlock;
  }

  /** Types, qualifiers and the math functions: `kernels/cuda_prelude.cu`. */
  override prelude(_shape: ProgramShape): string {
    return codeFile("cuda_prelude.cu");
  }

  /** The renderer's constants plus the CUDA layout. */
  cudaConstants(shape: ProgramShape, lay: CudaLayout): string {
    return [
      this.constants(shape),
      `/* ---- CUDA layout ---- */`,
      `#define RB_NPRE ${lay.pre.length}   /* hoisted input projections of layer 0: ${
        lay.pre.map((p) => p.param).join(", ")
      } */`,
      `#define RB_PH ${lay.PH}   /* hoisted values per (b, t) */`,
      `#define RB_WS ${lay.WS}   /* shared-memory floats per layer (odd: no bank conflicts) */`,
      `#define RB_WPB ${lay.warpsPerBlock}   /* sequences (warps) per block */`,
      `#define RB_STRIDE ${lay.stashStride}   /* stash floats per timestep */`,
      `#define RB_NO ${lay.NO}   /* outputs of rb_dw0: E × PH */`,
      `#define RB_DW0_ROWS ${DW0_ROWS}`,
      `#define RB_DW0_TILE ${lay.dw0Tile}`,
      `#define RB_DW0_PER ${Math.ceil(lay.NO / FLAT_BLOCK)}   /* outputs per thread of rb_dw0 */`,
      `#define RB_FLAT ${FLAT_BLOCK}`,
    ].join("\n");
  }

  /** Storage of the forward leaves and hoisted values of a cell function with input size I. */
  #fwdEmitter(shape: ProgramShape, lay: CudaLayout, I: number, prefix: string): Emitter {
    const { graph: g, hiddenSize: H } = shape;
    const pre = new Set(lay.pre.map((p) => p.node));
    return new Emitter(this, g.nodes, prefix, I, H, layerSlots(g, I, H), (n): Storage | null => {
      if (n.op === "input") {
        return I > REG_MAX
          ? { kind: "mem", name: "x", size: I }
          : { kind: "reg", name: `${prefix}${n.id}`, size: I };
      }
      if (n.op === "state") return { kind: "reg", name: `${prefix}${n.id}`, size: H };
      if (pre.has(n.id)) {
        return H > REG_MAX
          ? { kind: "mem", name: `e${n.id}`, size: H }
          : { kind: "reg", name: `e${n.id}`, size: H };
      }
      return null;
    });
  }

  /** Loads the register-held input and the states from `x` and `s`. */
  #loadLeaves(e: Emitter, g: CellGraph, withStates: boolean): string[] {
    const out: string[] = [];
    for (const n of e.nodes) {
      const st = e.storage[n.id]!;
      if (n.op === "input" && st.kind === "reg") {
        out.push(`/* ${st.name} [${st.size}] = layer input x */`);
        for (let k = 0; k < st.size; k++) out.push(`const lane_t ${e.el(n.id, k)} = x[${k}];`);
      } else if (n.op === "state" && withStates) {
        const si = g.states.indexOf(n.name);
        out.push(`/* state ${n.name} */`);
        for (let j = 0; j < e.H; j++) {
          out.push(`const lane_t ${e.el(n.id, j)} = s[${si * e.H + j}];`);
        }
      }
    }
    return out;
  }

  /**
   * The hoisted projections inside a cell function: `x · W_x` through the op table (in
   * locals `u…`), plus `ext` (layer 0's precomputed value; zero in the other layers).
   */
  #hoisted(shape: ProgramShape, lay: CudaLayout, fe: Emitter): string[] {
    const { graph: g, hiddenSize: H } = shape;
    const ue = new Emitter(
      this,
      g.nodes,
      "u",
      fe.I,
      H,
      layerSlots(g, fe.I, H),
      (n) => (n.op === "input" || n.op === "state" ? fe.storage[n.id]! : null),
    );
    const out: string[] = [];
    for (const p of lay.pre) {
      const n = g.nodes[p.node]!;
      out.push(...this.ops.matmul(n, ue));
      out.push(
        ...fe.define(
          p.node,
          (j) => `${ue.el(p.node, j)} + ext[${p.index * H} + ${j}]`,
          `e${p.node} = x @ ${p.param} + ext (layer 0: hoisted)`,
        ),
      );
    }
    return out;
  }

  /**
   * Forward step of a layer in the uniform I = H layout:
   * `x [H]`, `ext [PH]`, `s [S][H]` → `o [S][H]`.
   */
  cellForwardCuda(shape: ProgramShape, lay: CudaLayout): string {
    const { graph: g, hiddenSize: H } = shape;
    const fe = this.#fwdEmitter(shape, lay, H, "p");
    const pre = new Set(lay.pre.map((p) => p.node));
    const body = [
      ...this.#loadLeaves(fe, g, true),
      ...this.#hoisted(shape, lay, fe),
      ...this.emitNodes(fe, (n) => isLeaf(n) || pre.has(n.id)),
      `/* new states */`,
    ];
    g.states.forEach((s, si) => {
      for (let j = 0; j < H; j++) body.push(`o[${si * H + j}] = ${fe.el(g.outputs[s]!, j)};`);
    });
    return [
      `/* ${g.name} cell forward (every layer, uniform I=${H} layout; layer 0's x is 0 and its`,
      ` * input projections arrive in ext): x [${H}], ext [${lay.PH}], s [${g.states.length}][${H}] → o [${g.states.length}][${H}]. */`,
      `RB_FN void rb_cu_fwd(const rb_w_t *RB_RESTRICT W, const lane_t *RB_RESTRICT x,`,
      `    const lane_t *RB_RESTRICT ext, const lane_t *RB_RESTRICT s, lane_t *RB_RESTRICT o) {`,
      ...body.map((l) => `  ${l}`),
      `}`,
    ].join("\n");
  }

  /**
   * Backward step of a layer in the uniform layout, recomputing its forward from `x`,
   * `ext` and `s`: `gin [S][H]` → stash `st` (as {@linkcode Renderer.stashLayout} for
   * I = H), `dx [H]`, `ds [S][H]` (assigned) and `gpre [PH]`, the gradient of the hoisted
   * projections.
   */
  cellBackwardCuda(shape: ProgramShape, lay: CudaLayout): string {
    const { graph: g, backward: bw, hiddenSize: H } = shape;
    const fe = this.#fwdEmitter(shape, lay, H, "p");
    const pre = new Set(lay.pre.map((p) => p.node));
    // Forward nodes backward reads, and what they depend on (hoisted values are always made).
    const needed = new Set<number>();
    const visit = (id: number) => {
      if (needed.has(id)) return;
      needed.add(id);
      if (pre.has(id)) return;
      const n = g.nodes[id]!;
      if ("a" in n) visit(n.a);
      if ("b" in n) visit(n.b);
    };
    for (const id of bw.saved) visit(id);
    const slots = layerSlots(g, H, H);
    const be = new Emitter(this, bw.nodes, "q", H, H, slots, (n) => {
      if (n.op === "fwd") return fe.storage[n.ref]!;
      if (n.op === "gradIn") return { kind: "reg", name: `q${n.id}`, size: H };
      return null;
    });
    const body: string[] = [
      `/* ---- forward, recomputed (only what backward reads) ---- */`,
      ...this.#loadLeaves(fe, g, true),
      ...this.#hoisted(shape, lay, fe),
      ...this.emitNodes(fe, (n) => isLeaf(n) || pre.has(n.id) || !needed.has(n.id)),
      `/* ---- backward ---- */`,
    ];
    for (const n of bw.nodes) {
      if (n.op !== "gradIn") continue;
      const si = g.states.indexOf(n.name);
      body.push(`/* q${n.id} [${H}] = incoming gradient of state ${n.name} */`);
      for (let j = 0; j < H; j++) body.push(`const lane_t ${be.el(n.id, j)} = gin[${si * H + j}];`);
    }
    body.push(...this.emitNodes(be, (n) => n.op === "fwd" || n.op === "gradIn"));
    body.push(`/* ---- operands of the parameter gradients, for rb_flush_I${H} ---- */`);
    const stash = stashLayout(shape, H);
    for (const [node, offset] of stash.slots) {
      const st = be.storage[node]!;
      const size = st.kind === "const" ? 1 : st.size;
      if (st.kind === "mem") {
        body.push(`for (int k = 0; k < ${size}; k++) st[${offset} + k] = ${be.el(node, "k")};`);
      } else for (let k = 0; k < size; k++) body.push(`st[${offset + k}] = ${be.el(node, k)};`);
    }
    body.push(`/* ---- input, state and hoisted-projection gradients (assign) ---- */`);
    const assign = (dst: string, id: number | null, n: number) => {
      if (id === null) return [`for (int k = 0; k < ${n}; k++) ${dst}[k] = RB_ZERO;`];
      if (be.storage[id]!.kind === "mem") {
        return [`for (int k = 0; k < ${n}; k++) ${dst}[k] = ${be.el(id, "k")};`];
      }
      return Array.from({ length: n }, (_, k) => `${dst}[${k}] = ${be.el(id, k)};`);
    };
    body.push(...assign("dx", bw.dx, H));
    g.states.forEach((s, si) => {
      const id = bw.dStates[s] ?? null;
      for (let j = 0; j < H; j++) {
        body.push(`ds[${si * H + j}] = ${id === null ? "RB_ZERO" : be.el(id, j)};`);
      }
    });
    for (const p of lay.pre) {
      for (let j = 0; j < H; j++) body.push(`gpre[${p.index * H + j}] = ${be.el(p.grad, j)};`);
    }
    return [
      `/* ${g.name} cell backward (uniform I=${H} layout, recomputes the forward): x [${H}], ext [${lay.PH}],`,
      ` * s [${g.states.length}][${H}], gin [${g.states.length}][${H}] → st [${stash.stride}], dx [${H}], ds [${g.states.length}][${H}], gpre [${lay.PH}]. */`,
      `RB_FN void rb_cu_bwd(const rb_w_t *RB_RESTRICT W, const lane_t *RB_RESTRICT x,`,
      `    const lane_t *RB_RESTRICT ext, const lane_t *RB_RESTRICT s, const lane_t *RB_RESTRICT gin,`,
      `    lane_t *RB_RESTRICT st, lane_t *RB_RESTRICT dx, lane_t *RB_RESTRICT ds,`,
      `    lane_t *RB_RESTRICT gpre) {`,
      ...body.map((l) => `  ${l}`),
      `}`,
    ].join("\n");
  }

  /** Layer 0's hoisted projections of one embedded token: `x [E]` → `pre [PH]`. */
  preForward(shape: ProgramShape, lay: CudaLayout): string {
    const { graph: g, embedDim: E, hiddenSize: H } = shape;
    const ie = this.#fwdEmitter(shape, lay, E, "p");
    // The hoisted nodes are computed here through the op table, into their own locals.
    const ue = new Emitter(
      this,
      g.nodes,
      "u",
      E,
      H,
      layerSlots(g, E, H),
      (n) => (n.op === "input" ? ie.storage[n.id]! : null),
    );
    const body = [...this.#loadLeaves(ie, g, false)];
    for (const p of lay.pre) {
      body.push(...this.ops.matmul(g.nodes[p.node]!, ue));
      for (let j = 0; j < H; j++) body.push(`pre[${p.index * H + j}] = ${ue.el(p.node, j)};`);
    }
    return [
      `/* Layer 0's input projections of one token: x [${E}] → pre [${lay.PH}] (W: layer 0, I=${E}). */`,
      `RB_FN void rb_cu_pre0(const rb_w_t *RB_RESTRICT W, const float *RB_RESTRICT x, float *RB_RESTRICT pre) {`,
      ...body.map((l) => `  ${l}`),
      `}`,
    ].join("\n");
  }

  /**
   * The gradient of layer 0's embedded input from the gradient of its hoisted
   * projections: the part of the backward graph between them and `dx`, through the op
   * table. `g [PH]` → `dx [E]`.
   */
  preBackward(shape: ProgramShape, lay: CudaLayout): string {
    const { graph: g, backward: bw, embedDim: E, hiddenSize: H } = shape;
    const grads = new Map(lay.pre.map((p) => [p.grad, p]));
    const cone = new Set<number>();
    const visit = (id: number) => {
      if (cone.has(id) || grads.has(id)) return;
      const n = bw.nodes[id]!;
      if (n.op === "fwd" || n.op === "gradIn") {
        throw new LoweringError(
          n.op,
          "cuda",
          "the gradient of the layer input depends on more than the input projections",
        );
      }
      cone.add(id);
      if ("a" in n) visit(n.a);
      if ("b" in n) visit(n.b);
    };
    if (bw.dx !== null) visit(bw.dx);
    const be = new Emitter(this, bw.nodes, "q", E, H, layerSlots(g, E, H), (n) => {
      const p = grads.get(n.id);
      return p === undefined ? null : { kind: "reg", name: `g${n.id}`, size: H };
    });
    const body: string[] = [];
    for (const p of lay.pre) {
      body.push(`/* g${p.grad} [${H}] = gradient of x @ ${p.param} */`);
      for (let j = 0; j < H; j++) {
        body.push(`const lane_t ${be.el(p.grad, j)} = g[${p.index * H + j}];`);
      }
    }
    body.push(...this.emitNodes(be, (n) => !cone.has(n.id) || grads.has(n.id)));
    if (bw.dx === null) body.push(`for (int k = 0; k < ${E}; k++) dx[k] = 0.0f;`);
    else if (be.storage[bw.dx]!.kind === "mem") {
      body.push(`for (int k = 0; k < ${E}; k++) dx[k] = ${be.el(bw.dx, "k")};`);
    } else for (let k = 0; k < E; k++) body.push(`dx[${k}] = ${be.el(bw.dx, k)};`);
    return [
      `/* Gradient of layer 0's embedded input: g [${lay.PH}] (of the hoisted projections) → dx [${E}]. */`,
      `RB_FN void rb_cu_dx0(const rb_w_t *RB_RESTRICT W, const float *RB_RESTRICT g, float *RB_RESTRICT dx) {`,
      ...body.map((l) => `  ${l}`),
      `}`,
    ].join("\n");
  }

  /**
   * `rb_w0_src(k)`: where word k of layer 0's uniform (I = H) shared-memory block comes
   * from in its real (I = E) layout, or -1 (the hoisted input weights, zero in shared memory).
   */
  layer0Map(shape: ProgramShape, lay: CudaLayout): string {
    const { graph: g, embedDim: E, hiddenSize: H } = shape;
    const real = new Map(layerSlots(g, E, H).map((s) => [s.name, s]));
    const lines = layerSlots(g, H, H).map((u: WeightSlot) => {
      const r = real.get(u.name)!;
      const n = u.rows * H;
      return u.kind === "input"
        ? `  if (k < ${u.offset + n}) return -1; /* ${u.name}: hoisted */`
        : `  if (k < ${u.offset + n}) return ${r.offset} + (k - ${u.offset}); /* ${u.name} */`;
    });
    const offsets = lay.pre.map((p) =>
      `  if (p == ${p.index}) return ${real.get(p.param)!.offset}; /* ${p.param} */`
    );
    return `/* Word k (< RB_PN) of layer 0's block in the uniform layout → its offset in the real layout, or -1. */
RB_FN int rb_w0_src(int k) {
${lines.join("\n")}
  return -1;
}

/* Offset of the p-th hoisted input weight in layer 0's real layout. */
RB_FN int rb_pre_offset(int p) {
${offsets.join("\n")}
  return 0;
}`;
  }

  /**
   * The wavefront passes and every kernel: the code files `kernels/cuda_wavefront.cu`,
   * `cuda_model.cu`, `cuda_embedding.cu` and `cuda_adam.cu`, with each kernel declared
   * from {@linkcode CUDA_KERNELS}, and the emulator's launch wrappers.
   */
  override kernels(shape: ProgramShape): string {
    const lay = cudaLayout(shape, this.warpsPerBlock);
    // `{{kernel NAME BOUNDS}}`: BOUNDS "flat" (FLAT_BLOCK threads), "warps" (RB_WPB warps)
    // or absent (no __launch_bounds__).
    const threads = new Map([["flat", FLAT_BLOCK], ["warps", lay.warpsPerBlock * WARP]]);
    const declared = new Set<string>();
    const holes: Record<string, Hole> = {
      flush: () => `rb_flush_I${shape.hiddenSize}`,
      kernel: ([name = "", bounds, ...more]) => {
        if (!Object.hasOwn(CUDA_KERNELS, name) || more.length > 0) {
          throw new Error(`Cannot declare kernel "${name}": it is not in CUDA_KERNELS`);
        }
        if (bounds !== undefined && !threads.has(bounds)) {
          throw new Error(`Cannot declare kernel "${name}": unknown bounds "${bounds}"`);
        }
        declared.add(name);
        return signature(name as KernelName, bounds === undefined ? null : threads.get(bounds)!);
      },
    };
    const code = KERNEL_FILES.map((f) => codeFile(f, holes));
    const missing = Object.keys(CUDA_KERNELS).filter((k) => !declared.has(k));
    if (missing.length > 0) {
      throw new Error(`Internal error: no code file declares the kernels ${missing.join(", ")}`);
    }
    return `\n${code.join("\n\n")}\n${emulatorWrappers()}`;
  }

  /** The whole CUDA program. */
  override program(shape: ProgramShape): string {
    const lay = cudaLayout(shape, this.warpsPerBlock);
    const { graph: g } = shape;
    return [
      `/* Generated by rnnbench (models/codegen/cuda.ts) for target cuda: ${g.name} classifier,`,
      ` * E=${shape.embedDim} H=${shape.hiddenSize} L=${shape.layers}; one warp per sequence, one lane per layer.`,
      ` * Letters: B batch, T timesteps, L layers, E embedding, H hidden, S states, PH hoisted values. */`,
      this.prelude(shape),
      this.cudaConstants(shape, lay),
      this.layer0Map(shape, lay),
      this.cellForwardCuda(shape, lay),
      this.cellBackwardCuda(shape, lay),
      this.flush(shape, shape.hiddenSize),
      this.preForward(shape, lay),
      this.preBackward(shape, lay),
      this.kernels(shape),
      "",
    ].join("\n\n");
  }
}

/**
 * Generates the CUDA program of a classifier shape.
 *
 * @param model the model shape (the vocabulary size is a runtime value, not baked in)
 * @param warpsPerBlock sequences per block of the recurrent kernels
 * @returns CUDA C++ source (nvcc, NVRTC, or g++ with the emulator header and -DRB_EMULATE)
 * @example
 * ```ts
 * import { generateCuda } from "./cuda.ts";
 * const src = generateCuda({ arch: "lstm", vocabSize: 100, embedDim: 64, hiddenSize: 8, layers: 25 });
 * console.log(src.includes("rb_train"));
 * ```
 */
export function generateCuda(model: ModelConfig, warpsPerBlock = 4): string {
  return new CudaRenderer(warpsPerBlock).program(programShape(model));
}
