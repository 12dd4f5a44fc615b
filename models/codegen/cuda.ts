/**
 * The CUDA target of the generated-code lowering: a {@linkcode Renderer} (`renderer.ts`)
 * that keeps the C target's op table (`default_ops.ts`, over `lane_t = float`), cell
 * functions, stash layout and parameter-gradient flush, and overrides what differs on the
 * GPU: the prelude, the cell functions' names and parameters, the values layer 0's
 * hoisting adds to them (below), and the kernels.
 *
 * MAPPING (why not one thread per sequence). One sequence's work is
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
 * - The readout is compiled in: a `"last"` program is the original code; a `"max"` program
 *   keeps, in the forward, every lane's running maximum of its `h` over time and the first
 *   timestep that holds it (the top lane's feed the head: `htop`, `ttop`), and its backward
 *   adds `dLoss/dmax_j` to the top layer's `h_j` at that timestep `ttop[j]` instead of at
 *   `T − 1`. The code files mark the lines of one readout with `{{readout R}}`
 *   ({@linkcode keepReadout}).
 *
 * What is generated from the IR: one cell forward and backward for every layer
 * (`rb_cu_fwd`, `rb_cu_bwd`: the base's, for I = H, with the hoisted projections bound
 * as values of their own, `ext` added and their gradient `gpre` assigned), the flush, and
 * layer 0's projections and their gradient (`rb_cu_pre0`, `rb_cu_dx0`). The code that is
 * the same for every shape (the prelude, the wavefront passes, the kernels) is CUDA source
 * in `kernels/cuda_*.cu`, copied in with the shape's names filled in. The layout of a
 * shape is `cuda_layout.ts`. Every kernel's parameter list is the table
 * {@linkcode CUDA_KERNELS} (`cuda_kernels.ts`): the generated signatures, the host's
 * argument marshalling (`bench/engines/cuda/pack_args.ts`) and the CPU emulator's launch
 * wrappers (`bench/engines/cuda/emulator/emulator.ts`, tests) all come from it; this module
 * re-exports both.
 *
 * The source compiles with nvcc, with NVRTC (no includes), and, with `-DRB_EMULATE` and
 * the emulator's header, with g++ for the CPU.
 *
 * @module
 */
import { type ModelConfig, type Readout, READOUTS } from "../classifier.ts";
import type { Node } from "../ir.ts";
import { Emitter, type Storage } from "./emitter.ts";
import { LoweringError } from "./lowering_error.ts";
import { layerSlots, type ProgramShape, programShape, type WeightSlot } from "./program_shape.ts";
import { Renderer } from "./renderer.ts";
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
  cudaCellProblem,
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

/** What a `{{readout R}}` hole leaves at the start of its line: keep it, or drop it. */
const KEEP = "\u0000readout-keep\u0000", DROP = "\u0000readout-drop\u0000";

/**
 * A code file's lines for one readout: a line that opens with `{{readout R}}` (filled with
 * {@linkcode KEEP} or {@linkcode DROP} by {@linkcode CudaRenderer.kernels}) is kept without
 * the hole when R is the program's readout, dropped otherwise; other lines stay as they are.
 * @throws Error naming the file when the hole is not at the start of its line
 */
function keepReadout(file: string, code: string): string {
  const lines: string[] = [];
  for (const line of code.split("\n")) {
    const keep = line.startsWith(KEEP), drop = line.startsWith(DROP);
    const rest = keep ? line.slice(KEEP.length) : drop ? line.slice(DROP.length) : line;
    if (rest.includes(KEEP) || rest.includes(DROP)) {
      throw new Error(
        `Cannot fill code file "kernels/${file}": a {{readout R}} hole must open its line`,
      );
    }
    if (!drop) lines.push(rest);
  }
  return lines.join("\n");
}

/**
 * The CUDA renderer: one warp per sequence, one lane per layer (see the module comment).
 * It takes the base's cell functions for I = H, binding layer 0's hoisted input
 * projections as values of their own, and adds the functions of layer 0's projections.
 */
export class CudaRenderer extends Renderer {
  /** "cuda" */
  readonly target: string = "cuda";
  /** One sequence per lane value: lane values are plain floats. */
  readonly lanes: number = 1;
  /** relu and its mask over floats. */
  readonly inlineMath: Readonly<Record<"relu" | "step", (x: string) => string>> = {
    relu: (x) => `fmaxf(${x}, 0.0f)`,
    step: (x) => `(${x} > 0.0f ? 1.0f : 0.0f)`,
  };
  /** Sequences (warps) per block of the recurrent kernels. */
  readonly warpsPerBlock: number;
  protected override readonly generator: string = "models/codegen/cuda.ts";
  protected override readonly letters: string =
    "B batch, T timesteps, L layers, E embedding, H hidden, S states, PH hoisted values";
  readonly #layouts = new WeakMap<ProgramShape, CudaLayout>();

