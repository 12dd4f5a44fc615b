/**
 * ONNX lowering of the stacked classifier, from the same cell IR as every other engine.
 *
 * Two graph styles, both taking int64 token ids `ids [batch, T]` (dynamic batch) and
 * returning `logits [batch]`:
 *
 * - `"scan"` (default): a `Scan` over the timesteps whose body runs all L layers, in one of
 *   two orders (below). The body is built by lowering the traced cell graph once per layer with
 *   {@linkcode ONNX_OPS} (one entry per IR op, so a missing op is a compile error) and that
 *   layer's weights as body initializers. By default the gates are fused (`gemm: "group"`,
 *   see `_affine.ts`: one `Gemm` per group of pre-activations that read the same operands,
 *   then `Split`) and layer 0's input projection is hoisted out of the loop: with
 *   `hoist: "table"` the embedding and layer 0's input weights and biases are folded, in
 *   float64, into one lookup table `[V, Σ gate columns]` that replaces the embedding in the
 *   file, so layer 0 needs no input matmul at all (the rows of all steps are gathered before
 *   the loop; in the timestep form each step transposes its own, `transpose: "auto"`);
 *   `"matmul"` keeps the embedding and does one `MatMul` over all timesteps before the loop.
 *   The other layers' biases ride in the fused matmul as the weights of an appended row of
 *   ones (`bias: "ones"`), so no separate bias pass runs. The orders: TIMESTEP (each step
 *   runs the L layers of one timestep: T · L small layer bodies, mostly per-op overhead) and
 *   WAVEFRONT (layers 1…L−1 in K blocks; step s runs layer 0 on timestep s and block k on
 *   timestep s − 1 − k, so the K blocks' ops run as one on `[K, B, ·]` tensors: T + K steps of
 *   (L − 1)/K stacked layer bodies). By default (`schedule: "auto"`) an `If` on the batch size
 *   runs one layer a block (K = L − 1, the fewest ops) below {@linkcode WAVEFRONT_BELOW}
 *   sequences, and from there on a few blocks ({@linkcode BLOCKS_NEAR}, so that each op's
 *   tensors stay in cache) — or, for a cell that is one activated matmul (the RNN), the
 *   timestep form. Inside the loops every value is
 *   FEATURE-MAJOR (`layout: "feature"`): `[H, B]` rather than `[B, H]`, matmuls as
 *   `W^T · x`, so that concatenating a group's operands and splitting its output into gates
 *   copy a few contiguous blocks instead of B small row pieces each (ONNX Runtime's
 *   `Split`/`Concat` on the last axis of `[1000, 32]` cost as much as the `Gemm`). These
 *   defaults were the fastest forms measured (bench/notes/onnx.md).
 * - `"native"`: per layer one standard `RNN` / `GRU` / `LSTM` operator, weights reordered
 *   into ONNX's gate order by {@linkcode nativeMapping} (the cell's `onnxBuiltin`) (GRU: z negated, see DESIGN.md §1;
 *   `linear_before_reset = 0`).
 *
 * Letters: B batch, T timesteps, L layers, V vocabulary, E embedding, H hidden, I a layer's
 * input size, N a fused group's output columns.
 *
 * @module
 */
import { type Arch, cellGraph, cellSpec } from "../cells.ts";
import type { ParamLayout } from "../classifier.ts";
import type { ForwardOp, Node, OnnxBuiltinMapping, UnaryOp } from "../ir.ts";
import { type AffinePlan, affinePlan, type AffineRoot } from "./_affine.ts";
import { GraphBuilder } from "./_builder.ts";
import { type AttrValue, encodeModel, type ModelDef, type ValueInfo } from "./proto.ts";

/** The ONNX opset the exported graphs import (ONNX Runtime 1.30 accepts ≤ 26). */
export const ONNX_OPSET = 21;
/** The ONNX IR version declared in exported files (ONNX Runtime 1.30 accepts ≤ 13). */
export const ONNX_IR_VERSION = 10;
/** Name of the graph input: int64 token ids `[batch, T]`. */
export const ONNX_INPUT_NAME = "ids";
/** Name of the graph output: float32 logits `[batch]`. */
export const ONNX_OUTPUT_NAME = "logits";
/** Graph styles. */
export const ONNX_STYLES = ["scan", "native"] as const;
/** A graph style: one `Scan` over all layers, or the standard recurrent operators. */
export type OnnxStyle = (typeof ONNX_STYLES)[number];
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
/** Metadata keys the exporter fills in itself from the layout and options. */
export const ONNX_METADATA_KEYS = [
  "architecture",
  "exportStyle",
  "maxLen",
  "vocabSize",
  "embedDim",
  "hiddenSize",
  "layers",
  "scanForm",
  "scanSchedule",
] as const;

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

/** Options of {@linkcode exportOnnx}. */
export interface OnnxExportOptions {
  /** Graph style. */
  readonly style: OnnxStyle;
  /** Sequence length T the model is declared for (the `ids` input is `[batch, maxLen]`). */
  readonly maxLen: number;
  /**
   * Extra metadata properties, e.g. `profile`, `vocabHash`, `suiteVersion`. Keys in
   * {@linkcode ONNX_METADATA_KEYS} are filled in by the exporter and may not differ.
   */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tuning of the `scan` style (ignored by `native`). */
  readonly scan?: ScanOptions;
}

