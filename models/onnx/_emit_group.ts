/**
 * Emits the fused groups of `_affine.ts` as ONNX matmuls: the group's weights stacked into
 * one matrix (operands' row blocks, roots' column blocks), one `Gemm` for a layer
 * ({@linkcode emitGroup}, the timestep form and the wavefront's layer 0) or one batched
 * `MatMul` for a layer of every wavefront block ({@linkcode emitStackedGroup}), then the
 * group's shared activation and a `Split` into its roots.
 *
 * Letters: B batch, H hidden, I a layer's input size, K a stacked weight's rows (operand
 * widths summed), N its columns (H per root), n stacked layers.
 *
 * @module
 */
import type { Node } from "../ir.ts";
import type { AffinePlan, AffineRoot } from "./_affine.ts";
import type { GraphBuilder } from "./_builder.ts";

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
export function emitStackedGroup(
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
export function emitGroup(
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
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j]!;
  return t;
}
