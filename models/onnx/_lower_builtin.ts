/**
 * The `native` style: per layer one standard ONNX `RNN`, `GRU` or `LSTM` operator over all
 * timesteps, the cell's weights reordered into the operator's gates by the cell's own
 * `onnxBuiltin` mapping (GRU: z negated, see DESIGN.md §1; `linear_before_reset = 0`), read
 * only through {@linkcode nativeMapping}. With the readout "max" the top layer's operator
 * returns its `Y` (every timestep's h) and a `ReduceMax` over the timesteps is what the head
 * reads; otherwise its `Y_h` (the last timestep's).
 *
 * Letters: B batch, T timesteps, L layers, V vocabulary, E embedding, H hidden, I a layer's
 * input size, G the operator's gates.
 *
 * @module
 */
import { type Arch, cellGraph, cellSpec } from "../cells.ts";
import { type ParamLayout, readoutOf } from "../classifier.ts";
import type { OnnxBuiltinMapping } from "../ir.ts";
import type { GraphBuilder } from "./_builder.ts";
import { paramF32, type Params, paramView } from "./_params.ts";
import type { AttrValue } from "./proto.ts";

/**
 * How a cell's weights map onto ONNX's built-in recurrent operator: the cell's own
 * `onnxBuiltin` (see its definition in `models/cells/`). Checked against the cell's
 * declared weights at export time.
 *
 * @param arch the cell
 * @returns its mapping
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

/**
 * Emits the `native` style's layers: the embedding `Gather`, then per layer one standard
 * recurrent operator over all timesteps, its weights reordered by {@linkcode nativeMapping}
 * after checking that the mapping covers exactly the weights the cell declares.
 *
 * @param layout the parameter layout
 * @param params flat parameters in layout order
 * @param b the main graph
 * @param idsT the token ids `[T, B]`
 * @returns the top layer's last h `[B, H]`, or with the readout "max" its maximum over the
 * timesteps
 */
export function lowerBuiltin(
  layout: ParamLayout,
  params: Params,
  b: GraphBuilder,
  idsT: string,
): string {
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
  const embName = b.init("embedding", [V, E], paramF32(layout, params, "embedding"));
  let x = b.op("Gather", [embName, idsT], { axis: { i: 0 } }); // [T, B, E]
  let last = "";
  for (let l = 0; l < L; l++) {
    const I = l === 0 ? E : H;
    const get = (name: string) => paramView(layout, params, `layers.${l}.${name}`);
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
    } else if (readoutOf(layout.config) === "max") {
      const [y] = b.node(map.op, inputs, attrs, 1); // Y [T, 1, B, H]
      // Opset ≥ 18: ReduceMax takes its axes as an input.
      last = b.op("ReduceMax", [y!, b.int64s([0, 1])], { keepdims: { i: 0 } }); // [B, H]
    } else {
      const yh = b.fresh("y_h");
      b.node(map.op, inputs, attrs, ["", yh]); // Y_h [1, B, H]
      last = b.op("Squeeze", [yh, b.int64s([0])]); // [B, H]
    }
  }
  return last;
}