  /**
   * A CUDA renderer.
   * @param warpsPerBlock sequences per block of the recurrent kernels (they share one copy
   *   of the weights in shared memory)
   */
  constructor(warpsPerBlock = 4) {
    super();
    this.warpsPerBlock = warpsPerBlock;
  }

  /** The layout of a shape (computed once per shape); throws for shapes CUDA cannot run. */
  #layout(shape: ProgramShape): CudaLayout {
    let lay = this.#layouts.get(shape);
    if (lay === undefined) {
      lay = cudaLayout(shape, this.warpsPerBlock);
      this.#layouts.set(shape, lay);
    }
    return lay;
  }

  /**
   * Where a function computes the hoisted projections `x · W_x` through the op table:
   * locals `u…`, with only the input bound (to `input`'s storage of it).
   */
  #projections(shape: ProgramShape, I: number, input: (n: Node) => Storage | null): Emitter {
    const { graph: g, hiddenSize: H } = shape;
    return new Emitter(
      this,
      g.nodes,
      "u",
      I,
      H,
      layerSlots(g, I, H),
      (n) => (n.op === "input" ? input(n) : null),
    );
  }

  /** `; one warp per sequence, one lane per layer.` */
  protected override mapping(): string {
    return "; one warp per sequence, one lane per layer.";
  }

  /** Types, qualifiers and the math functions: `kernels/cuda_prelude.cu`. */
  override prelude(_shape: ProgramShape): string {
    return codeFile("cuda_prelude.cu");
  }

  /** The base's constants plus the CUDA layout. */
  override constants(shape: ProgramShape): string {
    const lay = this.#layout(shape);
    return [
      super.constants(shape),
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
      ...(shape.readout === "max"
        ? [`/* readout max: the head reads the top layer's h maximised over the timesteps */`]
        : []),
    ].join("\n");
  }

  /**
   * Layer 0's weight map, one cell forward, backward and flush for every layer (the
   * uniform I = H layout), and layer 0's hoisted projections and their gradient.
   */
  override functions(shape: ProgramShape): string[] {
    const H = shape.hiddenSize;
    return [
      this.layer0Map(shape),
      this.cellForward(shape, H),
      this.cellBackward(shape, H),
      this.flush(shape, H),
      this.preForward(shape),
      this.preBackward(shape),
    ];
  }

  /** The base's leaves, and the hoisted projections `e…`, which the cell functions make. */
  protected override forwardLeaf(shape: ProgramShape, I: number): (n: Node) => Storage | null {
    const leaf = super.forwardLeaf(shape, I);
    const pre = new Set(this.#layout(shape).pre.map((p) => p.node));
    // H ≤ REG_MAX here (cudaLayout refuses wider): the projections live in locals.
    return (n) =>
      pre.has(n.id) ? { kind: "reg", name: `e${n.id}`, size: shape.hiddenSize } : leaf(n);
  }

  /**
   * The hoisted projections inside a cell function: `x · W_x` through the op table (in
   * locals `u…`), plus `ext` (layer 0's precomputed value; zero in the other layers).
   */
  protected override boundValues(shape: ProgramShape, fe: Emitter): string[] {
    const { graph: g, hiddenSize: H } = shape;
    const ue = this.#projections(shape, fe.I, (n) => fe.storage[n.id]!);
    const out: string[] = [];
    for (const p of this.#layout(shape).pre) {
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

  /** `state h`: the state's name only. */
  protected override stateComment(_e: Emitter, n: Extract<Node, { op: "state" }>): string {
    return `/* state ${n.name} */`;
  }

  /** None: the stash writes go uncommented. */
  protected override stashComment(_be: Emitter, _node: number, _offset: number): string[] {
    return [];
  }

  /** `gpre [PH]`: the gradient of the hoisted projections, for layer 0. */
  protected override extraGradients(
    shape: ProgramShape,
    be: Emitter,
  ): { readonly what: string; readonly lines: string[] } {
    const H = shape.hiddenSize;
    const lines = this.#layout(shape).pre.flatMap((p) =>
      Array.from({ length: H }, (_, j) => `gpre[${p.index * H + j}] = ${be.el(p.grad, j)};`)
    );
    return { what: "hoisted-projection", lines };
  }

  /** `rb_cu_fwd`: `x [H]`, `ext [PH]`, `s [S][H]` → `o [S][H]`. */
  protected override forwardHead(shape: ProgramShape, _I: number): string[] {
    const { graph: g, hiddenSize: H } = shape;
    const S = g.states.length;
    return [
      `/* ${g.name} cell forward (every layer, uniform I=${H} layout; layer 0's x is 0 and its`,
      ` * input projections arrive in ext): x [${H}], ext [${
        this.#layout(shape).PH
      }], s [${S}][${H}] → o [${S}][${H}]. */`,
      `RB_FN void rb_cu_fwd(const rb_w_t *RB_RESTRICT W, const lane_t *RB_RESTRICT x,`,
      `    const lane_t *RB_RESTRICT ext, const lane_t *RB_RESTRICT s, lane_t *RB_RESTRICT o) {`,
    ];
  }

  /**
   * `rb_cu_bwd`: `gin [S][H]` → stash `st` (as {@linkcode stashLayout} for I = H),
   * `dx [H]`, `ds [S][H]` and `gpre [PH]`, the gradient of the hoisted projections.
   */
  protected override backwardHead(shape: ProgramShape, _I: number, stashStride: number): string[] {
    const { graph: g, hiddenSize: H } = shape;
    const S = g.states.length, PH = this.#layout(shape).PH;
    return [
      `/* ${g.name} cell backward (uniform I=${H} layout, recomputes the forward): x [${H}], ext [${PH}],`,
      ` * s [${S}][${H}], gin [${S}][${H}] → st [${stashStride}], dx [${H}], ds [${S}][${H}], gpre [${PH}]. */`,
      `RB_FN void rb_cu_bwd(const rb_w_t *RB_RESTRICT W, const lane_t *RB_RESTRICT x,`,
      `    const lane_t *RB_RESTRICT ext, const lane_t *RB_RESTRICT s, const lane_t *RB_RESTRICT gin,`,
      `    lane_t *RB_RESTRICT st, lane_t *RB_RESTRICT dx, lane_t *RB_RESTRICT ds,`,
      `    lane_t *RB_RESTRICT gpre) {`,
    ];
  }

  /** Layer 0's hoisted projections of one embedded token: `x [E]` → `pre [PH]`. */
  preForward(shape: ProgramShape): string {
    const { graph: g, embedDim: E, hiddenSize: H } = shape;
    const lay = this.#layout(shape);
    const ue = this.#projections(shape, E, this.forwardLeaf(shape, E));
    const body = [...this.loadLeaves(ue, g)];
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
  preBackward(shape: ProgramShape): string {
    const { graph: g, backward: bw, embedDim: E, hiddenSize: H } = shape;
    const lay = this.#layout(shape);
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
    body.push(...this.emitNodes(be, (n) => !cone.has(n.id)));
    body.push(...this.assignGradient(be, "dx", bw.dx, E, "0.0f"));
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
  layer0Map(shape: ProgramShape): string {
    const { graph: g, embedDim: E, hiddenSize: H } = shape;
    const real = new Map(layerSlots(g, E, H).map((s) => [s.name, s]));
    const lines = layerSlots(g, H, H).map((u: WeightSlot) => {
      const r = real.get(u.name)!;
      const n = u.rows * H;
      return u.kind === "input"
        ? `  if (k < ${u.offset + n}) return -1; /* ${u.name}: hoisted */`
        : `  if (k < ${u.offset + n}) return ${r.offset} + (k - ${u.offset}); /* ${u.name} */`;
    });
    const offsets = this.#layout(shape).pre.map((p) =>
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
   * from {@linkcode CUDA_KERNELS}, the lines of the shape's readout (`{{readout R}}`,
   * {@linkcode keepReadout}), and the emulator's launch wrappers.
   */
  override kernels(shape: ProgramShape): string {
    const lay = this.#layout(shape);
    // `{{kernel NAME BOUNDS}}`: BOUNDS "flat" (FLAT_BLOCK threads), "warps" (RB_WPB warps)
    // or absent (no __launch_bounds__).
    const threads = new Map([["flat", FLAT_BLOCK], ["warps", lay.warpsPerBlock * WARP]]);
    const declared = new Set<string>();
    const holes: Record<string, Hole> = {
      flush: () => `rb_flush_I${shape.hiddenSize}`,
      kernel: ([name = "", bounds, ...more]) => {
        const problem = !Object.hasOwn(CUDA_KERNELS, name)
          ? "it is not in CUDA_KERNELS"
          : declared.has(name)
          ? "it is declared twice"
          : bounds !== undefined && !threads.has(bounds)
          ? `unknown bounds "${bounds}" (flat, warps or none)`
          : more.length > 0
          ? `unexpected "${more.join(" ")}"`
          : null;
        if (problem !== null) throw new Error(`Cannot declare kernel "${name}": ${problem}`);
        declared.add(name);
        return signature(name as KernelName, bounds === undefined ? null : threads.get(bounds)!);
      },
      readout: ([r = "", ...more]) => {
        if (!READOUTS.includes(r as Readout) || more.length > 0) {
          throw new Error(
            `Cannot fill {{readout ${[r, ...more].join(" ")}}}: one of ${READOUTS.join(", ")}`,
          );
        }
        return r === shape.readout ? KEEP : DROP;
      },
    };
    const code = KERNEL_FILES.map((f) => keepReadout(f, codeFile(f, holes)));
    const missing = Object.keys(CUDA_KERNELS).filter((k) => !declared.has(k));
    if (missing.length > 0) {
      throw new Error(`Internal error: no code file declares the kernels ${missing.join(", ")}`);
    }
    return `\n${code.join("\n\n")}\n${emulatorWrappers()}`;
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
