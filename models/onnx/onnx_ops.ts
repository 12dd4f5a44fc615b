/**
 * The ONNX lowering of single IR ops: {@linkcode ONNX_OPS} has one entry per forward op (so a
 * missing op is a compile error), each emitting the op into the graph being built from the
 * values computed so far ({@linkcode OnnxLowerContext}). The scan lowering uses it for every
 * node that gate fusion (`_affine.ts`) does not take.
 *
 * Letters: B batch, I a layer's input size, H hidden.
 *
 * @module
 */
import type { ForwardOp, Node, UnaryOp } from "../ir.ts";
import type { GraphBuilder } from "./_builder.ts";

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

/**
 * Lowers one forward node with {@linkcode ONNX_OPS}; backward-only ops are refused.
 *
 * @param n the node
 * @param c the layer being emitted
 * @returns the name of the value the node defines
 */
export function lowerNode(n: Node, c: OnnxLowerContext): string {
  if (n.op === "fwd" || n.op === "gradIn" || n.op === "matmulT" || n.op === "step") {
    throw new Error(`Cannot lower op "${n.op}" to ONNX: it only occurs in backward graphs`);
  }
  return (ONNX_OPS[n.op] as (n: Node, c: OnnxLowerContext) => string)(n, c);
}
