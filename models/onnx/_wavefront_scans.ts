/**
 * The WAVEFRONT form of the `scan` style. Layers 1…L−1 form K blocks of D = (L − 1)/K
 * consecutive layers, and at step s, layer 0 runs timestep s and block k timestep s − 1 − k.
 * So the K blocks all read values of the previous step and run as ONE batch of ops on
 * `[K, B, ·]` tensors (stacked weights, batched `MatMul`, see {@linkcode emitStackedGroup}),
 * their D layers one after the other; S = T + K steps. At steps s ≤ k block k has no
 * timestep yet and its new states are multiplied by zero, so it starts from zeros at
 * timestep 0: the first K steps run in a `Scan` of their own whose body has that mask (the
 * ramp), the other T in one without (the run). What lower blocks compute past timestep
 * T − 1 never reaches the top layer's last step.
 *
 * The readout "max" costs one state of the run: the top block runs timestep s − K at step s,
 * so the ramp's steps hold none of its timesteps and the run's T steps hold timesteps
 * 0 … T − 1, each once; the run carries the top layer's running maximum of h (`Max` of it
 * and the step's top h, from −∞) and the head reads its final value.
 *
 * K = L − 1 (one layer a block) is the fewest ops per step, for small batches; a few blocks
 * keep each op's tensors in cache for large ones.
 *
 * Letters: B batch, T timesteps, L layers, H hidden, K blocks, D layers a block, S steps.
 *
 * @module
 */
import { emitStackedGroup } from "./_emit_group.ts";
import { scanBody } from "./_scan_body.ts";
import type { FormGraph, ScanContext } from "./_scan_context.ts";
import { readoutOf } from "../classifier.ts";

/**
 * Emits the wavefront form's two `Scan`s (ramp and run) into the form's graph.
 *
 * @param ctx the export's context
 * @param out the form's graph (its form has the number of blocks)
 * @returns the top layer's last h `[B, H]`, or with the readout "max" its maximum over the
 * timesteps
 */
export function wavefrontScans(ctx: ScanContext, out: FormGraph): string {
  const { arch, hiddenSize: H, layers: L } = ctx.layout.config;
  const pooled = readoutOf(ctx.layout.config) === "max";
  const { g, plan, weights, dimsOf } = ctx, fm = ctx.featureMajor, outer = out.b;
  const K = out.form.blocks, D = (L - 1) / K, S = ctx.maxLen + K;
  /** Layer j of every block: 1 + j, 1 + D + j, … */
  const slot = (j: number) => Array.from({ length: K }, (_, k) => 1 + k * D + j);
  // The ids of all S steps, [S, B] (the last K steps' ids are zeros, never used).
  const idsPad = outer.op("Concat", [ctx.idsT, out.filled([K], true, 0n)], { axis: { i: 0 } });
  const stepIds = (from: number, to: number) =>
    outer.op("Slice", [idsPad, outer.int64s([from]), outer.int64s([to]), outer.int64s([0])]);
  const zeros0 = out.filled([H], fm), zerosK = out.filled([K, H], fm);
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
  let maxTop: string | null = null; // readout "max": the run's final maximum [1, ·, ·]
  for (const phase of ["ramp", "run"] as const) {
    const masked = phase === "ramp";
    const { body, P, xt, cell, layerGroup, input, output, scanInput, graph } = scanBody(
      ctx,
      out,
      phase,
    );
    const l0 = Object.fromEntries(g.states.map((s) => [s, input(`${P}l0_${s}`, dimsOf(H))]));
    const stacked = Array.from(
      { length: D },
      (_, j) =>
        Object.fromEntries(g.states.map((s) => [s, input(`${P}j${j}_${s}`, dimsOf(H, [K]))])),
    );
    // Readout "max", the run only: the top layer's running maximum [1, ·, ·] (block K − 1).
    const maxIn = pooled && !masked ? input(`${P}max_h`, dimsOf(H, [1])) : null;
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
            out.ones([K, 1]),
            ctx.groupActivation[gi]!,
          ),
      );
      for (const s of g.states) {
        const v = vj[g.outputs[s]!]!;
        output(maskT === null ? v : body.op("Mul", [v, maskT]), dimsOf(H, [K]));
      }
      x = vj[g.outputs["h"]!]!;
    }
    if (maxIn !== null) {
      const top = K === 1
        ? x
        : body.op("Slice", [x, body.int64s([K - 1]), body.int64s([K]), body.int64s([0])]);
      output(body.op("Max", [maxIn, top]), dimsOf(H, [1]));
    }
    const [from, to] = masked ? [0, K] : [K, S];
    const scans = [out.scanned(stepIds(from, to))];
    if (masked) {
      const mask = new Float32Array(K * K);
      for (let s = 0; s < K; s++) for (let k = 0; k < K; k++) mask[s * K + k] = s > k ? 1 : 0;
      scans.push(outer.init(`${outer.prefix}wavefront_mask`, [K, K, 1, 1], mask));
    }
    const finals = stateNames(phase);
    const maxFinal = `${outer.prefix}${phase}_max_h`;
    outer.node("Scan", [
      ...carried,
      ...(maxIn === null ? [] : [out.filled([1, H], fm, -Infinity)]),
      ...scans,
    ], {
      body: { g: graph(`${arch}_wavefront_${phase}`) },
      num_scan_inputs: { i: scans.length },
    }, maxIn === null ? finals : [...finals, maxFinal]);
    carried = finals;
    if (maxIn !== null) maxTop = maxFinal;
  }
  if (maxTop !== null) {
    return ctx.batchMajor(outer, outer.op("Squeeze", [maxTop, outer.int64s([0])]));
  }
  return ctx.batchMajor(
    outer,
    outer.op("Gather", [
      carried[g.states.length * D + g.states.indexOf("h")]!,
      outer.init(`${outer.prefix}top_block_index`, [], BigInt64Array.of(BigInt(K - 1))),
    ], { axis: { i: 0 } }),
  );
}