/** What an op lowering reads and writes while one layer of the cell is emitted. */
export interface OnnxLowerContext {
  /** The graph being built (the `Scan` body). */
  readonly b: GraphBuilder;
  /** The layer input `x [B, I]` (feature-major: `[I, B]`). */
  readonly input: string;
  /** Previous states `[B, H]` (feature-major: `[H, B]`) by name. */
  readonly states: Readonly<Record<string, string>>;
  /** Value names computed so far, by node id. */
  readonly values: readonly string[];
  /** Whether values are feature-major (`[features, B]`) rather than batch-major. */
  readonly featureMajor: boolean;
  /**
   * The initializer holding one of this layer's weights: `[I, H]`, `[H, H]` or `[H]`
   * batch-major; transposed `[H, I]`, `[H, H]` and `[H, 1]` feature-major. Where n layers
   * run as one (the wavefront's blocks), theirs stacked in front: `[n, I, H]`, `[n, 1, H]`
   * batch-major (so that a vector broadcasts over the batch), `[n, H, I]`, `[n, H, 1]`
   * feature-major.
   */
  weight(param: string): string;
}

/** An IR node narrowed to one op. */
export type NodeOf<K extends ForwardOp> = Node & { readonly op: K };

/** The ONNX operator of each IR activation. */
export const ACTIVATIONS: Readonly<Record<UnaryOp, string>> = {
  sigmoid: "Sigmoid",
  tanh: "Tanh",
  relu: "Relu",
};

const binary = (op: string) => (n: { a: number; b: number }, c: OnnxLowerContext) =>
  c.b.op(op, [c.values[n.a]!, c.values[n.b]!]);
const unary = (op: string) => (n: { a: number }, c: OnnxLowerContext) =>
  c.b.op(op, [c.values[n.a]!]);

/** One ONNX lowering per forward IR op: returns the name of the value it defines. */
export const ONNX_OPS: {
  readonly [K in ForwardOp]: (n: NodeOf<K>, c: OnnxLowerContext) => string;
} = {
  input: (_n, c) => c.input,
  state: (n, c) => c.states[n.name]!,
  const: (n, c) => c.b.scalar(n.value),
  matmul: (n, c) =>
    c.b.op(
      "MatMul",
      c.featureMajor ? [c.weight(n.param), c.values[n.a]!] : [c.values[n.a]!, c.weight(n.param)],
    ),
  addBias: (n, c) => c.b.op("Add", [c.values[n.a]!, c.weight(n.param)]),
  scale: (n, c) => c.b.op("Mul", [c.values[n.a]!, c.weight(n.param)]),
  add: binary("Add"),
  sub: binary("Sub"),
  mul: binary("Mul"),
  sigmoid: unary(ACTIVATIONS.sigmoid),
  tanh: unary(ACTIVATIONS.tanh),
  relu: unary(ACTIVATIONS.relu),
};

/** Lowers one forward node with {@linkcode ONNX_OPS}; backward-only ops are refused. */
function lowerNode(n: Node, c: OnnxLowerContext): string {
  if (n.op === "fwd" || n.op === "gradIn" || n.op === "matmulT" || n.op === "step") {
    throw new Error(`Cannot lower op "${n.op}" to ONNX: it only occurs in backward graphs`);
  }
  return (ONNX_OPS[n.op] as (n: Node, c: OnnxLowerContext) => string)(n, c);
}

/**
 * How a cell's weights map onto ONNX's built-in recurrent operator: the cell's own
 * `onnxBuiltin` (see its definition in `models/cells/`). Checked against the cell's
 * declared weights at export time.
 * @throws Error when the cell has no such mapping
 */
export function nativeMapping(arch: Arch): OnnxBuiltinMapping {
  const map = cellSpec(arch).onnxBuiltin;
  if (map === undefined) {
    throw new Error(
      `Cannot export the ${arch} model with native ONNX ops: the cell defines no ` +
        `onnxBuiltin mapping; export it with --onnx scan`,
    );
  }
  return map;
}

type Params = Float32Array | Float64Array;

/**
 * Builds the ONNX model of a classifier (see the module doc for the two styles).
 *
 * @param layout the parameter layout
 * @param params flat parameters in layout order
 * @param opts style, sequence length, metadata
 * @returns the model, ready for {@linkcode encodeModel}
 */
export function onnxModel(layout: ParamLayout, params: Params, opts: OnnxExportOptions): ModelDef {
  const cfg = layout.config;
  const what = `Cannot export the ${cfg.arch} model to ONNX`;
  if (params.length !== layout.total) {
    throw new RangeError(`${what}: params has ${params.length} values, the layout ${layout.total}`);
  }
  if (!Number.isInteger(opts.maxLen) || opts.maxLen < 1) {
    throw new RangeError(`${what}: maxLen must be a positive integer, got ${opts.maxLen}`);
  }
  if (!(ONNX_STYLES as readonly string[]).includes(opts.style)) {
    throw new RangeError(
      `${what}: unknown style "${opts.style}" (valid: ${ONNX_STYLES.join(", ")})`,
    );
  }
  const scan = opts.style === "scan" ? resolveScanOptions(opts.scan) : null;
  const forms = scan === null ? null : scanForms(cfg.arch, cfg.layers, scan);
  const own: Record<string, string> = {
    ...(scan === null ? {} : {
      scanForm: scanFormOf(scan),
      scanSchedule: scheduleName(forms!, scan.wavefrontBelow),
    }),
    architecture: cfg.arch,
    exportStyle: opts.style,
    maxLen: String(opts.maxLen),
    vocabSize: String(cfg.vocabSize),
    embedDim: String(cfg.embedDim),
    hiddenSize: String(cfg.hiddenSize),
    layers: String(cfg.layers),
  };
  for (const [k, v] of Object.entries(opts.metadata)) {
    if (k in own && own[k] !== v) {
      throw new Error(`${what}: metadata "${k}" is "${v}" but the model says "${own[k]}"`);
    }
  }
  const b = new GraphBuilder("");
  const idsT = b.op("Transpose", [ONNX_INPUT_NAME], { perm: { ints: [1, 0] } }); // [T, B]
  const topH = opts.style === "scan"
    ? lowerScan(layout, params, b, idsT, opts.maxLen, scan!, forms!)
    : lowerNative(layout, params, b, idsT);
  // Head: [B, H] @ W_hy [H, 1] + b_y → [B, 1] → [B].
  const H = cfg.hiddenSize;
  const logit = b.op("Gemm", [
    topH,
    b.init("head.W_hy", [H, 1], slice(layout, params, "head.W_hy")),
    b.init("head.b_y", [1], slice(layout, params, "head.b_y")),
  ]);
  b.node("Reshape", [logit, b.int64s([-1])], {}, [ONNX_OUTPUT_NAME]);
  const inputs: ValueInfo[] = [{
    name: ONNX_INPUT_NAME,
    elemType: "int64",
    dims: ["batch", opts.maxLen],
  }];
  const outputs: ValueInfo[] = [{ name: ONNX_OUTPUT_NAME, elemType: "float", dims: ["batch"] }];
  return {
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producerName: "rnnbench",
    producerVersion: opts.metadata["suiteVersion"] ?? "",
    docString:
      `rnnbench ${cfg.arch} classifier: ${ONNX_INPUT_NAME} int64 [batch, ${opts.maxLen}] → ` +
      `${ONNX_OUTPUT_NAME} float32 [batch]; ${cfg.layers} layers of hidden size ${H}; ` +
      `graph style "${opts.style}"`,
    graph: b.graph(`rnnbench_${cfg.arch}`, inputs, outputs),
    metadata: { ...opts.metadata, ...own },
  };
}

