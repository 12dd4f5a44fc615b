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
 * Every kernel's parameter list is the table {@linkcode CUDA_KERNELS}: the generated
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
import { DW0_ROWS, emulatorWrappers, FLAT_BLOCK, signature, WARP } from "./cuda_kernels.ts";
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

  /** Types, qualifiers and the math functions (scalar loops over `expf`/`tanhf`). */
  override prelude(_shape: ProgramShape): string {
    return `#if defined(__CUDACC_RTC__)
typedef unsigned long size_t; /* NVRTC: no system headers */
#endif
/* One sequence per thread: a lane value is a float. Weights are read as they are. */
typedef float lane_t;
typedef float rb_w_t;
#define RB_FN __device__ __forceinline__
#define RB_GROUP_FN __device__
#define RB_RESTRICT __restrict__
#define RB_LANE(v, i) (v)
#define RB_ZERO 0.0f
#define RB_PREFETCH(p, n)
#define RB_FULL 0xffffffffu
#ifdef RB_EMULATE
#define RB_DYNAMIC_SMEM(name) float *name = rb_emu_dynamic_smem()
#else
#define RB_DYNAMIC_SMEM(name) extern __shared__ float name[]
#endif

/* y = σ(x) = 1 / (1 + e^-x) (expf: full accuracy; e^88+ overflows to inf and gives 0). */
RB_FN void rb_sigmoid_v(const lane_t *RB_RESTRICT x, lane_t *RB_RESTRICT y, int n) {
#pragma unroll
  for (int i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

/* y = tanh(x) (tanhf: full accuracy). */
RB_FN void rb_tanh_v(const lane_t *RB_RESTRICT x, lane_t *RB_RESTRICT y, int n) {
#pragma unroll
  for (int i = 0; i < n; i++) y[i] = tanhf(x[i]);
}`;
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

  /** The wavefront passes and every kernel. */
  override kernels(shape: ProgramShape): string {
    const lay = cudaLayout(shape, this.warpsPerBlock);
    const H = shape.hiddenSize;
    const threads = lay.warpsPerBlock * WARP;
    return `
/* ================= device passes (one warp per sequence, one lane per layer) ================= */

/* Copies every layer's weights (uniform I=H layout, layer 0's input weights zeroed) into
 * shared memory Ws [L][WS]; the whole block takes part. */
RB_FN void rb_load_weights(const float *RB_RESTRICT rest, float *RB_RESTRICT Ws) {
  for (int i = threadIdx.x; i < RB_L * RB_WS; i += blockDim.x) {
    const int l = i / RB_WS, k = i - l * RB_WS;
    float v = 0.0f;
    if (k < RB_PN) {
      const int src = l == 0 ? rb_w0_src(k) : RB_P0 + (l - 1) * RB_PN + k;
      if (src >= 0) v = rest[src];
    }
    Ws[i] = v;
  }
  __syncthreads();
}

/* Forward wavefront of sequence b: at wave w lane l runs layer l at timestep t = w − l.
 * pre0 [B][T][PH]: layer 0's hoisted projections. tape [B][T+L−1][SH][32] (or NULL):
 * every lane's states after every wave it is active, coalesced. htop [H]: the top layer's
 * h after the last timestep (lane L−1). Returns the logit (every lane). */
RB_FN float rb_wave_forward(const float *RB_RESTRICT Ws, const float *RB_RESTRICT rest,
    const float *RB_RESTRICT pre0, int b, int T, int lane, float *RB_RESTRICT tape,
    float *RB_RESTRICT htop) {
  const float *RB_RESTRICT W = Ws + (lane < RB_L ? lane : RB_L - 1) * RB_WS;
  const int NW = T + RB_L - 1;
  lane_t s[RB_SH], o[RB_SH], x[RB_H], hp[RB_H], ext[RB_PH];
#pragma unroll
  for (int i = 0; i < RB_SH; i++) s[i] = 0.0f;
#pragma unroll
  for (int j = 0; j < RB_H; j++) hp[j] = 0.0f;
  for (int w = 0; w < NW; w++) {
    const int t = w - lane;
    const bool active = lane < RB_L && t >= 0 && t < T;
    /* the layer below's h at this timestep, from the previous wave */
#pragma unroll
    for (int j = 0; j < RB_H; j++) {
      const float v = __shfl_up_sync(RB_FULL, hp[j], 1);
      x[j] = lane == 0 ? 0.0f : v;
    }
    const float *RB_RESTRICT pr = pre0 + ((size_t)b * T + (t < 0 ? 0 : t >= T ? T - 1 : t)) * RB_PH;
#pragma unroll
    for (int k = 0; k < RB_PH; k++) ext[k] = (lane == 0 && active) ? __ldg(pr + k) : 0.0f;
    rb_cu_fwd(W, x, ext, s, o);
    if (active) {
#pragma unroll
      for (int i = 0; i < RB_SH; i++) s[i] = o[i];
#pragma unroll
      for (int j = 0; j < RB_H; j++) hp[j] = o[j];
      if (tape) {
        float *RB_RESTRICT row = tape + ((size_t)b * NW + w) * RB_SH * 32 + lane;
#pragma unroll
        for (int i = 0; i < RB_SH; i++) row[i * 32] = o[i];
      }
    }
  }
  /* head: logit = h_top · W_hy + b_y (state 0 is h) */
  float z = 0.0f;
  if (lane == RB_L - 1) {
    z = s[0] * rest[RB_NCELL];
#pragma unroll
    for (int j = 1; j < RB_H; j++) z += s[j] * rest[RB_NCELL + j];
    z += rest[RB_NCELL + RB_H];
    if (htop) {
#pragma unroll
      for (int j = 0; j < RB_H; j++) htop[j] = s[j];
    }
  }
  return __shfl_sync(RB_FULL, z, RB_L - 1);
}

/* Backward wavefront of sequence b, waves in reverse: lane l at wave w runs layer l at
 * t = w − l; the layer above's dx at the same t arrives from lane l + 1 (previous wave).
 * dtop [H]: dLoss/dh of the top layer at the last timestep. Writes gpre0 [B][T][PH] (lane 0)
 * and partial [B][PN][32]: this sequence's parameter gradients, per layer (lane). */
RB_FN void rb_wave_backward(const float *RB_RESTRICT Ws, const float *RB_RESTRICT pre0, int b,
    int T, int lane, const float *RB_RESTRICT tape, const float *RB_RESTRICT dtop,
    float *RB_RESTRICT gpre0, float *RB_RESTRICT partial) {
  const float *RB_RESTRICT W = Ws + (lane < RB_L ? lane : RB_L - 1) * RB_WS;
  const int NW = T + RB_L - 1;
  lane_t acc[RB_PN];          /* this layer's parameter gradients, uniform layout */
  lane_t stash[RB_TB * RB_STRIDE];
  for (int i = 0; i < RB_PN; i++) acc[i] = 0.0f;
  lane_t carry[RB_SH], dxp[RB_H];
#pragma unroll
  for (int i = 0; i < RB_SH; i++) carry[i] = 0.0f;
#pragma unroll
  for (int j = 0; j < RB_H; j++) dxp[j] = 0.0f;
  int nt = 0;
  for (int w = NW - 1; w >= 0; w--) {
    const int t = w - lane;
    const bool active = lane < RB_L && t >= 0 && t < T;
    lane_t gin[RB_SH], sp[RB_SH], x[RB_H], ext[RB_PH], dx[RB_H], ds[RB_SH], gp[RB_PH];
#pragma unroll
    for (int j = 0; j < RB_H; j++) {
      const float above = __shfl_down_sync(RB_FULL, dxp[j], 1);
      gin[j] = active ? carry[j] + (lane == RB_L - 1 ? (t == T - 1 ? dtop[j] : 0.0f) : above) : 0.0f;
    }
#pragma unroll
    for (int i = RB_H; i < RB_SH; i++) gin[i] = active ? carry[i] : 0.0f;
    /* the states before this step (own column) and this step's input (column l − 1) */
    const float *RB_RESTRICT row = tape + ((size_t)b * NW + (w > 0 ? w - 1 : 0)) * RB_SH * 32;
#pragma unroll
    for (int i = 0; i < RB_SH; i++) sp[i] = (active && t > 0) ? row[i * 32 + lane] : 0.0f;
#pragma unroll
    for (int j = 0; j < RB_H; j++) x[j] = (active && lane > 0) ? row[j * 32 + lane - 1] : 0.0f;
    const float *RB_RESTRICT pr = pre0 + ((size_t)b * T + (t < 0 ? 0 : t >= T ? T - 1 : t)) * RB_PH;
#pragma unroll
    for (int k = 0; k < RB_PH; k++) ext[k] = (lane == 0 && active) ? __ldg(pr + k) : 0.0f;
    rb_cu_bwd(W, x, ext, sp, gin, stash + nt * RB_STRIDE, dx, ds, gp);
    if (lane == 0 && active) {
      float *RB_RESTRICT gr = gpre0 + ((size_t)b * T + t) * RB_PH;
#pragma unroll
      for (int k = 0; k < RB_PH; k++) gr[k] = gp[k];
    }
#pragma unroll
    for (int i = 0; i < RB_SH; i++) carry[i] = active ? ds[i] : 0.0f;
#pragma unroll
    for (int j = 0; j < RB_H; j++) dxp[j] = active ? dx[j] : 0.0f;
    if (++nt == RB_TB || w == 0) {
      rb_flush_I${H}(stash, nt, acc);
      nt = 0;
    }
  }
  float *RB_RESTRICT out = partial + (size_t)b * RB_PN * 32 + lane;
  for (int k = 0; k < RB_PN; k++) out[k * 32] = acc[k];
}

/* ================= kernels ================= */

${signature("rb_pre0", FLAT_BLOCK)} {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B * T) return;
  const int b = r / T, t = r - b * T;
  const float *RB_RESTRICT x = emb + (size_t)ids[(size_t)rows[b] * T + t] * RB_E;
  rb_cu_pre0(rest, x, pre0 + (size_t)r * RB_PH);
}

${signature("rb_forward", threads)} {
  RB_DYNAMIC_SMEM(Ws);
  rb_load_weights(rest, Ws);
  const int lane = threadIdx.x & 31, b = blockIdx.x * RB_WPB + (threadIdx.x >> 5);
  if (b >= B) return;
  const float z = rb_wave_forward(Ws, rest, pre0, b, T, lane, nullptr, nullptr);
  if (lane == 0) logits[b] = z;
}

${signature("rb_train", threads)} {
  RB_DYNAMIC_SMEM(Ws);
  rb_load_weights(rest, Ws);
  const int lane = threadIdx.x & 31, b = blockIdx.x * RB_WPB + (threadIdx.x >> 5);
  if (b >= B) return;
  float htop[RB_H];
#pragma unroll
  for (int j = 0; j < RB_H; j++) htop[j] = 0.0f;
  const float z = rb_wave_forward(Ws, rest, pre0, b, T, lane, tape, htop);
  __syncwarp(); /* the tape written by every lane is read by its neighbour below */
  /* BCE with logits and dLoss/dz, in double as the C target */
  const double zz = z, y = labels[b];
  const float dz = (float)((1.0 / (1.0 + exp(-zz)) - y) / B);
  if (lane == 0) {
    logits[b] = z;
    loss[b] = fmax(zz, 0.0) - zz * y + log1p(exp(-fabs(zz)));
  }
  /* head: dW_hy = h_top dz, db_y = dz; dtop = dz W_hy */
  float dtop[RB_H];
#pragma unroll
  for (int j = 0; j < RB_H; j++) dtop[j] = dz * rest[RB_NCELL + j];
  if (lane == RB_L - 1) {
    float *RB_RESTRICT ph = phead + (size_t)b * (RB_H + 1);
#pragma unroll
    for (int j = 0; j < RB_H; j++) ph[j] = htop[j] * dz;
    ph[RB_H] = dz;
  }
  rb_wave_backward(Ws, pre0, b, T, lane, tape, dtop, gpre0, partial);
}

${signature("rb_reduce", FLAT_BLOCK)} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  int dst;
  const float *RB_RESTRICT src;
  int stride;
  if (i < RB_PN * 32) {
    const int k = i >> 5, lane = i & 31;
    if (lane >= RB_L) return;
    dst = lane == 0 ? rb_w0_src(k) : RB_P0 + (lane - 1) * RB_PN + k;
    if (dst < 0) return;
    src = partial + (size_t)k * 32 + lane;
    stride = RB_PN * 32;
  } else if (i < RB_PN * 32 + RB_H + 1) {
    const int j = i - RB_PN * 32;
    dst = RB_NCELL + j;
    src = phead + j;
    stride = RB_H + 1;
  } else {
    return;
  }
  /* Σ_b in a fixed order: four interleaved partial sums, then combined */
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  int b = 0;
  for (; b + 4 <= B; b += 4) {
    s0 += src[(size_t)b * stride];
    s1 += src[(size_t)(b + 1) * stride];
    s2 += src[(size_t)(b + 2) * stride];
    s3 += src[(size_t)(b + 3) * stride];
  }
  for (; b < B; b++) s0 += src[(size_t)b * stride];
  grest[dst] = (s0 + s1) + (s2 + s3);
}

${signature("rb_dx0", FLAT_BLOCK)} {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= N) return;
  rb_cu_dx0(rest, gpre0 + (size_t)r * RB_PH, dxemb + (size_t)r * RB_E);
}

${signature("rb_dw0", FLAT_BLOCK)} {
  __shared__ float xs[RB_DW0_TILE * RB_E];
  __shared__ float gs[RB_DW0_TILE * RB_PH];
  const int N = B * T, r0 = blockIdx.x * RB_DW0_ROWS;
  const int r1 = r0 + RB_DW0_ROWS < N ? r0 + RB_DW0_ROWS : N;
  float acc[RB_DW0_PER];
#pragma unroll
  for (int q = 0; q < RB_DW0_PER; q++) acc[q] = 0.0f;
  for (int base = r0; base < r1; base += RB_DW0_TILE) {
    const int n = r1 - base < RB_DW0_TILE ? r1 - base : RB_DW0_TILE;
    __syncthreads();
    for (int i = threadIdx.x; i < RB_DW0_TILE * RB_E; i += blockDim.x) {
      const int rr = i / RB_E, e = i - rr * RB_E;
      float v = 0.0f;
      if (rr < n) {
        const int r = base + rr, b = r / T, t = r - b * T;
        v = emb[(size_t)ids[(size_t)rows[b] * T + t] * RB_E + e];
      }
      xs[i] = v;
    }
    for (int i = threadIdx.x; i < RB_DW0_TILE * RB_PH; i += blockDim.x) {
      const int rr = i / RB_PH;
      gs[i] = rr < n ? gpre0[(size_t)base * RB_PH + i] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int q = 0; q < RB_DW0_PER; q++) {
      const int o = threadIdx.x + q * RB_FLAT;
      if (o < RB_NO) {
        const int k = o / RB_PH, pj = o - k * RB_PH;
        float a = acc[q];
        for (int rr = 0; rr < n; rr++) a += xs[rr * RB_E + k] * gs[rr * RB_PH + pj];
        acc[q] = a;
      }
    }
  }
#pragma unroll
  for (int q = 0; q < RB_DW0_PER; q++) {
    const int o = threadIdx.x + q * RB_FLAT;
    if (o < RB_NO) part[(size_t)blockIdx.x * RB_NO + o] = acc[q];
  }
}

${signature("rb_dw0_reduce", FLAT_BLOCK)} {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= RB_NO) return;
  const int k = o / RB_PH, q = o - k * RB_PH, p = q / RB_H, j = q - p * RB_H;
  float s = 0.0f;
  for (int c = 0; c < nchunks; c++) s += part[(size_t)c * RB_NO + o];
  grest[rb_pre_offset(p) + k * RB_H + j] = s;
}

${signature("rb_emb_seg", FLAT_BLOCK)} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int s = i / RB_E, e = i - s * RB_E;
  if (s >= nseg) return;
  float acc = 0.0f;
  for (int k = segStart[s]; k < segStart[s + 1]; k++) acc += dxemb[(size_t)order[k] * RB_E + e];
  segSum[(size_t)s * RB_E + e] = acc;
}

${signature("rb_emb_rows", FLAT_BLOCK)} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int u = i / RB_E, e = i - u * RB_E;
  if (u >= nu) return;
  float acc = 0.0f;
  for (int s = uniqSeg[u]; s < uniqSeg[u + 1]; s++) acc += segSum[(size_t)s * RB_E + e];
  gemb[(size_t)uniqRow[u] * RB_E + e] = acc;
}

${signature("rb_sqnorm", FLAT_BLOCK)} {
  __shared__ double sh[RB_FLAT];
  const int chunk = (n + gridDim.x - 1) / gridDim.x;
  const int i0 = blockIdx.x * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
  double s = 0.0;
  for (int i = i0 + threadIdx.x; i < i1; i += blockDim.x) s += (double)g[i] * g[i];
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) part[blockIdx.x] = sh[0];
}

${signature("rb_norm_final", null)} {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  double s = 0.0;
  for (int i = 0; i < nparts; i++) s += part[i];
  const double nrm = sqrt(s);
  norm[0] = nrm;
  const double coef = (double)clip / (nrm + 1e-6);
  scale[0] = coef < 1.0 ? (float)coef : 1.0f;
}

${signature("rb_adam", FLAT_BLOCK)} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float gi = g[i] * scale[0];
  const float mi = beta1 * m[i] + omb1 * gi;
  const float vi = beta2 * v[i] + omb2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] -= stepSize * mi / (sqrtf(vi) / sqrtBc2 + eps);
}
${emulatorWrappers()}`;
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
