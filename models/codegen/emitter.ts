/**
 * The emission context of one graph inside one generated function ({@linkcode Emitter}):
 * where each node's value is held (locals, an array, or a literal), how element `j` of a
 * value is written, the layer's weights, and which nodes the function's caller binds
 * itself. The op emitters (`default_ops.ts`) talk only to it.
 *
 * @module
 */
import type { Node } from "../ir.ts";
import { isWide, REG_MAX, type WeightSlot } from "./program_shape.ts";

/** Formats a number as a C float literal. */
export function floatLiteral(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`Cannot write ${v} as a C float literal`);
  let s = String(Math.fround(v));
  if (!/[.e]/.test(s)) s += ".0";
  return v < 0 ? `(${s}f)` : `${s}f`;
}

/** How a node's value is held in generated code. */
export type Storage =
  | { readonly kind: "reg"; readonly name: string; readonly size: number }
  | { readonly kind: "mem"; readonly name: string; readonly size: number }
  | { readonly kind: "const"; readonly literal: string };

/** What the op emitters need to know of the target they write for. */
export interface LaneTarget {
  /** The target's name in messages: "c", "cuda". */
  readonly target: string;
  /** The lane value type name. */
  readonly laneType: string;
  /** The zero lane value. */
  readonly zero: string;
  /** Names of the math functions in array form, `void f(const lane_t *x, lane_t *y, int n)`. */
  readonly math: Readonly<Record<"sigmoid" | "tanh", string>>;
  /**
   * Elementwise functions written inline: the expression of one lane value `x` (`relu`:
   * `max(x, 0)`; `step`: 1 where `x > 0`, else 0).
   */
  readonly inlineMath: Readonly<Record<"relu" | "step", (x: string) => string>>;
}

/**
 * The emission context of one graph inside one generated function: storage of every node,
 * element access, weights, and the nodes the caller binds. Op emitters (the `ops` table)
 * only talk to this.
 */
export class Emitter {
  /** Storage of each node, by node id. */
  readonly storage: Storage[] = [];
  /**
   * Nodes whose storage the caller gave (`leaf`): leaves it loads, values it aliases or
   * computes itself. The op table emits every other node.
   */
  readonly bound: Set<number> = new Set();
  readonly #slots: Map<string, WeightSlot>;

  /**
   * Assigns storage to every node.
   * @param renderer the target
   * @param nodes the graph's nodes
   * @param prefix local-name prefix ("p" forward values, "q" backward values)
   * @param I this layer's input size
   * @param H hidden size
   * @param slots this layer's weights
   * @param leaf storage of the nodes the caller binds (input, states, gradIn, fwd aliases,
   *   values it computes itself), null for the others
   */
  constructor(
    readonly renderer: LaneTarget,
    readonly nodes: readonly Node[],
    readonly prefix: string,
    readonly I: number,
    readonly H: number,
    slots: readonly WeightSlot[],
    leaf: (n: Node) => Storage | null,
  ) {
    this.#slots = new Map(slots.map((s) => [s.name, s]));
    for (const n of nodes) {
      const given = leaf(n);
      if (given !== null) {
        this.storage.push(given);
        this.bound.add(n.id);
      } else if (n.op === "const") {
        this.storage.push({ kind: "const", literal: floatLiteral(n.value) });
      } else {
        const size = this.sizeOf(n);
        const name = `${prefix}${n.id}`;
        this.storage.push(
          size > REG_MAX || isWide(H) ? { kind: "mem", name, size } : { kind: "reg", name, size },
        );
      }
    }
  }

  /** Number of elements of a node's value. */
  sizeOf(n: Node): number {
    return n.size === "H" ? this.H : n.size === "I" ? this.I : 1;
  }

  /** The C expression of element `j` of node `id`; `j` is a number or a loop variable. */
  el(id: number, j: number | string): string {
    const s = this.storage[id]!;
    if (s.kind === "const") return s.literal;
    if (s.kind === "mem") return `${s.name}[${j}]`;
    if (s.size === 1) return `${s.name}_0`;
    if (typeof j === "string") {
      throw new Error(`Internal error: register value ${s.name} indexed by loop variable ${j}`);
    }
    return `${s.name}_${j}`;
  }

  /** A value for comments: `p12 [8]`, or a constant's literal. */
  describe(id: number): string {
    const s = this.storage[id]!;
    return s.kind === "const" ? s.literal : `${s.name} [${s.size}]`;
  }

  /** The weight slot of a parameter; throws naming the parameter if absent. */
  slot(param: string): WeightSlot {
    const s = this.#slots.get(param);
    if (s === undefined) throw new Error(`Internal error: no weight "${param}" in this layer`);
    return s;
  }

  /** Declares node `id`'s value (locals or an array) and assigns `value(j)` to each element. */
  define(id: number, value: (j: number | string) => string, comment: string): string[] {
    const s = this.storage[id]!;
    const lane = this.renderer.laneType;
    if (s.kind === "const") throw new Error(`Internal error: cannot define constant node ${id}`);
    const out = [`/* ${comment} */`];
    if (s.kind === "mem") {
      out.push(`${lane} ${s.name}[${s.size}];`);
      out.push(`for (int k = 0; k < ${s.size}; k++) ${s.name}[k] = ${value("k")};`);
    } else {
      for (let j = 0; j < s.size; j++) out.push(`const ${lane} ${this.el(id, j)} = ${value(j)};`);
    }
    return out;
  }
}
