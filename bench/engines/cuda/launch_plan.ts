/**
 * How the CUDA engine's kernels are launched for a batch of B sequences of T timesteps:
 * the grid, block and shared memory of each (`launchPlan`), and the device memory its
 * buffers take (`deviceBuffers`). Pure arithmetic on the program's layout
 * (`cudaLayoutFor` in `models/codegen/cuda.ts`), tested without a GPU.
 *
 * @module
 */
import {
  type CudaLayout,
  DW0_ROWS,
  FLAT_BLOCK,
  NORM_BLOCKS,
  WARP,
} from "../../../models/codegen/cuda.ts";
import type { LaunchConfig } from "./driver.ts";

/** Launch geometry of every kernel for a batch of B sequences of T timesteps. */
export interface LaunchPlan {
  readonly pre0: LaunchConfig;
  readonly forward: LaunchConfig;
  readonly train: LaunchConfig;
  readonly reduce: LaunchConfig;
  readonly dx0: LaunchConfig;
  readonly dw0: LaunchConfig;
  readonly dw0Reduce: LaunchConfig;
  readonly sqnorm: LaunchConfig;
  readonly normFinal: LaunchConfig;
  readonly adam: LaunchConfig;
  /** For `rb_emb_seg` over `nseg` runs. */
  embSeg(nseg: number): LaunchConfig;
  /** For `rb_emb_rows` over `nu` distinct tokens. */
  embRows(nu: number): LaunchConfig;
}

const flat = (items: number): LaunchConfig => ({
  grid: Math.max(1, Math.ceil(items / FLAT_BLOCK)),
  block: FLAT_BLOCK,
  sharedBytes: 0,
});

/**
 * The launch geometry of every kernel (pure arithmetic, tested without a GPU).
 * @param lay the program's layout
 * @param B sequences
 * @param T timesteps
 * @param P parameters (Adam, norm)
 */
export function launchPlan(lay: CudaLayout, B: number, T: number, P: number): LaunchPlan {
  const N = B * T;
  const recurrent: LaunchConfig = {
    grid: Math.ceil(B / lay.warpsPerBlock),
    block: lay.warpsPerBlock * WARP,
    sharedBytes: lay.smemBytes,
  };
  return {
    pre0: flat(N),
    forward: recurrent,
    train: recurrent,
    reduce: flat(lay.PN * WARP + lay.H + 1),
    dx0: flat(N),
    dw0: { grid: Math.ceil(N / DW0_ROWS), block: FLAT_BLOCK, sharedBytes: 0 },
    dw0Reduce: flat(lay.NO),
    sqnorm: { grid: NORM_BLOCKS, block: FLAT_BLOCK, sharedBytes: 0 },
    normFinal: { grid: 1, block: WARP, sharedBytes: 0 },
    adam: flat(P),
    embSeg: (nseg) => flat(nseg * lay.E),
    embRows: (nu) => flat(nu * lay.E),
  };
}

/** Device memory of the engine's buffers, in bytes, by buffer (messages, bench/notes/cuda.md). */
export function deviceBuffers(
  lay: CudaLayout,
  maxB: number,
  T: number,
  P: number,
): Record<string, number> {
  const N = maxB * T, NW = T + lay.L - 1;
  return {
    "parameters, gradient, Adam m and v": 4 * P * 4,
    "tape (states of every wave)": maxB * NW * lay.SH * WARP * 4,
    "hoisted layer-0 projections and their gradient": 2 * N * lay.PH * 4,
    "per-sequence parameter-gradient partials": maxB * (lay.PN * WARP + lay.H + 1) * 4,
    "embedded-input gradient and its run sums": 2 * N * lay.E * 4,
    "layer-0 input-weight partials": Math.ceil(N / DW0_ROWS) * lay.NO * 4,
    "batch ids, rows, labels, logits, loss, sort index": N * 4 + maxB * 20 + (4 * N + 2) * 4,
  };
}
