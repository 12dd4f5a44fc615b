/**
 * What the `scan` style's lowering shares. Per export, {@linkcode ScanContext}: the traced
 * cell and its fusion plan, the resolved options, which groups run their shared activation
 * before the split, the layer weights and layer 0's input (emitted into the main graph once).
 * Per form, {@linkcode FormGraph}: the graph its `Scan`s go into and the values they read
 * from there (zero states, the rows of ones of bias "ones", layer 0's scanned input).
 *
 * Inside the loops every value is FEATURE-MAJOR with layout "feature": `[H, B]` rather than
 * `[B, H]`, matmuls as `W^T · x`, so that concatenating a group's operands and splitting its
 * output into gates copy a few contiguous blocks instead of B small row pieces each (ONNX
 * Runtime's `Split`/`Concat` on the last axis of `[1000, 32]` cost as much as the `Gemm`).
 *
 * Letters: B batch, T timesteps, H hidden, X the width of layer 0's input.
 *
 * @module
 */
import { cellGraph } from "../cells.ts";
import type { ParamLayout } from "../classifier.ts";
import type { CellGraph } from "../ir.ts";
import { type AffinePlan, affinePlan } from "./_affine.ts";
import type { GraphBuilder } from "./_builder.ts";
import { type Layer0Input, layer0Input } from "./_layer0_input.ts";
import { type Params, paramView } from "./_params.ts";
import { ACTIVATIONS } from "./onnx_ops.ts";
import type { ResolvedScanOptions, ScanForm } from "./scan_options.ts";

/** What the `scan` lowering is given. */
export interface ScanInput {
  /** The parameter layout (its config: the cell and the sizes). */
  readonly layout: ParamLayout;
  /** Flat parameters in layout order. */
  readonly params: Params;
  /** The graph input, int64 ids `[B, T]` (read for the batch size). */
  readonly ids: string;
  /** The ids transposed, `[T, B]`. */
  readonly idsT: string;
  /** T, the sequence length the model is declared for. */
  readonly maxLen: number;
  /** The resolved options. */
  readonly scan: ResolvedScanOptions;
}

/** What every form of one export shares. */
export interface ScanContext extends ScanInput {
  /** The traced cell. */
  readonly g: CellGraph;
  /** The cell's `input` node. */
  readonly inputId: number;
  /** The cell's fusion plan; null with gemm "none". */
  readonly plan: AffinePlan | null;
  /** Whether values inside the loops are feature-major (layout "feature"). */
  readonly featureMajor: boolean;
  /**
   * Per fused group, the ONNX activation it runs once on its output before the split (gemm
   * and activation "group", and a group whose roots all feed that one activation), or null.
   */
  readonly groupActivation: readonly (string | null)[];
  /** The activation nodes those groups' outputs already went through: they pass through. */
  readonly preActivated: ReadonlySet<number>;
  /** Layer 0's input. */
  readonly layer0: Layer0Input;
  /** One weight of layer `l`, in place. */
  weights(l: number, name: string): Params;
  /** Dims of a value with `n` features per sequence, in the chosen layout. */
  dimsOf(n: number, lead?: number[]): (number | string)[];
  /** The top layer's last (or maximum) h `[H, B]` or `[B, H]` as `[B, H]`, for the head. */
  batchMajor(g: GraphBuilder, v: string): string;
}

/**
 * Traces the cell, plans its fusion and emits layer 0's input into the main graph.
 *
 * @param b the main graph
 * @param input what the lowering is given
 * @returns the shared context
 */
