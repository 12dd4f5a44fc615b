/**
 * The `scan` style's tuning: the options ({@linkcode ScanOptions}, each field with its
 * default), the one place that fills in those defaults and checks that they go together
 * ({@linkcode resolveScanOptions}), and the forms an export holds once the "auto" choices are
 * made for a cell and a depth ({@linkcode scanForms}: the schedule, the wavefront's blocks,
 * where layer 0's input is transposed). The lowering reads only the resolved options and
 * the forms.
 *
 * Letters: L layers.
 *
 * @module
 */
import { type Arch, cellGraph } from "../cells.ts";
import { affinePlan } from "./_affine.ts";

/** Where layer 0's input projection is computed in the `scan` style. */
export const ONNX_HOISTS = ["table", "matmul", "none"] as const;
/** `table`: folded into the embedding; `matmul`: one MatMul before the loop; `none`: in the loop. */
export type OnnxHoist = (typeof ONNX_HOISTS)[number];
/** How the `scan` style turns pre-activations into matmuls (see {@linkcode ScanOptions}). */
export const ONNX_GEMMS = ["group", "gate", "none"] as const;
/** See {@linkcode ScanOptions.gemm}. */
export type OnnxGemm = (typeof ONNX_GEMMS)[number];
/** Orders of work in the `scan` style (see {@linkcode ScanOptions}). */
export const ONNX_SCHEDULES = ["auto", "timestep", "wavefront"] as const;
/** See {@linkcode ScanOptions.schedule}. */
export type OnnxSchedule = (typeof ONNX_SCHEDULES)[number];
/** Memory layouts of the values inside the `scan` style's loop (see {@linkcode ScanOptions}). */
export const ONNX_LAYOUTS = ["feature", "batch"] as const;
/** See {@linkcode ScanOptions.layout}. */
export type OnnxLayout = (typeof ONNX_LAYOUTS)[number];
/** Where the `scan` style gathers the input table's rows (see {@linkcode ScanOptions}). */
export const ONNX_GATHERS = ["outer", "step"] as const;
/** See {@linkcode ScanOptions.gather}. */
export type OnnxGather = (typeof ONNX_GATHERS)[number];
/** Where the `scan` style makes layer 0's input feature-major (see {@linkcode ScanOptions}). */
export const ONNX_TRANSPOSES = ["auto", "loop", "outer"] as const;
/** See {@linkcode ScanOptions.transpose}. */
export type OnnxTranspose = (typeof ONNX_TRANSPOSES)[number];
/** Where the `scan` style applies a group's shared activation (see {@linkcode ScanOptions}). */
export const ONNX_ACTIVATIONS = ["group", "gate"] as const;
/** See {@linkcode ScanOptions.activation}. */
export type OnnxActivation = (typeof ONNX_ACTIVATIONS)[number];
/** How the `scan` style adds the biases (see {@linkcode ScanOptions}). */
export const ONNX_BIASES = ["ones", "gemm"] as const;
/** See {@linkcode ScanOptions.bias}. */
export type OnnxBias = (typeof ONNX_BIASES)[number];
/** Default batch size from which schedule "auto" runs its large-batch form (measured). */
export const WAVEFRONT_BELOW = 160;
/**
 * With blocks "auto", large batches run the divisor of L − 1 nearest this many blocks
 * (measured on the original shape, 25 layers of hidden size 8: 4–8 blocks within 1 %).
 */
export const BLOCKS_NEAR = 6;

