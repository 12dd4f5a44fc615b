/**
 * The layout of the CUDA target for a model shape ({@linkcode CudaLayout}): which input
 * projections of layer 0 are hoisted out of the recurrence (read off the IR), the sizes of
 * the weight blocks in shared memory (biases and diagonal weights are `[H]` words like any
 * other), and the shapes and cells the kernels cannot run, with why.
 * The generated code and the host (`bench/engines/cuda/`: the engine, its probe and its
 * launch plan) both size everything from it.
 *
 * @module
 */
import { backward, type BackwardGraph } from "../grad.ts";
import { type Arch, cellGraph } from "../cells.ts";
import type { ModelConfig } from "../classifier.ts";
import type { CellGraph } from "../ir.ts";
import { LoweringError } from "./lowering_error.ts";
import {
  isWide,
  layerSize,
  type ProgramShape,
  programShape,
  REG_MAX,
  stashLayout,
} from "./program_shape.ts";
import { WARP } from "./cuda_kernels.ts";

/** A hoisted input projection of layer 0: `matmul(input, W)` and its gradient node. */
export interface PreNode {
  /** The forward matmul node. */
  readonly node: number;
  /** The input-kind weight it multiplies by. */
  readonly param: string;
  /** Its position among the hoisted values (`pre0[r][index·H + j]`). */
  readonly index: number;
  /** The backward node holding the gradient of its output. */
  readonly grad: number;
}

/** Sizes the generated CUDA and the host agree on (computed once, here). */
export interface CudaLayout {
  /** Embedding size E, hidden size H, layers L, states per layer S. */
  readonly E: number;
  readonly H: number;
  readonly L: number;
  readonly S: number;
  /** S·H: state values per layer. */
  readonly SH: number;
  /** Weights of layer 0, of each layer above, of all cells, and after the embedding. */
  readonly P0: number;
  readonly PN: number;
  readonly NCELL: number;
  readonly NREST: number;
  /** The hoisted projections of layer 0, in order. */
  readonly pre: readonly PreNode[];
  /** Hoisted values per (b, t): pre.length · H. */
  readonly PH: number;
  /** Shared-memory floats per layer: PN rounded up to an odd number. */
  readonly WS: number;
  /** Dynamic shared memory of `rb_forward` and `rb_train`, in bytes. */
  readonly smemBytes: number;
  /** Sequences (warps) per block of `rb_forward` and `rb_train`. */
  readonly warpsPerBlock: number;
  /** Floats of one timestep's stash (operands of the parameter gradients). */
  readonly stashStride: number;
  /** Outputs of `rb_dw0`: E · PH. */
  readonly NO: number;
  /** Rows staged in shared memory per tile of `rb_dw0`. */
  readonly dw0Tile: number;
}

/**
 * Checks that the input of the cell is used only by input projections (`x · W_x`, each
 * input-kind weight once), which the CUDA target hoists out of the recurrence, and finds
 * their gradient nodes.
 * @throws LoweringError naming what is used otherwise
 */
export function hoistedProjections(g: CellGraph, bw: BackwardGraph): PreNode[] {
  const input = g.nodes.find((n) => n.op === "input");
  if (input === undefined) throw new LoweringError("input", "cuda", "the cell has no input");
  const pre: PreNode[] = [];
  const kinds = new Map(g.params.map((p) => [p.name, p.kind]));
  const seen = new Set<string>();
  for (const n of g.nodes) {
    const operands = ["a" in n ? n.a : -1, "b" in n ? n.b : -1];
    if (!operands.includes(input.id)) continue;
    if (n.op !== "matmul" || kinds.get(n.param) !== "input") {
      throw new LoweringError(
        n.op,
        "cuda",
        "the layer input may only be multiplied by input weights (x · W_x), which the CUDA " +
          "target hoists out of the recurrence",
      );
    }
    if (seen.has(n.param)) {
      throw new LoweringError(n.op, "cuda", `input weight "${n.param}" is used twice`);
    }
    seen.add(n.param);
    const pgs = bw.paramGrads.filter((pg) => pg.param === n.param);
    const pg = pgs[0];
    if (pgs.length !== 1 || pg === undefined || pg.kind !== "outer") {
      throw new LoweringError("matmul", "cuda", `no single gradient of "${n.param}"`);
    }
    const a = bw.nodes[pg.a];
    if (a?.op !== "fwd" || a.ref !== input.id) {
      throw new LoweringError("matmul", "cuda", `the gradient of "${n.param}" is not x ⊗ g`);
    }
    pre.push({ node: n.id, param: n.param, index: pre.length, grad: pg.g });
  }
  return pre;
}