export function scanContext(b: GraphBuilder, input: ScanInput): ScanContext {
  const { layout, params, scan } = input;
  const fm = scan.layout === "feature";
  const g = cellGraph(layout.config.arch);
  const plan = scan.gemm !== "none" ? affinePlan(g) : null;
  const inputId = g.nodes.find((n) => n.op === "input")!.id;
  // Activation before the split (gemm "group", activation "group"): a group whose roots
  // all feed one and the same activation (see `_affine.ts`) runs it once on its output (ONNX
  // Runtime fuses it into the Gemm), and the roots' activation nodes pass through.
  const shareActivation = plan !== null && scan.gemm === "group" && scan.activation === "group";
  const groupActivation = (plan?.groups ?? []).map((grp) =>
    shareActivation && grp.activation !== null ? ACTIVATIONS[grp.activation] : null
  );
  const preActivated = new Set(
    shareActivation ? plan!.groups.flatMap((grp) => grp.activationNodes) : [],
  );
  return {
    ...input,
    g,
    inputId,
    plan,
    featureMajor: fm,
    groupActivation,
    preActivated,
    layer0: layer0Input(b, layout, params, plan, inputId, scan),
    weights: (l, name) => paramView(layout, params, `layers.${l}.${name}`),
    dimsOf: (n, lead = []) => [...lead, ...(fm ? [n, "batch"] : ["batch", n])],
    batchMajor: (g, v) => fm ? g.op("Transpose", [v], { perm: { ints: [1, 0] } }) : v,
  };
}

/** The graph one form's `Scan`s go into, and what they read from it. */
export interface FormGraph {
  /** The graph (the main graph, or a branch of the `If` on the batch size). */
  readonly b: GraphBuilder;
  /** The form. */
  readonly form: ScanForm;
  /**
   * A tensor filled with `value` for the current batch size B, emitted here: `[…lead, B, H]`
   * for `dims = […lead, H]`, or feature-major `[…dims, B]` (zero states; the ones of bias
   * "ones"; with a bigint value, int64 ids that are never used).
   */
  filled(dims: readonly number[], featureMajor: boolean, value?: number | bigint): string;
  /**
   * With bias "ones": the row of ones `[…lead, 1, B]`, made here on first use and read by the
   * bodies from the enclosing scope; otherwise null.
   */
  ones(lead: readonly number[]): string | null;
  /** What a `Scan` scans for layer 0, for the ids `[n, B]` of its steps. */
  scanned(ids: string): string;
}

/**
 * The graph for one form's `Scan`s.
 *
 * @param ctx the export's context
 * @param outer where the `Scan`s go
 * @param form the form
 * @returns the form's graph and its helpers
 */
export function formGraph(ctx: ScanContext, outer: GraphBuilder, form: ScanForm): FormGraph {
  const fm = ctx.featureMajor;
  const filled = (dims: readonly number[], featureMajor: boolean, value: number | bigint = 0) => {
    const batch = outer.op("Shape", [ctx.ids], { start: { i: 0 }, end: { i: 1 } });
    const shape = featureMajor
      ? outer.op("Concat", [outer.int64s(dims), batch], { axis: { i: 0 } })
      : dims.length === 1
      ? outer.op("Concat", [batch, outer.int64s(dims)], { axis: { i: 0 } })
      : outer.op("Concat", [outer.int64s(dims.slice(0, -1)), batch, outer.int64s(dims.slice(-1))], {
        axis: { i: 0 },
      });
    return outer.op("ConstantOfShape", [shape], {
      value: {
        t: {
          name: "fill",
          dims: [1],
          data: typeof value === "bigint" ? BigInt64Array.of(value) : Float32Array.of(value),
        },
      },
    });
  };
  const onesByShape = new Map<string, string>();
  const ones = (lead: readonly number[]): string | null => {
    if (ctx.scan.bias !== "ones") return null;
    let v = onesByShape.get(lead.join());
    if (v === undefined) onesByShape.set(lead.join(), v = filled(lead, true, 1));
    return v;
  };
  // Feature-major, the inputs [n, B, X] are either transposed before the loop to [n, X, B]
  // (one Transpose), or each step transposes its own [B, X] (`form.transposeInLoop`).
  const scanned = (ids: string) => {
    const xs = ctx.layer0.inputsOf(outer, ids);
    return fm && ctx.layer0.stepTable === null && !form.transposeInLoop
      ? outer.op("Transpose", [xs], { perm: { ints: [0, 2, 1] } })
      : xs;
  };
  return { b: outer, form, filled, ones, scanned };
}