/** Tuning of the `scan` style; the defaults are the fastest measured form. */
export interface ScanOptions {
  /**
   * How pre-activations become matmuls: `"group"`, one `Gemm` per group of pre-activations
   * that read the same operands, then `Split`; `"gate"`, one `Gemm` per pre-activation
   * (ONNX Runtime fuses it with the activation); `"none"`, one ONNX op per IR op.
   * @default {"group"}
   */
  readonly gemm?: OnnxGemm;
  /**
   * Where layer 0's input projection goes (needs gemm "group" or "gate").
   * @default {"table"}
   */
  readonly hoist?: OnnxHoist;
  /**
   * `"timestep"`: each `Scan` step runs all L layers for one timestep (T steps of L small
   * layer bodies). `"wavefront"`: layers 1…L−1 run in `blocks` stacked blocks, one timestep
   * apart (T + blocks steps, far fewer ops; needs gemm "group"). `"auto"`: an `If` on the
   * batch size runs the wavefront with one layer a block below `wavefrontBelow` sequences,
   * and the large-batch form of `blocks` from there on.
   * @default {"auto"}
   */
  readonly schedule?: OnnxSchedule;
  /**
   * With schedule "auto": batches smaller than this run the one-layer-a-block wavefront.
   * @default {WAVEFRONT_BELOW}
   */
  readonly wavefrontBelow?: number;
  /**
   * Layout of the values inside the loop. `"feature"`: feature-major, `[H, B]` (matmuls as
   * `W^T · x`, biases `[H, 1]`), so that splitting a fused group into its gates and
   * concatenating operands copy whole contiguous blocks; `"batch"`: batch-major `[B, H]`,
   * where each of those copies is B small row pieces.
   * @default {"feature"}
   */
  readonly layout?: OnnxLayout;
  /**
   * Where the rows of layer 0's input table are gathered. `"outer"`: all T timesteps' rows
   * at once before the loop, one `Gather` of T · B rows into `[T, B, N]` (with uniformly
   * random ids every row is a cache miss, and one big gather overlaps them best); `"step"`
   * (needs hoist "table"): the `Scan` reads the ids `[T, B]` and each step gathers its own
   * rows `[B, N]`.
   * @default {"outer"}
   */
  readonly gather?: OnnxGather;
  /**
   * Feature-major only: where layer 0's per-step input `[B, X]` becomes `[X, B]`. `"loop"`:
   * each step transposes its own rows, in cache; `"outer"`: one `Transpose` of the whole
   * `[T, B, X]` before the loop, a tensor written to and read back from memory; `"auto"`:
   * in the loop for the large-batch forms (timestep, or a wavefront of fewer than L − 1
   * blocks), before it for the one-layer-a-block wavefront (small batches, where the one
   * Transpose is cheap and a node per step is not).
   * @default {"auto"}
   */
  readonly transpose?: OnnxTranspose;
  /**
   * How the biases of layers that are not hoisted are added. `"ones"`: a row of ones is
   * appended to each fused matmul's operands and the biases become that row's weights, so
   * the matmul itself yields biased pre-activations (no broadcast fill or `Add`; needs layout
   * "feature" and gemm "group" or "gate"); `"gemm"`: the `Gemm`'s `C` input (an `Add` in the
   * wavefront).
   * @default {"ones" with layout "feature" and gemm "group" or "gate", else "gemm"}
   */
  readonly bias?: OnnxBias;
  /**
   * With gemm "group": `"group"` applies an activation once to a fused group's output, before
   * the `Split`, when every root of the group feeds that one activation and nothing else (the
   * GRU's z and r: one sigmoid, which ONNX Runtime fuses into the `Gemm`); `"gate"` applies
   * each gate's activation after the `Split`.
   * @default {"group"}
   */
  readonly activation?: OnnxActivation;
  /**
   * Wavefront only: layers 1…L−1 run as this many blocks of (L − 1)/blocks consecutive
   * layers (it must divide L − 1). Step s runs layer 0 on timestep s and block k on timestep
   * s − 1 − k, and the blocks are stacked: their ops run on `[blocks, B, ·]` tensors, the
   * layers of a block one after another. L − 1 blocks (one layer each) is the fewest ops per
   * step, for small batches; a few blocks keep each op's tensors in cache for large ones.
   * `"auto"`: L − 1 for schedule "wavefront" and for the small batches of "auto"; for the
   * large batches of "auto", the divisor of L − 1 nearest {@linkcode BLOCKS_NEAR} — unless
   * the cell is one activated matmul (the RNN), whose large batches run the timestep form
   * (ONNX Runtime fuses each of its `Gemm`s with the activation, which a batched `MatMul`
   * does not get). A number: that many blocks (schedule "auto": for its large batches).
   * @default {"auto"}
   */
  readonly blocks?: number | "auto";
}

/** The divisors of n, ascending. */
function divisors(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
}

