/**
 * The TIMESTEP form of the `scan` style: one `Scan` over the T timesteps whose body runs all
 * L layers of one timestep, each layer the cell lowered with that layer's weights (T · L
 * small layer bodies, mostly per-op overhead for small batches; for large batches the form
 * whose matmuls ONNX Runtime fuses with their activation).
 *
 * With the readout "max" the body carries one more state after the layers' states, the top
 * layer's running maximum of h over the timesteps (`Max` of it and the step's top h, from
 * −∞), and the `Scan`'s final value of that state is what the head reads.
 *
 * Letters: B batch, T timesteps, L layers, H hidden.
 *
 * @module
 */
import { scanBody } from "./_scan_body.ts";
import type { FormGraph, ScanContext } from "./_scan_context.ts";
import { readoutOf } from "../classifier.ts";

/**
 * Emits the timestep form's `Scan` into the form's graph.
 *
 * @param ctx the export's context
 * @param out the form's graph
 * @returns the top layer's last h `[B, H]`, or with the readout "max" its maximum over the
 * timesteps
 */
export function timestepScan(ctx: ScanContext, out: FormGraph): string {
  const { arch, hiddenSize: H, layers: L } = ctx.layout.config;
  const pooled = readoutOf(ctx.layout.config) === "max";
  const { g, dimsOf } = ctx, fm = ctx.featureMajor, outer = out.b;
  // Inputs, outputs and the Scan's state operands all in the order (layer, state).
  const { body, P, xt, cell, layerGroup, input, output, scanInput, graph } = scanBody(
    ctx,
    out,
    "s",
  );
  const stateIn = Array.from(
    { length: L },
    (_, l) => Object.fromEntries(g.states.map((s) => [s, input(`${P}l${l}_${s}`, dimsOf(H))])),
  );
  const maxIn = pooled ? input(`${P}max_h`, dimsOf(H)) : null;
  scanInput();
  let x = xt;
  for (let l = 0; l < L; l++) {
    const values = cell(l, x, stateIn[l]!, layerGroup(l));
    for (const s of g.states) output(values[g.outputs[s]!]!, dimsOf(H));
    x = values[g.outputs["h"]!]!;
  }
  if (maxIn !== null) output(body.op("Max", [maxIn, x]), dimsOf(H));
  const zeros = out.filled([H], fm);
  const finals = Array.from(
    { length: L },
    (_, l) => g.states.map((s) => `${outer.prefix}final_l${l}_${s}`),
  )
    .flat();
  const initial = finals.map(() => zeros);
  if (pooled) {
    finals.push(`${outer.prefix}final_max_h`);
    initial.push(out.filled([H], fm, -Infinity));
  }
  outer.node("Scan", [...initial, out.scanned(ctx.idsT)], {
    body: { g: graph(`${arch}_step`) },
    num_scan_inputs: { i: 1 },
  }, finals);
  return ctx.batchMajor(outer, pooled ? finals.at(-1)! : `${outer.prefix}final_l${L - 1}_h`);
}
