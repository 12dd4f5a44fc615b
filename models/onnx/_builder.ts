/**
 * A small helper that accumulates the nodes and initializers of one ONNX graph, hands out
 * fresh value names and shares identical small constants.
 *
 * @module
 */
import type { AttrValue, GraphDef, NodeDef, TensorDef, ValueInfo } from "./proto.ts";

/** Builds one graph; every method returns the names of the values it defined. */
export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  /** Prepended to every generated name (and by callers to the names they choose). */
  readonly prefix: string;
  #next = 0;
  readonly #consts = new Map<string, string>();
  readonly #names = new Set<string>();

  /** @param prefix prepended to generated names, to keep subgraph names distinct */
  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** A value name not used before in this graph. */
  fresh(hint: string): string {
    return `${this.prefix}${hint}_${this.#next++}`;
  }

  /** Appends a node with `nOut` fresh outputs (or the given names); returns the outputs. */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    outputs: number | readonly string[] = 1,
  ): string[] {
    const outs = typeof outputs === "number"
      ? Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()))
      : [...outputs];
    this.nodes.push({ op, inputs, outputs: outs, name: this.fresh(`n_${op}`), attrs });
    return outs;
  }

  /** Appends a single-output node; returns its output. */
  op(op: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}) {
    return this.node(op, inputs, attrs, 1)[0]!;
  }

  /** Adds a named initializer; returns its name. */
  init(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    if (this.#names.has(name)) {
      throw new Error(`Cannot build ONNX graph: initializer "${name}" defined twice`);
    }
    this.#names.add(name);
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** A float32 scalar constant (shared by value). */
  scalar(v: number): string {
    const key = `f:${v}`;
    let name = this.#consts.get(key);
    if (name === undefined) {
      name = this.init(
        this.fresh(`const_${String(v).replace(/[^0-9a-z]/gi, "_")}`),
        [],
        Float32Array.of(v),
      );
      this.#consts.set(key, name);
    }
    return name;
  }

  /** A 1-D int64 constant (shapes, axes, split sizes; shared by value). */
  int64s(values: readonly number[]): string {
    const key = `i:${values.join(",")}`;
    let name = this.#consts.get(key);
    if (name === undefined) {
      name = this.init(
        this.fresh("shape"),
        [values.length],
        BigInt64Array.from(values, (v) => BigInt(v)),
      );
      this.#consts.set(key, name);
    }
    return name;
  }

  /** The finished graph. */
  graph(name: string, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[]): GraphDef {
    return { name, nodes: this.nodes, initializers: this.initializers, inputs, outputs };
  }
}