/**
 * Exports a classifier to an ONNX file's bytes.
 *
 * @param layout the parameter layout
 * @param params flat parameters in layout order (float32 or float64; stored as float32)
 * @param opts style, sequence length, metadata, scan tuning
 * @returns the bytes of the `.onnx` file
 * @example
 * ```ts
 * import { exportOnnx } from "./export.ts";
 * import { initParams, paramLayout } from "../classifier.ts";
 * const layout = paramLayout({ arch: "lstm", vocabSize: 100, embedDim: 8, hiddenSize: 4, layers: 2 });
 * const bytes = exportOnnx(layout, initParams(layout, 1), {
 *   style: "scan",
 *   maxLen: 20,
 *   metadata: { profile: "smoke" },
 * });
 * console.log(`${bytes.length} bytes`); // write with Deno.writeFile("model.onnx", bytes)
 * ```
 */
export function exportOnnx(
  layout: ParamLayout,
  params: Params,
  opts: OnnxExportOptions,
): Uint8Array {
  return encodeModel(onnxModel(layout, params, opts));
}

function slice(layout: ParamLayout, params: Params, name: string): Float32Array {
  const t = layout.get(name);
  return Float32Array.from(params.subarray(t.offset, t.offset + t.size));
}

/**
 * A tensor filled with `value` for the current batch size B: `[…lead, B, H]` for
 * `dims = […lead, H]`, or feature-major `[…dims, B]` (zero states; the ones of bias "ones";
 * with a bigint value, int64 ids that are never used).
 */