/** `value` if it is one of `valid`, else a RangeError naming the option and the valid values. */
function oneOf<T extends string>(name: string, value: string, valid: readonly T[]): T {
  if (!(valid as readonly string[]).includes(value)) {
    throw new RangeError(
      `Cannot export to ONNX: unknown ${name} "${value}" (valid: ${valid.join(", ")})`,
    );
  }
  return value as T;
}

/** {@linkcode ScanOptions} with every default filled in. */
export type ResolvedScanOptions = {
  readonly [K in keyof ScanOptions]-?: NonNullable<ScanOptions[K]>;
};

/**
 * Fills in the defaults of the `scan` style's tuning and checks that the options go
 * together.
 *
 * @param scan the options as given
 * @returns every option, defaults filled in
 * @throws {RangeError} naming an unknown value or a combination that cannot be built
 */
export function resolveScanOptions(scan: ScanOptions = {}): ResolvedScanOptions {
  const gemm = oneOf("gemm", scan.gemm ?? "group", ONNX_GEMMS);
  const fuse = gemm !== "none";
  const hoist = oneOf("hoist", scan.hoist ?? (fuse ? "table" : "none"), ONNX_HOISTS);
  if (hoist !== "none" && !fuse) {
    throw new RangeError(
      `Cannot export to ONNX with hoist "${hoist}": hoisting needs gemm "group" or "gate"`,
    );
  }
  const wavefrontBelow = scan.wavefrontBelow ?? WAVEFRONT_BELOW;
  const schedule = oneOf(
    "schedule",
    scan.schedule ?? (gemm === "group" ? "auto" : "timestep"),
    ONNX_SCHEDULES,
  );
  if (schedule !== "timestep" && gemm !== "group") {
    throw new RangeError(
      `Cannot export to ONNX with schedule "${schedule}": it needs gemm "group", got "${gemm}"`,
    );
  }
  if (!Number.isInteger(wavefrontBelow) || wavefrontBelow < 1) {
    throw new RangeError(`Cannot export to ONNX: wavefrontBelow must be a positive integer`);
  }
  const gather = oneOf("gather", scan.gather ?? "outer", ONNX_GATHERS);
  if (gather === "step" && hoist !== "table") {
    throw new RangeError(
      `Cannot export to ONNX with gather "step": it needs hoist "table", got "${hoist}"`,
    );
  }
  const transpose = oneOf("transpose", scan.transpose ?? "auto", ONNX_TRANSPOSES);
  if (gather === "step" && transpose === "outer") {
    throw new RangeError(
      `Cannot export to ONNX with gather "step": its rows are transposed in the loop, so it ` +
        `cannot take transpose "outer"`,
    );
  }
  const valueLayout = oneOf("layout", scan.layout ?? "feature", ONNX_LAYOUTS);
  const fm = valueLayout === "feature";
  const bias = oneOf("bias", scan.bias ?? (fm && fuse ? "ones" : "gemm"), ONNX_BIASES);
  if (bias === "ones" && !(fm && fuse)) {
    throw new RangeError(
      `Cannot export to ONNX with bias "ones": it needs layout "feature" and gemm "group" or ` +
        `"gate", got layout "${valueLayout}" and gemm "${gemm}"`,
    );
  }
  const activation = oneOf("activation", scan.activation ?? "group", ONNX_ACTIVATIONS);
  const blocks = scan.blocks ?? "auto";
  if (blocks !== "auto" && !(Number.isInteger(blocks) && blocks >= 1)) {
    throw new RangeError(
      `Cannot export to ONNX with blocks ${JSON.stringify(blocks)}: it must be "auto" or a ` +
        `positive integer that divides the number of layers above layer 0`,
    );
  }
  if (blocks !== "auto" && schedule === "timestep") {
    throw new RangeError(
      `Cannot export to ONNX with blocks ${blocks}: blocks are a form of the wavefront, so ` +
        `they need schedule "wavefront" or "auto", got "timestep"`,
    );
  }
  return {
    gemm,
    hoist,
    schedule,
    wavefrontBelow,
    layout: valueLayout,
    gather,
    transpose,
    bias,
    activation,
    blocks,
  };
}

/** The resolved options as one metadata string, `key=value` pairs joined by spaces. */
export function scanFormOf(r: ResolvedScanOptions): string {
  return (Object.keys(r) as (keyof ResolvedScanOptions)[]).map((k) => `${k}=${r[k]}`).join(" ");
}

