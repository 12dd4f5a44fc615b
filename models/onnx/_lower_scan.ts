/**
 * The `scan` style: the stacked layers as `Scan`s over the timesteps, in the forms of
 * {@linkcode scanForms}. One form is emitted straight into the main graph; two (schedule
 * "auto") become the branches of an `If` on the batch size: the one-layer-a-block wavefront
 * for small batches, where the per-op overhead of L small layer bodies per timestep
 * dominates, the large-batch form from `wavefrontBelow` sequences on.
 *
 * Letters: B batch, L layers, H hidden.
 *
 * @module
 */
import { GraphBuilder } from "./_builder.ts";
import { formGraph, type ScanContext, scanContext, type ScanInput } from "./_scan_context.ts";
import { timestepScan } from "./_timestep_scan.ts";
import { wavefrontScans } from "./_wavefront_scans.ts";
import type { ValueInfo } from "./proto.ts";
import type { ScanForm } from "./scan_options.ts";

/**
 * Emits the `scan` style's layers into the main graph.
 *
 * @param b the main graph
 * @param input the parameters, the ids and the resolved options
 * @param forms the forms to emit (see {@linkcode scanForms}): one, or the small-batch and the
 * large-batch one
 * @returns the top layer's last h `[B, H]`, or with the readout "max" its maximum over the
 * timesteps (every form returns the same)
 */
export function lowerScan(b: GraphBuilder, input: ScanInput, forms: readonly ScanForm[]): string {
  const ctx = scanContext(b, input);
  if (forms.length === 1) return buildForm(ctx, b, forms[0]!);
  const H = input.layout.config.hiddenSize;
  const top = (name: string): ValueInfo[] => [{ name, elemType: "float", dims: ["batch", H] }];
  const [smallForm, largeForm] = forms as [ScanForm, ScanForm];
  const wb = new GraphBuilder("w/"), tb = new GraphBuilder("t/");
  const wTop = buildForm(ctx, wb, smallForm), tTop = buildForm(ctx, tb, largeForm);
  const batch = b.op("Shape", [input.ids], { start: { i: 0 }, end: { i: 1 } });
  const small = b.op("Less", [batch, b.int64s([input.scan.wavefrontBelow])]);
  return b.op("If", [small], {
    then_branch: { g: wb.graph("small_batches", [], top(wTop)) },
    else_branch: { g: tb.graph("large_batches", [], top(tTop)) },
  });
}

/** Builds the `Scan`s of one form (and what they need) into `outer`; returns the top h. */
function buildForm(ctx: ScanContext, outer: GraphBuilder, form: ScanForm): string {
  const out = formGraph(ctx, outer, form);
  return form.schedule === "timestep" ? timestepScan(ctx, out) : wavefrontScans(ctx, out);
}
