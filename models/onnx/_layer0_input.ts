/**
 * Layer 0's input in the `scan` style. Its input projection `x W_x + b` is hoisted out of the
 * loop (it does not depend on the state) for the fused groups that read x: with hoist
 * "table" the embedding and layer 0's input weights and biases are folded, in float64, into
 * one lookup table `[V, N]` that replaces the embedding in the file, so layer 0 needs no
 * input matmul at all; with "matmul" the embedding stays and one `MatMul` runs over all
 * timesteps before the loop; with "none" the loop reads the embedding rows `[B, E]`.
 *
 * Letters: B batch, T timesteps, V vocabulary, E embedding, H hidden, N the hoisted groups'
 * columns side by side, X the width of a step's input (N, or E without hoisting).
 *
 * @module
 */
import type { ParamLayout } from "../classifier.ts";
import type { AffinePlan } from "./_affine.ts";
import type { GraphBuilder } from "./_builder.ts";
import { type Params, paramView } from "./_params.ts";
import type { ResolvedScanOptions } from "./scan_options.ts";

/** Layer 0's input, as the `Scan`s read it. */
export interface Layer0Input {
  /**
   * The hoisted slices of a step's input `[B, X]`, in column order, each of width `n`: one
   * per group (gemm "group") or one per root (gemm "gate") of the group `gi`; empty without
   * hoisting.
   */
  readonly pieces: readonly { readonly gi: number; readonly n: number }[];
  /** X, the width of a step's input. */
  readonly width: number;
  /** With gather "step": the input table, gathered inside the loop from the ids `[T, B]`. */
  readonly stepTable: string | null;
  /**
   * Layer 0's input sequence `[n, B, X]` for int64 ids `[n, B]`, emitted into `g` (with
   * gather "step": the ids themselves).
   */
  inputsOf(g: GraphBuilder, ids: string): string;
}

/**
 * Folds layer 0's hoisted input projection and emits what it needs into the main graph
 * (the input table, or the embedding and the hoisted weights).
 *
 * @param b the main graph
 * @param layout the parameter layout
 * @param params flat parameters in layout order
 * @param plan the cell's fusion plan (null with gemm "none")
 * @param inputId the cell's `input` node
 * @param scan the resolved options (gemm, hoist, gather)
 * @returns layer 0's input
 */
export function layer0Input(
  b: GraphBuilder,
  layout: ParamLayout,
  params: Params,
  plan: AffinePlan | null,
  inputId: number,
  scan: ResolvedScanOptions,
): Layer0Input {
  const { embedDim: E, hiddenSize: H, vocabSize: V } = layout.config;
  const { gemm, hoist, gather } = scan;
  const weights = (name: string) => paramView(layout, params, `layers.0.${name}`);
  const embData = paramView(layout, params, "embedding");

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
          const w = weights(p);
          for (let e = 0; e < E; e++) {
            for (let j = 0; j < H; j++) wx0[e * hoistN + c + j]! += w[e * H + j]!;
          }
        }
        for (const p of r.biases) {
          const w = weights(p);
          for (let j = 0; j < H; j++) bx0[c + j]! += w[j]!;
        }
      });
      c0 += cols(gi);
    }
  }
  let inputsOf: (g: GraphBuilder, ids: string) => string, xWidth: number;
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
  // Layer 0's share of x_t: per group (gemm "group") or per root (gemm "gate").
  const pieces = hoisted.flatMap((gi) =>
    gemm === "gate" ? plan!.groups[gi]!.roots.map(() => ({ gi, n: H })) : [{ gi, n: cols(gi) }]
  );
  return { pieces, width: xWidth, stepTable, inputsOf };
}
