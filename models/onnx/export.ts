/**
 * ONNX lowering of the stacked classifier, from the same cell IR as every other engine: the
 * public entry ({@linkcode exportOnnx}, {@linkcode onnxModel}), which checks the options,
 * fills in the metadata and assembles the model around the recurrent layers: the int64 token
 * ids `ids [batch, T]` (dynamic batch) transposed to `[T, batch]`, the layers, and the head
 * `Gemm` returning `logits [batch]`. The layers come in two graph styles:
 *
 * - `"scan"` (default, `_lower_scan.ts`): `Scan`s over the timesteps whose bodies run the
 *   cell graph lowered op by op ({@linkcode ONNX_OPS}) with the gates fused (`_affine.ts`,
 *   `_emit_group.ts`), layer 0's input projection hoisted out of the loop
 *   (`_layer0_input.ts`), in a timestep form (`_timestep_scan.ts`: each step runs all L
 *   layers of one timestep) or a wavefront form (`_wavefront_scans.ts`: layers 1…L−1 in
 *   stacked blocks, one timestep apart), or both behind an `If` on the batch size. The tuning
 *   and its defaults, the fastest forms measured (bench/notes/onnx.md), are
 *   {@linkcode ScanOptions} (`scan_options.ts`).
 * - `"native"` (`_lower_builtin.ts`): per layer one standard `RNN` / `GRU` / `LSTM` operator,
 *   weights reordered into ONNX's gate order by the cell's `onnxBuiltin` mapping (GRU: z
 *   negated, see DESIGN.md §1; `linear_before_reset = 0`).
 *
 * The head reads the top layer's h after the last timestep or, with the model's readout
 * `"max"` ({@linkcode Readout}), its maximum over the timesteps: every style and form returns
 * that `[B, H]` to the head (see each lowering), and the metadata and docString say `readout`
 * (exports with the default readout "last" carry no such key, as before it existed).
 *
 * Letters: B batch, T timesteps, L layers, H hidden.
 *
 * @module
 */
import { type ParamLayout, type Readout, readoutOf } from "../classifier.ts";
import { GraphBuilder } from "./_builder.ts";
import { lowerBuiltin } from "./_lower_builtin.ts";
import { lowerScan } from "./_lower_scan.ts";
import { paramF32, type Params } from "./_params.ts";
import { encodeModel, type ModelDef, type ValueInfo } from "./proto.ts";
import {
  resolveScanOptions,
  scanFormOf,
  scanForms,
  type ScanOptions,
  scheduleName,
} from "./scan_options.ts";

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
/**
 * Metadata keys the exporter fills in itself from the layout and options (`scanForm` and
 * `scanSchedule` for the `scan` style only, `readout` for a readout other than "last" only;
 * a caller's `readout` is checked against the model's either way).
 */
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
  "readout",
] as const;

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
  const readout: Readout = readoutOf(cfg);
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
    // Only a readout other than the original's is named, so "last" exports stay as they were;
    // a caller's "readout" is still checked against the model's.
    ...(readout === "last" ? {} : { readout }),
  };
  const model: Record<string, string> = { ...own, readout };
  for (const [k, v] of Object.entries(opts.metadata)) {
    if (k in model && model[k] !== v) {
      throw new Error(`${what}: metadata "${k}" is "${v}" but the model says "${model[k]}"`);
    }
  }
  const b = new GraphBuilder("");
  const idsT = b.op("Transpose", [ONNX_INPUT_NAME], { perm: { ints: [1, 0] } }); // [T, B]
  const topH = opts.style === "scan"
    ? lowerScan(
      b,
      { layout, params, ids: ONNX_INPUT_NAME, idsT, maxLen: opts.maxLen, scan: scan! },
      forms!,
    )
    : lowerBuiltin(layout, params, b, idsT);
  // Head: [B, H] @ W_hy [H, 1] + b_y → [B, 1] → [B].
  const H = cfg.hiddenSize;
  const logit = b.op("Gemm", [
    topH,
    b.init("head.W_hy", [H, 1], paramF32(layout, params, "head.W_hy")),
    b.init("head.b_y", [1], paramF32(layout, params, "head.b_y")),
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
      `graph style "${opts.style}"` +
      (readout === "last" ? "" : `; readout "${readout}": the head reads the maximum over ` +
        `the ${opts.maxLen} timesteps of the top layer's h, per sequence and unit`),
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