/**
 * One form of the `scan` style's graph, its "auto" choices made: the schedule, the
 * wavefront's number of blocks (1 for timestep), and where layer 0's input becomes
 * feature-major.
 */
export interface ScanForm {
  readonly schedule: "timestep" | "wavefront";
  readonly blocks: number;
  /**
   * Whether each step transposes its own rows `[B, X]` of layer 0's input (layout "feature"
   * with gather "outer": transpose "loop", or "auto" in a form made for large batches);
   * otherwise a feature-major input is transposed once before the loop (gather "outer") or
   * gathered and transposed by each step (gather "step").
   */
  readonly transposeInLoop: boolean;
}

/**
 * The forms an export holds: one, or with schedule "auto" the small-batch and the
 * large-batch one (see {@linkcode ScanOptions.blocks}), with schedule, blocks and transpose
 * "auto" resolved.
 *
 * @param arch the cell (the RNN's large batches run the timestep form)
 * @param L the number of layers
 * @param scan the resolved options
 * @returns the forms, the small-batch one first
 * @throws {RangeError} when `blocks` does not divide the L − 1 layers above layer 0
 */
export function scanForms(arch: Arch, L: number, scan: ResolvedScanOptions): ScanForm[] {
  const R = L - 1, { blocks, schedule } = scan;
  if (blocks !== "auto" && (R === 0 || R % blocks !== 0)) {
    throw new RangeError(
      R === 0
        ? `Cannot export to ONNX with blocks ${blocks}: a 1-layer model has no layers above ` +
          `layer 0 to form blocks (use blocks "auto")`
        : `Cannot export to ONNX with blocks ${blocks}: it must divide the ${R} layers above ` +
          `layer 0 (one of ${divisors(R).join(", ")})`,
    );
  }
  // `large`: made for large batches, so transpose "auto" transposes the input in the loop.
  const form = (schedule: ScanForm["schedule"], blocks: number, large: boolean): ScanForm => ({
    schedule,
    blocks,
    transposeInLoop: scan.gather !== "step" && scan.layout === "feature" &&
      (scan.transpose === "loop" || (scan.transpose === "auto" && large)),
  });
  const timestep = form("timestep", 1, true);
  const wavefront = (K: number, large = K < R) => form("wavefront", K, large);
  if (schedule === "timestep" || L === 1) return [timestep]; // one layer: nothing to skew
  if (schedule === "wavefront") return [wavefront(blocks === "auto" ? R : blocks)];
  const small = wavefront(R);
  if (blocks !== "auto") return [small, wavefront(blocks, true)];
  if (isOneActivatedMatmul(arch)) return [small, timestep];
  const near = divisors(R).reduce((a, d) =>
    Math.abs(d - BLOCKS_NEAR) < Math.abs(a - BLOCKS_NEAR) ? d : a
  );
  return [small, wavefront(near, true)];
}

/**
 * Whether a cell is one fused group whose shared activation is all it computes (the RNN):
 * its timestep form is one `Gemm` that ONNX Runtime fuses with that activation.
 */
function isOneActivatedMatmul(arch: Arch): boolean {
  const g = cellGraph(arch), plan = affinePlan(g);
  const [grp, ...more] = plan.groups;
  return grp !== undefined && more.length === 0 && grp.activation !== null &&
    g.nodes.every((n) =>
      n.op === "input" || n.op === "state" || plan.absorbed.has(n.id) ||
      plan.rootAt.has(n.id) || grp.activationNodes.includes(n.id)
    );
}

/**
 * The forms as text, for the metadata: `timestep` or `wavefront/<blocks>`, and with two
 * forms which runs below and from `wavefrontBelow`.
 *
 * @param forms what {@linkcode scanForms} returned
 * @param wavefrontBelow the batch size from which the second form runs
 * @returns e.g. `wavefront/24 below 160; wavefront/6 from 160`
 */
export function scheduleName(forms: readonly ScanForm[], wavefrontBelow: number): string {
  const name = (f: ScanForm) => f.schedule === "timestep" ? "timestep" : `wavefront/${f.blocks}`;
  const [small, large] = forms;
  return large === undefined
    ? name(small!)
    : `${name(small!)} below ${wavefrontBelow}; ${name(large)} from ${wavefrontBelow}`;
}
