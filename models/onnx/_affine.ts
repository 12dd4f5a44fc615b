/**
 * Gate fusion for the ONNX lowering, derived from the cell IR (no per-architecture code).
 *
 * A cell's pre-activations are affine in its operands: `x W_x* + h W_h* + b_*`. This pass
 * finds every maximal affine expression (a sum of `matmul` terms plus `addBias` terms, each
 * interior node used exactly once) — a ROOT — and groups roots that read the same set of
 * operands, so that one `Gemm` over `[operand₁ | operand₂ …] [B, ΣK]` with the weights
 * stacked row-wise and the roots side by side column-wise computes the whole group
 * (LSTM: all four gates in one `Gemm`; GRU: z and r in one, the candidate in another).
 *
 * @module
 */
import { type CellGraph, type Node, OPS, type UnaryOp } from "../ir.ts";

/** One maximal affine expression: `Σ_o operand_o · (Σ terms[o]) + Σ biases`. */
export interface AffineRoot {
  /** The node whose value this is. */
  readonly id: number;
  /** Weight names multiplying each operand (by operand node id). */
  readonly terms: ReadonlyMap<number, readonly string[]>;
  /** Bias names added. */
  readonly biases: readonly string[];
}

/** Roots that read the same operands, computed together. */
export interface AffineGroup {
  /** Operand node ids, ascending: the row blocks of the stacked weight. */
  readonly operands: readonly number[];
  /** The roots, in graph order: the column blocks (H columns each). */
  readonly roots: readonly AffineRoot[];
  /**
   * The activation every root feeds and nothing else (the GRU's z and r: sigmoid), so that
   * it can run once on the whole group; null when the roots' uses differ.
   */
  readonly activation: UnaryOp | null;
  /** With `activation`: the activation node of each root, in `roots` order. */
  readonly activationNodes: readonly number[];
}

/** The fusion plan of a cell graph. */
export interface AffinePlan {
  readonly groups: readonly AffineGroup[];
  /** Affine nodes folded into a root: never emitted on their own. */
  readonly absorbed: ReadonlySet<number>;
  /** For each root id: its group and its column block. */
  readonly rootAt: ReadonlyMap<number, { readonly group: number; readonly index: number }>;
}

interface Form {
  terms: Map<number, string[]>;
  biases: string[];
}

/**
 * Finds the affine roots of a cell graph and groups them by operand set.
 * @param g the traced cell
 * @returns the fusion plan
 */
export function affinePlan(g: CellGraph): AffinePlan {
  const uses = new Array<number>(g.nodes.length).fill(0);
  const operandsOf = (n: Node): number[] => "b" in n ? [n.a, n.b] : "a" in n ? [n.a] : [];
  for (const n of g.nodes) for (const a of operandsOf(n)) uses[a]!++;
  for (const id of Object.values(g.outputs)) uses[id]!++;
  const form = new Map<number, Form>();
  const absorbed = new Set<number>();
  const single = (id: number) => form.has(id) && uses[id] === 1;
  for (const n of g.nodes) {
    if (n.op === "matmul") {
      form.set(n.id, { terms: new Map([[n.a, [n.param]]]), biases: [] });
    } else if (n.op === "addBias" && single(n.a)) {
      const f = form.get(n.a)!;
      form.set(n.id, { terms: f.terms, biases: [...f.biases, n.param] });
      absorbed.add(n.a);
    } else if (n.op === "add" && n.a !== n.b && single(n.a) && single(n.b)) {
      const fa = form.get(n.a)!, fb = form.get(n.b)!;
      const terms = new Map<number, string[]>();
      for (const f of [fa, fb]) {
        for (const [o, ws] of f.terms) terms.set(o, [...(terms.get(o) ?? []), ...ws]);
      }
      form.set(n.id, { terms, biases: [...fa.biases, ...fb.biases] });
      absorbed.add(n.a);
      absorbed.add(n.b);
    }
  }
  const groups: { operands: number[]; roots: AffineRoot[] }[] = [];
  const users = g.nodes.map(() => [] as Node[]);
  for (const n of g.nodes) for (const a of operandsOf(n)) users[a]!.push(n);
  const byKey = new Map<string, number>();
  const rootAt = new Map<number, { group: number; index: number }>();
  for (const n of g.nodes) {
    const f = form.get(n.id);
    if (f === undefined || absorbed.has(n.id)) continue;
    const operands = [...f.terms.keys()].sort((a, b) => a - b);
    const key = operands.join(",");
    let gi = byKey.get(key);
    if (gi === undefined) {
      gi = groups.length;
      byKey.set(key, gi);
      groups.push({ operands, roots: [] });
    }
    const group = groups[gi]!;
    rootAt.set(n.id, { group: gi, index: group.roots.length });
    group.roots.push({ id: n.id, terms: f.terms, biases: f.biases });
  }
  const unary = OPS.unary as readonly string[];
  const withActivation = groups.map((grp) => {
    // A root's one use, when it is an activation (a graph output is a use of its own).
    const acts = grp.roots.map((r) => {
      const u = users[r.id]!;
      return uses[r.id] === 1 && u.length === 1 && unary.includes(u[0]!.op)
        ? u[0] as Node & { op: UnaryOp }
        : null;
    });
    const op = acts[0]?.op ?? null;
    const shared = op !== null && acts.every((a) => a?.op === op);
    return {
      ...grp,
      activation: shared ? op : null,
      activationNodes: shared ? acts.map((a) => a!.id) : [],
    };
  });
  return { groups: withActivation, absorbed, rootAt };
}