/**
 * Why the CUDA target cannot lower a cell, or null when it can: its kernels hoist layer 0's
 * input projections out of the recurrence, so the layer input may only be multiplied by
 * input weights ({@linkcode hoistedProjections}).
 * @param arch a registered cell
 * @returns the message of the {@linkcode LoweringError}, naming the op, or null
 * @example
 * ```ts
 * cudaCellProblem("gru"); // null
 * ```
 */
export function cudaCellProblem(arch: Arch): string | null {
  const g = cellGraph(arch);
  try {
    hoistedProjections(g, backward(g));
    return null;
  } catch (e) {
    if (e instanceof LoweringError) return e.message;
    throw e;
  }
}

/**
 * Why the CUDA target cannot run a model shape, or null when it can: it runs one layer per
 * lane of a warp (L ≤ 32) and keeps a layer's states in that lane's registers
 * (H ≤ {@linkcode REG_MAX}; wider models train on the native engine).
 * @param shape hidden size and layers
 * @returns the reason, or null
 * @example
 * ```ts
 * cudaShapeProblem({ hiddenSize: 8, layers: 25 }); // null
 * ```
 */
export function cudaShapeProblem(
  shape: { readonly hiddenSize: number; readonly layers: number },
): string | null {
  const { hiddenSize: H, layers: L } = shape;
  if (L > WARP) {
    return `${L} layers: the kernels run one layer per lane of a warp, so at most ${WARP}`;
  }
  if (isWide(H)) {
    return `hidden size ${H}: a layer's states live in one lane's registers, so at most ` +
      `${REG_MAX} (the native engine trains wider models)`;
  }
  return null;
}

/**
 * The sizes of the CUDA program for a shape.
 * @param shape the program shape
 * @param warpsPerBlock sequences per block of the recurrent kernels
 * @throws LoweringError when L > 32 (one lane per layer), H > 16 or the cell cannot be hoisted
 */
export function cudaLayout(shape: ProgramShape, warpsPerBlock = 4): CudaLayout {
  const { graph: g, backward: bw, embedDim: E, hiddenSize: H, layers: L } = shape;
  const problem = cudaShapeProblem({ hiddenSize: H, layers: L });
  if (problem !== null) throw new LoweringError("matmul", "cuda", problem);
  if (!Number.isInteger(warpsPerBlock) || warpsPerBlock < 1 || warpsPerBlock > 32) {
    throw new RangeError(`Invalid warps per block ${warpsPerBlock}: must be 1 … 32`);
  }
  const pre = hoistedProjections(g, bw);
  const S = g.states.length;
  const P0 = layerSize(g, E, H), PN = layerSize(g, H, H);
  const NCELL = P0 + (L - 1) * PN;
  const PH = pre.length * H;
  const WS = PN % 2 === 1 ? PN : PN + 1;
  const stashStride = stashLayout(shape, H).stride;
  return {
    E,
    H,
    L,
    S,
    SH: S * H,
    P0,
    PN,
    NCELL,
    NREST: NCELL + H + 1,
    pre,
    PH,
    WS,
    smemBytes: L * WS * 4,
    warpsPerBlock,
    stashStride,
    NO: E * PH,
    dw0Tile: Math.max(1, Math.min(32, Math.floor(3072 / Math.max(1, E + PH)))),
  };
}

/** The layout for a model config (traces and differentiates its cell). */
export function cudaLayoutFor(model: ModelConfig, warpsPerBlock = 4): CudaLayout {
  return cudaLayout(programShape(model), warpsPerBlock);
}