function filled(
  b: GraphBuilder,
  dims: readonly number[],
  featureMajor: boolean,
  value: number | bigint = 0,
): string {
  const batch = b.op("Shape", [ONNX_INPUT_NAME], { start: { i: 0 }, end: { i: 1 } });
  const shape = featureMajor
    ? b.op("Concat", [b.int64s(dims), batch], { axis: { i: 0 } })
    : dims.length === 1
    ? b.op("Concat", [batch, b.int64s(dims)], { axis: { i: 0 } })
    : b.op("Concat", [b.int64s(dims.slice(0, -1)), batch, b.int64s(dims.slice(-1))], {
      axis: { i: 0 },
    });
  return b.op("ConstantOfShape", [shape], {
    value: {
      t: {
        name: "fill",
        dims: [1],
        data: typeof value === "bigint" ? BigInt64Array.of(value) : Float32Array.of(value),
      },
    },
  });
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

function lowerScan(
  layout: ParamLayout,
  params: Params,
  b: GraphBuilder,
  idsT: string,
  maxLen: number,
  scan: ResolvedScanOptions,
  forms: readonly Form[],
): string {
  const { arch, embedDim: E, hiddenSize: H, layers: L, vocabSize: V } = layout.config;
  const { gemm, hoist, wavefrontBelow, gather, bias } = scan;
  const R = L - 1;
  const { layout: valueLayout, transpose: transposeAt } = scan;
  const fuse = gemm !== "none", fm = valueLayout === "feature";
  /** Dims of a value with `n` features per sequence, in the chosen layout. */
  const dimsOf = (
    n: number,
    lead: number[] = [],
  ) => [...lead, ...(fm ? [n, "batch"] : ["batch", n])];
  const g = cellGraph(arch);
  const plan = fuse ? affinePlan(g) : null;
  const inputId = g.nodes.find((n) => n.op === "input")!.id;
  // Activation before the split (gemm "group", activation "group"): a group whose roots
  // all feed one and the same activation (see `_affine.ts`) runs it once on its output (ONNX
  // Runtime fuses it into the Gemm), and the roots' activation nodes pass through.
  const shareActivation = plan !== null && gemm === "group" && scan.activation === "group";
  const groupActivation = (plan?.groups ?? []).map((grp) =>
    shareActivation && grp.activation !== null ? ACTIVATIONS[grp.activation] : null
  );
  const preActivated = new Set(
    shareActivation ? plan!.groups.flatMap((grp) => grp.activationNodes) : [],
  );
  const weights = (l: number, name: string) => {
    const t = layout.get(`layers.${l}.${name}`);
    return params.subarray(t.offset, t.offset + t.size);
  };
  const emb = layout.get("embedding");
  const embData = params.subarray(emb.offset, emb.offset + emb.size);

  // Layer 0's hoisted input projection: the groups that read x, side by side.
  const hoisted = plan === null || hoist === "none"
    ? []
    : plan.groups.flatMap((grp, gi) => grp.operands.includes(inputId) ? [gi] : []);
  const cols = (gi: number) => plan!.groups[gi]!.roots.length * H;
  const hoistN = hoisted.reduce((s, gi) => s + cols(gi), 0);
  const wx0 = new Float64Array(E * hoistN), bx0 = new Float64Array(hoistN);
  {
    let c0 = 0;
    for (const gi of hoisted) {
      plan!.groups[gi]!.roots.forEach((r, ri) => {
        const c = c0 + ri * H;
        for (const p of r.terms.get(inputId) ?? []) {
          const w = weights(0, p);
          for (let e = 0; e < E; e++) {
            for (let j = 0; j < H; j++) wx0[e * hoistN + c + j]! += w[e * H + j]!;
          }
        }
        for (const p of r.biases) {
          const w = weights(0, p);
          for (let j = 0; j < H; j++) bx0[c + j]! += w[j]!;
        }
      });
      c0 += cols(gi);
    }
  }
  /** Layer 0's input sequence `[n, B, X]` for int64 ids `[n, B]`, emitted into `g`. */
  let inputsOf: (g: GraphBuilder, ids: string) => string, xWidth: number;
  /** With gather "step": the input table, gathered inside the loop from the ids `[T, B]`. */
  let stepTable: string | null = null;
  if (hoist === "table") {
    // table[v] = emb[v] W_x0 + b_0, in float64, rounded once.
    const table = new Float32Array(V * hoistN);
    const row = new Float64Array(hoistN);
    for (let v = 0; v < V; v++) {
      row.set(bx0);
      for (let e = 0; e < E; e++) {
        const x = embData[v * E + e]!;
        for (let j = 0; j < hoistN; j++) row[j]! += x * wx0[e * hoistN + j]!;
      }
      table.set(row, v * hoistN);
    }
    const tableName = b.init("layer0.input_table", [V, hoistN], table);
    if (gather === "step") {
      stepTable = tableName;
      inputsOf = (_g, ids) => ids;
    } else inputsOf = (g, ids) => g.op("Gather", [tableName, ids], { axis: { i: 0 } });
    xWidth = hoistN;
  } else {
    const embName = b.init("embedding", [V, E], Float32Array.from(embData));
    const gathered = (g: GraphBuilder, ids: string) =>
      g.op("Gather", [embName, ids], { axis: { i: 0 } }); // [n, B, E]
    if (hoist === "matmul") {
      const W = b.init("layer0.W_x", [E, hoistN], Float32Array.from(wx0));
      const bx = b.init("layer0.b", [hoistN], Float32Array.from(bx0));
      inputsOf = (g, ids) => g.op("Add", [g.op("MatMul", [gathered(g, ids), W]), bx]);
      xWidth = hoistN;
    } else {
      inputsOf = gathered;
      xWidth = E;
    }
  }

  /** The top layer's last h `[H, B]` or `[B, H]` as `[B, H]`, for the head. */
  const batchMajor = (g: GraphBuilder, v: string) =>
    fm ? g.op("Transpose", [v], { perm: { ints: [1, 0] } }) : v;

  /**
   * Builds the `Scan`s of one form (and what they need) into `outer`; returns the top
   * layer's last h.
   */
  const build = (outer: GraphBuilder, form: Form): string => {
    // bias "ones": rows of ones `[…lead, 1, B]`, made in `outer` once (on first use) and read
    // by the bodies from the enclosing scope.
    const onesByShape = new Map<string, string>();
    const ones = (lead: readonly number[]): string | null => {
      if (bias !== "ones") return null;
      let v = onesByShape.get(lead.join());
      if (v === undefined) onesByShape.set(lead.join(), v = filled(outer, lead, true, 1));
      return v;
    };
    // Feature-major, the inputs [n, B, X] are either transposed before the loop to
    // [n, X, B] (one Transpose), or each step transposes its own [B, X] (`inLoop`).
    const inLoop = stepTable === null && fm &&
      (transposeAt === "loop" || (transposeAt === "auto" && form.large));
    /** What a `Scan` scans for layer 0, for the ids `[n, B]` of its steps. */
    const scanned = (ids: string) => {
      const xs = inputsOf(outer, ids);
      return fm && stepTable === null && !inLoop
        ? outer.op("Transpose", [xs], { perm: { ints: [0, 2, 1] } })
        : xs;
    };

    /** A `Scan` body under construction, with the helpers that emit into it. */
    const newBody = (tag: string) => {
      const body = new GraphBuilder(`${outer.prefix}${tag}/`);
      const P = body.prefix;
      // Layer 0's input for this step: the scan input x_t, its rows `[B, X]` transposed
      // here (`inLoop`), or (gather "step") the rows of the input table for the scan input
      // ids_t, gathered here.
      const idsIn = `${P}ids_t`, rowsIn = `${P}x_rows`;
      let xt = `${P}x_t`;
      if (stepTable !== null || inLoop) {
        const rows = stepTable === null
          ? rowsIn
          : body.op("Gather", [stepTable, idsIn], { axis: { i: 0 } });
        xt = fm ? body.op("Transpose", [rows], { perm: { ints: [1, 0] } }) : rows;
      }
      // Layer 0's share of x_t: per group (gemm "group") or per root (gemm "gate").
      const pieces = hoisted.flatMap((gi) =>
        gemm === "gate" ? plan!.groups[gi]!.roots.map(() => ({ gi, n: H })) : [{ gi, n: cols(gi) }]
      );
      const parts = pieces.length <= 1 ? [xt] : body.node(
        "Split",
        [xt, body.int64s(pieces.map((p) => p.n))],
        { axis: { i: fm ? 0 : -1 } },
        pieces.length,
      );
      const hoistedSlices = new Map<number, string[]>();
      pieces.forEach((p, k) =>
        hoistedSlices.set(p.gi, [...hoistedSlices.get(p.gi) ?? [], parts[k]!])
      );

      /** The weight `p` of n layers stacked in front (see `OnnxLowerContext.weight`). */
      const stackedInits = new Map<string, string>();
      const stackedWeight = (layers: readonly number[], p: string): string => {
        const name = `${P}l${layers.join("_")}.${p}`;
        let v = stackedInits.get(name);
        if (v === undefined) {
          const shape = layout.get(`layers.${layers[0]}.${p}`).shape;
          const [r, c] = shape.length === 1 ? [1, shape[0]!] : [shape[0]!, shape[1]!];
          const data = new Float32Array(layers.length * r * c);
          layers.forEach((l, k) => {
            const w = Float32Array.from(weights(l, p));
            data.set(fm ? transpose(w, r, c) : w, k * r * c);
          });
          v = body.init(name, [layers.length, ...(fm ? [c, r] : [r, c])], data);
          stackedInits.set(name, v);
        }
        return v;
      };

      /**
       * Lowers the cell once for layer `l` (or, the wavefront's blocks, for several layers
       * at once); fused groups are emitted by `group`, other nodes by ONNX_OPS.
       */
      const cell = (
        l: number | readonly number[],
        input: string,
        states: Record<string, string>,
        group: (gi: number, values: readonly string[]) => string[],
      ): string[] => {
        const inits = new Map<string, string>();
        const values: string[] = [];
        const ctx: OnnxLowerContext = {
          b: body,
          input,
          states,
          values,
          featureMajor: fm,
          weight(p) {
            if (typeof l !== "number") return stackedWeight(l, p);
            let name = inits.get(p);
            if (name === undefined) {
              const t = layout.get(`layers.${l}.${p}`);
              const w = Float32Array.from(weights(l, p));
              name = !fm
                ? body.init(`${P}l${l}.${p}`, t.shape, w)
                : t.shape.length === 1
                ? body.init(`${P}l${l}.${p}`, [t.shape[0]!, 1], w)
                : body.init(
                  `${P}l${l}.${p}`,
                  [t.shape[1]!, t.shape[0]!],
                  transpose(w, t.shape[0]!, t.shape[1]!),
                );
              inits.set(p, name);
            }
            return name;
          },
        };
        const groupOut = new Map<number, string[]>();
        for (const n of g.nodes) {
          if (plan !== null && plan.absorbed.has(n.id)) continue;
          if (preActivated.has(n.id) && "a" in n) {
            values[n.id] = values[n.a]!; // its group's output is already activated
            continue;
          }
          const at = plan?.rootAt.get(n.id);
          if (at === undefined) {
            values[n.id] = lowerNode(n, ctx);
            continue;
          }
          let outs = groupOut.get(at.group);
          if (outs === undefined) groupOut.set(at.group, outs = group(at.group, values));
          values[n.id] = outs[at.index]!;
        }
        return values;
      };
      const layerGroup = (l: number) => (gi: number, values: readonly string[]) =>
        emitGroup(
          plan!,
          gi,
          l,
          l === 0 ? E : H,
          H,
          body,
          values,
          weights,
          inputId,
          g.nodes,
          l === 0 ? hoistedSlices.get(gi) ?? null : null,
          gemm as "group" | "gate",
          fm,
          ones([1]),
          groupActivation[gi]!,
        );
      // Body inputs and outputs; an output must be a value of its own (not an input, not
      // another output), else it goes through an Identity.
      const bodyIn: ValueInfo[] = [], bodyOut: ValueInfo[] = [];
      const input = (name: string, dims: readonly (number | string)[]) => {
        bodyIn.push({ name, elemType: "float", dims });
        return name;
      };
      const output = (v: string, dims: readonly (number | string)[]) => {
        if (bodyIn.some((i) => i.name === v) || bodyOut.some((o) => o.name === v)) {
          v = body.op("Identity", [v]);
        }
        bodyOut.push({ name: v, elemType: "float", dims });
      };
      /** Declares the scan input that feeds layer 0: x_t, its rows `[B, X]`, or the ids. */
      const scanInput = () =>
        stepTable !== null
          ? bodyIn.push({ name: idsIn, elemType: "int64", dims: ["batch"] })
          : inLoop
          ? input(rowsIn, ["batch", xWidth])
          : input(xt, dimsOf(xWidth));
      const graph = (name: string) => body.graph(name, bodyIn, bodyOut);
      return { body, P, xt, cell, layerGroup, input, output, scanInput, graph };
    };

    if (form.schedule === "timestep") {
      // The body runs all layers for one timestep.
      // Inputs, outputs and the Scan's state operands all in the order (layer, state).
      const { P, xt, cell, layerGroup, input, output, scanInput, graph } = newBody("s");
      const stateIn = Array.from(
        { length: L },
        (_, l) => Object.fromEntries(g.states.map((s) => [s, input(`${P}l${l}_${s}`, dimsOf(H))])),
      );
      scanInput();
      let x = xt;
      for (let l = 0; l < L; l++) {
        const values = cell(l, x, stateIn[l]!, layerGroup(l));
        for (const s of g.states) output(values[g.outputs[s]!]!, dimsOf(H));
        x = values[g.outputs["h"]!]!;
      }
      const zeros = filled(outer, [H], fm);
      const finals = Array.from(
        { length: L },
        (_, l) => g.states.map((s) => `${outer.prefix}final_l${l}_${s}`),
      )
        .flat();
      outer.node("Scan", [...finals.map(() => zeros), scanned(idsT)], {
        body: { g: graph(`${arch}_step`) },
        num_scan_inputs: { i: 1 },
      }, finals);
      return batchMajor(outer, `${outer.prefix}final_l${L - 1}_h`);
    }

    // Wavefront: layers 1…L−1 form K blocks of D = (L − 1)/K consecutive layers, and at step
    // s, layer 0 runs timestep s and block k timestep s − 1 − k. So the K blocks all read
    // values of the previous step and run as ONE batch of ops on [K, B, ·] tensors (stacked
    // weights, batched MatMul), their D layers one after the other; S = T + K steps. At
    // steps s ≤ k block k has no timestep yet and its new states are multiplied by zero, so
    // it starts from zeros at timestep 0: the first K steps run in a `Scan` of their own
    // whose body has that mask, the other T in one without. What lower blocks compute past
    // timestep T − 1 never reaches the top layer's last step.
    const K = form.blocks, D = R / K, S = maxLen + K;
    /** Layer j of every block: 1 + j, 1 + D + j, … */
    const slot = (j: number) => Array.from({ length: K }, (_, k) => 1 + k * D + j);
    // The ids of all S steps, [S, B] (the last K steps' ids are zeros, never used).
    const idsPad = outer.op("Concat", [idsT, filled(outer, [K], true, 0n)], { axis: { i: 0 } });
    const stepIds = (from: number, to: number) =>
      outer.op("Slice", [idsPad, outer.int64s([from]), outer.int64s([to]), outer.int64s([0])]);
    const zeros0 = filled(outer, [H], fm), zerosK = filled(outer, [K, H], fm);
    const stateNames = (phase: string) => [
      ...g.states.map((s) => `${outer.prefix}${phase}_l0_${s}`),
      ...Array.from(
        { length: D },
        (_, j) => g.states.map((s) => `${outer.prefix}${phase}_j${j}_${s}`),
      )
        .flat(),
    ];
    let carried = [
      ...g.states.map(() => zeros0),
      ...Array.from({ length: D }, () => g.states.map(() => zerosK)).flat(),
    ];
    for (const phase of ["ramp", "run"] as const) {
      const masked = phase === "ramp";
      const { body, P, xt, cell, layerGroup, input, output, scanInput, graph } = newBody(phase);
      const l0 = Object.fromEntries(g.states.map((s) => [s, input(`${P}l0_${s}`, dimsOf(H))]));
      const stacked = Array.from(
        { length: D },
        (_, j) =>
          Object.fromEntries(g.states.map((s) => [s, input(`${P}j${j}_${s}`, dimsOf(H, [K]))])),
      );
      scanInput();
      const maskT = masked ? input(`${P}mask_t`, [K, 1, 1]) : null;
      const v0 = cell(0, xt, l0, layerGroup(0));
      for (const s of g.states) output(v0[g.outputs[s]!]!, dimsOf(H));
      // Block k's first layer reads block k − 1's last h of the previous step (block 0:
      // layer 0's): [h0; top_h[0 … K−2]].
      const h0 = body.op("Unsqueeze", [l0["h"]!, body.int64s([0])]);
      const topH = stacked[D - 1]!["h"]!;
      let x = K === 1 ? h0 : body.op("Concat", [
        h0,
        body.op("Slice", [topH, body.int64s([0]), body.int64s([K - 1]), body.int64s([0])]),
      ], { axis: { i: 0 } });
      for (let j = 0; j < D; j++) {
        const layers = slot(j);
        const vj = cell(
          layers,
          x,
          stacked[j]!,
          (gi, values) =>
            emitStackedGroup(
              plan!,
              gi,
              layers,
              `j${j}`,
              H,
              body,
              values,
              weights,
              fm,
              ones([K, 1]),
              groupActivation[gi]!,
            ),
        );
        for (const s of g.states) {
          const v = vj[g.outputs[s]!]!;
          output(maskT === null ? v : body.op("Mul", [v, maskT]), dimsOf(H, [K]));
        }
        x = vj[g.outputs["h"]!]!;
      }
      const [from, to] = masked ? [0, K] : [K, S];
      const scans = [scanned(stepIds(from, to))];
      if (masked) {
        const mask = new Float32Array(K * K);
        for (let s = 0; s < K; s++) for (let k = 0; k < K; k++) mask[s * K + k] = s > k ? 1 : 0;
        scans.push(outer.init(`${outer.prefix}wavefront_mask`, [K, K, 1, 1], mask));
      }
      const finals = stateNames(phase);
      outer.node("Scan", [...carried, ...scans], {
        body: { g: graph(`${arch}_wavefront_${phase}`) },
        num_scan_inputs: { i: scans.length },
      }, finals);
      carried = finals;
    }
    return batchMajor(
      outer,
      outer.op("Gather", [
        carried[g.states.length * D + g.states.indexOf("h")]!,
        outer.init(`${outer.prefix}top_block_index`, [], BigInt64Array.of(BigInt(K - 1))),
      ], { axis: { i: 0 } }),
    );
  };
  if (forms.length === 1) return build(b, forms[0]!);
  // auto: an If on the batch size picks the one-layer-a-block wavefront for small batches,
  // where the per-op overhead of L small layer bodies per timestep dominates.
  const top = (name: string): ValueInfo[] => [{ name, elemType: "float", dims: ["batch", H] }];
  const [smallForm, largeForm] = forms as [Form, Form];
  const wb = new GraphBuilder("w/"), tb = new GraphBuilder("t/");
  const wTop = build(wb, smallForm), tTop = build(tb, largeForm);
  const batch = b.op("Shape", [ONNX_INPUT_NAME], { start: { i: 0 }, end: { i: 1 } });
  const small = b.op("Less", [batch, b.int64s([wavefrontBelow])]);
  return b.op("If", [small], {
    then_branch: { g: wb.graph("small_batches", [], top(wTop)) },
    else_branch: { g: tb.graph("large_batches", [], top(tTop)) },
  });
}

/**
 * The forms an export holds: one, or with schedule "auto" the small-batch and the
 * large-batch one (see {@linkcode ScanOptions.blocks}).
 */
function scanForms(arch: Arch, L: number, scan: ResolvedScanOptions): Form[] {
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
  const timestep: Form = { schedule: "timestep", blocks: 1, large: true };
  const wavefront = (K: number): Form => ({ schedule: "wavefront", blocks: K, large: K < R });
  if (schedule === "timestep" || L === 1) return [timestep]; // one layer: nothing to skew
  if (schedule === "wavefront") return [wavefront(blocks === "auto" ? R : blocks)];
  const small = wavefront(R);
  if (blocks !== "auto") return [small, { ...wavefront(blocks), large: true }];
  if (isOneActivatedMatmul(arch)) return [small, timestep];
  const near = divisors(R).reduce((a, d) =>
    Math.abs(d - BLOCKS_NEAR) < Math.abs(a - BLOCKS_NEAR) ? d : a
  );
  return [small, { ...wavefront(near), large: true }];
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
 * One schedule of the `scan` style: `blocks` of the wavefront (1 for timestep); `large`:
 * made for large batches (so `transpose: "auto"` transposes the input in the loop).
 */
interface Form {
  readonly schedule: "timestep" | "wavefront";
  readonly blocks: number;
  readonly large: boolean;
}

/**
 * The forms as text, for the metadata: `timestep` or `wavefront/<blocks>`, and with two
 * forms which runs below and from `wavefrontBelow`.
 */
function scheduleName(forms: readonly Form[], wavefrontBelow: number): string {
  const name = (f: Form) => f.schedule === "timestep" ? "timestep" : `wavefront/${f.blocks}`;
  const [small, large] = forms;
  return large === undefined
    ? name(small!)
    : `${name(small!)} below ${wavefrontBelow}; ${name(large)} from ${wavefrontBelow}`;
}

/**
 * Stacks the weights and biases that one fused group needs in a layer: `W [K, N]` with the
 * operands' row blocks in `ops` order and the roots' column blocks side by side, `bias [N]`
 * (null when the group has none). With `onesRow`, the biases are W's last row instead (for
 * an operand row of ones: bias "ones") and `bias` is null.
 */
function stackGroup(
  roots: readonly AffineRoot[],
  ops: readonly number[],
  width: (operand: number) => number,
  H: number,
  weight: (name: string) => Float32Array | Float64Array,
  onesRow = false,
): { K: number; N: number; W: Float32Array; bias: Float32Array | null } {
  const K = ops.reduce((s, o) => s + width(o), 0) + (onesRow ? 1 : 0), N = roots.length * H;
  const W = new Float64Array(K * N), bias = new Float64Array(N);
  let r0 = 0;
  for (const o of ops) {
    roots.forEach((root, ri) => {
      for (const p of root.terms.get(o) ?? []) {
        const w = weight(p);
        for (let i = 0; i < width(o); i++) {
          for (let j = 0; j < H; j++) W[(r0 + i) * N + ri * H + j]! += w[i * H + j]!;
        }
      }
    });
    r0 += width(o);
  }
  roots.forEach((root, ri) => {
    for (const p of root.biases) {
      const w = weight(p);
      for (let j = 0; j < H; j++) bias[ri * H + j]! += w[j]!;
    }
  });
  if (onesRow) W.set(bias, (K - 1) * N);
  const hasBias = !onesRow && roots.some((r) => r.biases.length > 0);
  return { K, N, W: Float32Array.from(W), bias: hasBias ? Float32Array.from(bias) : null };
}

/**
 * Emits one fused group for n `layers` at once (the wavefront: one layer of each block),
 * named by `tag`: operands `[n, B, ·]` concatenated, one batched `MatMul` with the layers'
 * stacked weights `[n, K, N]`, the stacked biases `[n, 1, N]` (with `ones`, bias "ones"
 * `[n, 1, B]`: a row of the weights instead, see {@linkcode emitGroup}), the group's shared
 * `activation` if any, then `Split` into the roots.
 */
function emitStackedGroup(
  plan: AffinePlan,
  gi: number,
  layers: readonly number[],
  tag: string,
  H: number,
  b: GraphBuilder,
  values: readonly string[],
  weights: (l: number, name: string) => Float32Array | Float64Array,
  featureMajor: boolean,
  ones: string | null,
  activation: string | null,
): string[] {
  const grp = plan.groups[gi]!;
  const onesRow = ones !== null && grp.roots.some((r) => r.biases.length > 0);
  const per = layers.map((l) =>
    stackGroup(grp.roots, grp.operands, () => H, H, (p) => weights(l, p), onesRow)
  );
  const n = layers.length;
  const { K, N } = per[0]!;
  // Batch-major [n, B, K] · [n, K, N]; feature-major [n, N, K] · [n, K, B].
  const fm = featureMajor;
  const W = new Float32Array(n * K * N);
  per.forEach((x, k) => W.set(fm ? transpose(x.W, K, N) : x.W, k * K * N));
  const axis = fm ? 1 : -1;
  const operands = [...grp.operands.map((o) => values[o]!), ...(onesRow ? [ones!] : [])];
  const A = operands.length === 1 ? operands[0]! : b.op("Concat", operands, { axis: { i: axis } });
  const Wname = b.init(`${b.prefix}${tag}.g${gi}.W`, fm ? [n, N, K] : [n, K, N], W);
  let out = b.op("MatMul", fm ? [Wname, A] : [A, Wname]);
  if (per[0]!.bias !== null) {
    const bias = new Float32Array(n * N);
    per.forEach((x, k) => bias.set(x.bias!, k * N));
    out = b.op("Add", [
      out,
      b.init(`${b.prefix}${tag}.g${gi}.b`, fm ? [n, N, 1] : [n, 1, N], bias),
    ]);
  }
  if (activation !== null) out = b.op(activation, [out]);
  const R = grp.roots.length;
  return R === 1 ? [out] : b.node("Split", [out, b.int64s(grp.roots.map(() => H))], {
    axis: { i: axis },
  }, R);
}

/**
 * Emits one fused group. `gemm: "group"`: one `Gemm([operands…], W_stacked, C)`, then the
 * group's shared `activation` if it has one (the roots' activation nodes then pass through),
 * then `Split` into its roots; `"gate"`: the operands concatenated once, then one `Gemm` per root
 * (which ONNX Runtime fuses with the activation that follows). `C` is the hoisted layer-0
 * slice (which already holds x W_x + b) or the stacked biases; with `ones` (bias "ones", a
 * `[1, B]` row of ones) the biases are instead one more row of the stacked weights, applied
 * to that row appended to the operands, and the `Gemm` has no `C`.
 */
function emitGroup(
  plan: AffinePlan,
  gi: number,
  l: number,
  I: number,
  H: number,
  b: GraphBuilder,
  values: readonly string[],
  weights: (l: number, name: string) => Float32Array | Float64Array,
  inputId: number,
  nodes: readonly Node[],
  hoisted: readonly string[] | null,
  gemm: "group" | "gate",
  featureMajor: boolean,
  ones: string | null,
  activation: string | null,
): string[] {
  const grp = plan.groups[gi]!;
  const fm = featureMajor;
  const ops = grp.operands.filter((o) => !(hoisted !== null && o === inputId));
  const width = (o: number) => nodes[o]!.size === "I" ? I : H;
  // bias "ones": the biases become the weights of a row of ones appended to the operands.
  const onesRow = ones !== null && hoisted === null && grp.roots.some((r) => r.biases.length > 0);
  const operands = [...ops.map((o) => values[o]!), ...(onesRow ? [ones!] : [])];
  const A = operands.length === 0
    ? null
    : operands.length === 1
    ? operands[0]!
    : b.op("Concat", operands, { axis: { i: fm ? 0 : -1 } });
  const affine = (roots: readonly AffineRoot[], c: string | null, tag: string): string => {
    if (A === null) return c!; // everything was hoisted
    const { K, N, W, bias } = stackGroup(roots, ops, width, H, (p) => weights(l, p), onesRow);
    // Batch-major [B, K] · [K, N] + C; feature-major [N, K] · [K, B] + C.
    const Wname = fm
      ? b.init(`${b.prefix}l${l}.${tag}.W`, [N, K], transpose(W, K, N))
      : b.init(`${b.prefix}l${l}.${tag}.W`, [K, N], W);
    const inputs = fm ? [Wname, A] : [A, Wname];
    if (c !== null) inputs.push(c);
    else if (bias !== null) {
      inputs.push(b.init(`${b.prefix}l${l}.${tag}.b`, fm ? [N, 1] : [N], bias));
    }
    return b.op("Gemm", inputs);
  };
  if (gemm === "gate") {
    return grp.roots.map((r, ri) => affine([r], hoisted?.[ri] ?? null, `g${gi}r${ri}`));
  }
  let out = affine(grp.roots, hoisted?.[0] ?? null, `g${gi}`);
  if (activation !== null) out = b.op(activation, [out]);
  const R = grp.roots.length;
  return R === 1 ? [out] : b.node("Split", [out, b.int64s(grp.roots.map(() => H))], {
    axis: { i: fm ? 0 : 1 },
  }, R);
}

/** The transpose `[cols, rows]` of a row-major `[rows, cols]` matrix. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j]!;
  return t;
}

function lowerNative(layout: ParamLayout, params: Params, b: GraphBuilder, idsT: string): string {
  const { arch, embedDim: E, hiddenSize: H, layers: L, vocabSize: V } = layout.config;
  const map = nativeMapping(arch);
  const declared = cellGraph(arch).params.map((p) => p.name).sort();
  const mapped = map.gates.flatMap((gt) => [gt.x, gt.h, gt.b]).sort();
  if (declared.join() !== mapped.join()) {
    throw new Error(
      `Cannot export the ${arch} model with native ONNX ops: the ${map.op} mapping covers ` +
        `[${mapped}] but the cell declares [${declared}]; update its onnxBuiltin`,
    );
  }
  const G = map.gates.length;
  const embName = b.init("embedding", [V, E], slice(layout, params, "embedding"));
  let x = b.op("Gather", [embName, idsT], { axis: { i: 0 } }); // [T, B, E]
  let last = "";
  for (let l = 0; l < L; l++) {
    const I = l === 0 ? E : H;
    const get = (name: string) => {
      const t = layout.get(`layers.${l}.${name}`);
      return params.subarray(t.offset, t.offset + t.size);
    };
    // W [1, G·H, I] and R [1, G·H, H] hold each gate's matrix transposed; B [1, 2·G·H] is
    // [Wb, Rb] with the cell's one bias in Wb and Rb = 0.
    const W = new Float32Array(G * H * I), R = new Float32Array(G * H * H);
    const B = new Float32Array(2 * G * H);
    map.gates.forEach((gt, gi) => {
      const s = gt.negate ? -1 : 1;
      const wx = get(gt.x), wh = get(gt.h), bias = get(gt.b);
      for (let j = 0; j < H; j++) {
        for (let i = 0; i < I; i++) W[(gi * H + j) * I + i] = s * wx[i * H + j]!;
        for (let i = 0; i < H; i++) R[(gi * H + j) * H + i] = s * wh[i * H + j]!;
        B[gi * H + j] = s * bias[j]!;
      }
    });
    const inputs = [
      x,
      b.init(`l${l}.W`, [1, G * H, I], W),
      b.init(`l${l}.R`, [1, G * H, H], R),
      b.init(`l${l}.B`, [1, 2 * G * H], B),
    ];
    const attrs: Record<string, AttrValue> = { hidden_size: { i: H } };
    for (const [k, v] of Object.entries(map.attrs)) attrs[k] = { i: v };
    if (l < L - 1) {
      const [y] = b.node(map.op, inputs, attrs, 1); // Y [T, 1, B, H]
      x = b.op("Squeeze", [y!, b.int64s([1])]); // [T, B, H]
    } else {
      const yh = b.fresh("y_h");
      b.node(map.op, inputs, attrs, ["", yh]); // Y_h [1, B, H]
      last = b.op("Squeeze", [yh, b.int64s([0])]); // [B, H]
    }
  }
  return last;
}
