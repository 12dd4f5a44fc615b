/**
 * The cells the suite knows: the built-in three (each written ONCE in `cells/`, exactly as
 * the original report computes it) and any registered later (a test's or a user's), in one
 * registry. Every list of architectures — the CLI's valid values, the report's order, the
 * run matrix's default — derives from it; every lowering (reference, tfjs, native C/CUDA,
 * ONNX) reads a cell's traced graph from {@linkcode cellGraph}.
 *
 * @module
 */
import { type CellGraph, type CellSpec, type ParamKind, trace } from "./ir.ts";
import { gru } from "./cells/gru.ts";
import { lstm } from "./cells/lstm.ts";
import { rnn } from "./cells/rnn.ts";

export { gru, lstm, rnn };

/** A cell of any states and weights. */
// deno-lint-ignore no-explicit-any
export type AnyCellSpec = CellSpec<any, any>;

/** The built-in cells, in the order the original report trains them (and reports list them). */
export const BUILTIN_CELLS: readonly AnyCellSpec[] = [rnn, lstm, gru];

/** The built-in architectures' names, in {@linkcode BUILTIN_CELLS}'s order. */
export const ARCHS: readonly string[] = BUILTIN_CELLS.map((c) => c.name);

/** An architecture: the name of a registered cell (`"rnn"`, `"lstm"`, `"gru"`, or one added). */
export type Arch = string;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names a cell may not take: keys with another meaning in per-cell settings. */
const RESERVED = new Set(["default"]);

const SPECS = new Map<string, AnyCellSpec>();
const GRAPHS = new Map<string, CellGraph>();

/**
 * Adds a cell to the registry, after checking its name and tracing it once (so a cell that
 * cannot be traced fails here, naming the problem, not in a lowering).
 *
 * @typeParam S the cell's state names besides "h" (inferred from `states`)
 * @typeParam W its weights' names and kinds (inferred from `weights`, so that `step` is
 *   type-checked against them)
 * @param spec the cell
 * @returns its traced graph
 * @throws Error when the name is not an identifier, is reserved, or is taken by another cell
 * @example
 * ```ts
 * import { cellNames, registerCell } from "./cells.ts";
 * registerCell({
 *   name: "tanh2",
 *   states: ["h"],
 *   weights: { W: "input", U: "hidden", b: "bias" },
 *   step: (o, x, { h }, w) => ({ h: o.tanh(o.tanh(o.affine(x, w.W, h, w.U, w.b))) }),
 * });
 * console.log(cellNames()); // [..., "tanh2"]
 * ```
 */
export function registerCell<
  S extends string = never,
  W extends Record<string, ParamKind> = Record<string, ParamKind>,
>(spec: CellSpec<S, W>): CellGraph {
  const name = spec.name;
  if (typeof name !== "string" || !IDENTIFIER.test(name) || RESERVED.has(name)) {
    throw new Error(
      `Cannot register cell ${JSON.stringify(name)}: its name must be an identifier ` +
        `(letters, digits, _; not starting with a digit) other than ${[...RESERVED].join(", ")}`,
    );
  }
  const existing = SPECS.get(name);
  if (existing !== undefined && existing !== spec) {
    throw new Error(`Cannot register cell "${name}": another cell already has that name`);
  }
  const graph = trace(spec);
  for (const [param, value] of Object.entries(spec.gateBiasInit ?? {})) {
    const kind = graph.params.find((p) => p.name === param)?.kind;
    if (kind !== "bias" || typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(
        `Cannot register cell "${name}": gateBiasInit.${param} must be a finite number for ` +
          `a declared bias weight (${param} is ${kind === undefined ? "not declared" : kind})`,
      );
    }
  }
  SPECS.set(name, spec);
  GRAPHS.set(name, graph);
  return graph;
}

for (const c of BUILTIN_CELLS) registerCell(c);

/** The registered architectures: the built-ins in report order, then the others as registered. */
export function cellNames(): string[] {
  return [...SPECS.keys()];
}

/**
 * A registered cell's definition.
 * @throws Error listing the valid names when `arch` is not registered
 */
export function cellSpec(arch: Arch): AnyCellSpec {
  const spec = SPECS.get(arch);
  if (spec === undefined) {
    throw new Error(
      `Unknown architecture "${arch}": valid values are ${cellNames().join(", ")}`,
    );
  }
  return spec;
}

/**
 * The traced IR graph of a registered architecture (traced once, at registration).
 * @param arch a registered cell's name, e.g. "gru"
 * @returns its cell graph
 */
export function cellGraph(arch: Arch): CellGraph {
  const g = GRAPHS.get(arch);
  if (g === undefined) cellSpec(arch); // throws, listing the valid names
  return g!;
}

/** How reports write an architecture: its cell's label, else its name in upper case. */
export function cellLabel(arch: Arch): string {
  return SPECS.get(arch)?.label ?? arch.toUpperCase();
}
