/**
 * One `Scan` body of the `scan` style under construction: a graph of its own whose inputs
 * are the carried states and the scanned step input, with the cell lowered into it once per
 * layer (or once per layer of all wavefront blocks at a time). Fused groups (`_affine.ts`)
 * are emitted by the caller's group emitter, every other node by {@linkcode ONNX_OPS}; a
 * layer's weights become body initializers.
 *
 * Layer 0's input for a step is the scan input x_t, its rows `[B, X]` transposed in the body
 * (`transposeInLoop`), or (gather "step") the rows of the input table for the scan input
 * ids_t, gathered in the body; with hoisting it is then split into the hoisted slices of the
 * groups that read x.
 *
 * Letters: B batch, H hidden, I a layer's input size, E embedding, X the width of layer 0's
 * input.
 *
 * @module
 */
import { emitGroup, transpose } from "./_emit_group.ts";
import { GraphBuilder } from "./_builder.ts";
import type { FormGraph, ScanContext } from "./_scan_context.ts";
import { lowerNode, type OnnxLowerContext } from "./onnx_ops.ts";
import type { GraphDef, ValueInfo } from "./proto.ts";

/** Emits one fused group from the values computed so far; returns its roots' values. */
export type GroupEmitter = (gi: number, values: readonly string[]) => string[];

/** A `Scan` body under construction, with the helpers that emit into it. */
export interface ScanBody {
  /** The body graph. */
  readonly body: GraphBuilder;
  /** The prefix of its value names. */
  readonly P: string;
  /** Layer 0's input for this step, `[X, B]` (batch-major: `[B, X]`). */
  readonly xt: string;
  /**
   * Lowers the cell once: layer `l`'s weights (or, the wavefront's blocks, several layers'
   * weights stacked in front), its input and previous states; fused groups are emitted by
   * `group`, other nodes by ONNX_OPS. Returns the value of every node, by node id.
   */
  cell(
    l: number | readonly number[],
    input: string,
    states: Record<string, string>,
    group: GroupEmitter,
  ): string[];
  /** The emitter of layer `l`'s fused groups (one `Gemm` each, or one per root). */
  layerGroup(l: number): GroupEmitter;
  /** Declares a float body input; returns its name. */
  input(name: string, dims: readonly (number | string)[]): string;
  /**
   * Declares a body output; an output must be a value of its own (not an input, not another
   * output), else it goes through an Identity.
   */
  output(v: string, dims: readonly (number | string)[]): void;
  /** Declares the scan input that feeds layer 0: x_t, its rows `[B, X]`, or the ids. */
  scanInput(): void;
  /** The finished body. */
  graph(name: string): GraphDef;
}

/**
 * Starts a `Scan` body of one form.
 *
 * @param ctx the export's context
 * @param out the form's graph (where the body's `Scan` goes)
 * @param tag names the body's values apart from the form's other bodies
 * @returns the body and its helpers
 */
export function scanBody(ctx: ScanContext, out: FormGraph, tag: string): ScanBody {
  const { embedDim: E, hiddenSize: H } = ctx.layout.config;
  const { g, plan, layer0, weights } = ctx;
  const fm = ctx.featureMajor, inLoop = out.form.transposeInLoop;
  const { stepTable } = layer0;
  const body = new GraphBuilder(`${out.b.prefix}${tag}/`);
  const P = body.prefix;
  const idsIn = `${P}ids_t`, rowsIn = `${P}x_rows`;
  let xt = `${P}x_t`;
  if (stepTable !== null || inLoop) {
    const rows = stepTable === null
      ? rowsIn
      : body.op("Gather", [stepTable, idsIn], { axis: { i: 0 } });
    xt = fm ? body.op("Transpose", [rows], { perm: { ints: [1, 0] } }) : rows;
  }
  const { pieces } = layer0;
  const parts = pieces.length <= 1 ? [xt] : body.node(
    "Split",
    [xt, body.int64s(pieces.map((p) => p.n))],
    { axis: { i: fm ? 0 : -1 } },
    pieces.length,
  );
  const hoistedSlices = new Map<number, string[]>();
  pieces.forEach((p, k) => hoistedSlices.set(p.gi, [...hoistedSlices.get(p.gi) ?? [], parts[k]!]));

  /** The weight `p` of n layers stacked in front (see `OnnxLowerContext.weight`). */
  const stackedInits = new Map<string, string>();
  const stackedWeight = (layers: readonly number[], p: string): string => {
    const name = `${P}l${layers.join("_")}.${p}`;
    let v = stackedInits.get(name);
    if (v === undefined) {
      const shape = ctx.layout.get(`layers.${layers[0]}.${p}`).shape;
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

  const cell = (
    l: number | readonly number[],
    input: string,
    states: Record<string, string>,
    group: GroupEmitter,
  ): string[] => {
    const inits = new Map<string, string>();
    const values: string[] = [];
    const c: OnnxLowerContext = {
      b: body,
      input,
      states,
      values,
      featureMajor: fm,
      weight(p) {
        if (typeof l !== "number") return stackedWeight(l, p);
        let name = inits.get(p);
        if (name === undefined) {
          const t = ctx.layout.get(`layers.${l}.${p}`);
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
      if (ctx.preActivated.has(n.id) && "a" in n) {
        values[n.id] = values[n.a]!; // its group's output is already activated
        continue;
      }
      const at = plan?.rootAt.get(n.id);
      if (at === undefined) {
        values[n.id] = lowerNode(n, c);
        continue;
      }
      let outs = groupOut.get(at.group);
      if (outs === undefined) groupOut.set(at.group, outs = group(at.group, values));
      values[n.id] = outs[at.index]!;
    }
    return values;
  };
  const layerGroup = (l: number): GroupEmitter => (gi, values) =>
    emitGroup(
      plan!,
      gi,
      l,
      l === 0 ? E : H,
      H,
      body,
      values,
      weights,
      ctx.inputId,
      g.nodes,
      l === 0 ? hoistedSlices.get(gi) ?? null : null,
      ctx.scan.gemm as "group" | "gate",
      fm,
      out.ones([1]),
      ctx.groupActivation[gi]!,
    );
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
  const scanInput = () => {
    if (stepTable !== null) bodyIn.push({ name: idsIn, elemType: "int64", dims: ["batch"] });
    else if (inLoop) input(rowsIn, ["batch", layer0.width]);
    else input(xt, ctx.dimsOf(layer0.width));
  };
  const graph = (name: string) => body.graph(name, bodyIn, bodyOut);
  return { body, P, xt, cell, layerGroup, input, output, scanInput, graph };
}
