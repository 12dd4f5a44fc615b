/**
 * The op table over lane values ({@linkcode defaultOps}, tinygrad's `code_for_op`): one
 * emitter per IR op, a `Record<OpName, …>`, so a missing op is a compile error. Every
 * expression is valid for both targets: a GCC vector `lane_t` in C and a `float` in CUDA;
 * relu and its derivative mask `step`, which cannot be, are the target's own expressions
 * (`inlineMath`).
 * Shapes are compile-time constants, so small matmuls are unrolled completely; wide ones
 * (arrays, {@linkcode isWide}) are loops over blocks of {@linkcode BLOCK} accumulators
 * held in registers.
 *
 * @module
 */
import type { Node, OpName } from "../ir.ts";
import type { Emitter } from "./emitter.ts";
import { LoweringError } from "./lowering_error.ts";
import { BLOCK, blocks } from "./program_shape.ts";

/** Emits the statements that compute one node. */
export type OpEmitter = (n: Node, e: Emitter) => string[];

/** An emitter for leaves the cell function's caller must bind (never emitted as code). */
const boundLeaf = (what: string): OpEmitter => (n, e) => {
  if (e.storage[n.id]?.kind === "const") return [];
  throw new LoweringError(n.op, e.renderer.target, `${what} must be bound by the caller`);
};

const elementwise = (f: (a: string, b: string) => string): OpEmitter => (n, e) => {
  const m = n as Extract<Node, { op: "add" | "sub" | "mul" }>;
  return e.define(
    n.id,
    (j) => f(e.el(m.a, j), e.el(m.b, j)),
    `${e.describe(n.id)} = ${n.op}(${e.describe(m.a)}, ${e.describe(m.b)})`,
  );
};

const unary = (fn: "sigmoid" | "tanh"): OpEmitter => (n, e) => {
  const m = n as Node & { a: number };
  const f = e.renderer.math[fn];
  const dst = e.storage[n.id]!, size = e.sizeOf(n), lane = e.renderer.laneType;
  const out = [`/* ${e.describe(n.id)} = ${fn}(${e.describe(m.a)}) */`];
  if (dst.kind === "const") throw new Error(`Internal error: constant ${fn} node ${n.id}`);
  // Array form: the target evaluates all `size` values step by step, interleaved.
  if (dst.kind === "mem") {
    const src = e.storage[m.a]!;
    if (src.kind !== "mem") throw new LoweringError(fn, e.renderer.target, "mixed storage");
    out.push(`${lane} ${dst.name}[${size}];`, `${f}(${src.name}, ${dst.name}, ${size});`);
    return out;
  }
  const ins = Array.from({ length: size }, (_, j) => e.el(m.a, j)).join(", ");
  out.push(`${lane} ${dst.name}_in[${size}] = {${ins}}, ${dst.name}_out[${size}];`);
  out.push(`${f}(${dst.name}_in, ${dst.name}_out, ${size});`);
  for (let j = 0; j < size; j++) {
    out.push(`const ${lane} ${e.el(n.id, j)} = ${dst.name}_out[${j}];`);
  }
  return out;
};

/** An elementwise function the target writes inline (`LaneTarget.inlineMath`). */
const inlined = (fn: "relu" | "step"): OpEmitter => (n, e) => {
  const m = n as Node & { a: number };
  const f = e.renderer.inlineMath[fn];
  return e.define(
    n.id,
    (j) => f(e.el(m.a, j)),
    `${e.describe(n.id)} = ${fn}(${e.describe(m.a)})`,
  );
};

/**
 * A wide product into the array `dst [n]`, in blocks of {@linkcode BLOCK} outputs whose
 * accumulators stay in registers over a loop of `len` steps of variable `v`: `step(o0)`
 * opens a step of the block starting at output `o0`, and output `o0 + i` adds
 * `term(o0, i)`.
 */
function blockedProduct(
  e: Emitter,
  dst: string,
  n: number,
  v: string,
  len: number,
  step: (o0: number) => string[],
  term: (o0: number, i: number) => string,
): string[] {
  const lane = e.renderer.laneType;
  const out = [`${lane} ${dst}[${n}];`];
  for (const [o0, width] of blocks(n, BLOCK)) {
    const c = Array.from({ length: width }, (_, i) => `${dst}_c${i}`);
    out.push(
      `{`,
      `  ${lane} ${c.map((ci) => `${ci} = ${e.renderer.zero}`).join(", ")};`,
      `  for (int ${v} = 0; ${v} < ${len}; ${v}++) {`,
      ...step(o0).map((l) => `    ${l}`),
      ...c.map((ci, i) => `    ${ci} += ${term(o0, i)};`),
      `  }`,
      ...c.map((ci, i) => `  ${dst}[${o0 + i}] = ${ci};`),
      `}`,
    );
  }
  return out;
}

/**
 * The default op table over lane values (shared by C and CUDA; every expression is valid
 * for both a GCC vector `lane_t` and a scalar `float`, relu and step come from the target's
 * `inlineMath`). `W` is the layer's weight block.
 */
export function defaultOps(): Record<OpName, OpEmitter> {
  return {
    input: boundLeaf("the layer input"),
    state: boundLeaf("a state"),
    const: () => [], // a literal, inlined where used
    fwd: boundLeaf("a saved forward value"),
    gradIn: boundLeaf("an incoming state gradient"),
    // out [H] = a [K] @ W [K, H]
    matmul: (n, e) => {
      const m = n as Extract<Node, { op: "matmul" }>;
      const w = e.slot(m.param), H = e.H, K = w.rows;
      const a = e.storage[m.a]!;
      const out: string[] = [
        `/* ${e.describe(n.id)} = ${e.describe(m.a)} @ ${m.param} [${K}, ${H}] */`,
      ];
      const lane = e.renderer.laneType;
      const dst = e.storage[n.id]!;
      if (dst.kind === "mem") {
        // Wide: blocks of BLOCK output columns, accumulators in registers over k.
        out.push(
          ...blockedProduct(e, dst.name, H, "k", K, (j0) => [
            `const ${lane} ak = ${e.el(m.a, "k")};`,
            `const rb_w_t *RB_RESTRICT wk = W + ${w.offset} + k * ${H} + ${j0};`,
          ], (_, i) => `ak * wk[${i}]`),
        );
      } else if (a.kind === "mem") {
        for (let j = 0; j < H; j++) out.push(`${lane} ${e.el(n.id, j)} = ${e.renderer.zero};`);
        out.push(`for (int k = 0; k < ${K}; k++) {`);
        out.push(`  const ${lane} ak = ${e.el(m.a, "k")};`);
        out.push(`  const rb_w_t *RB_RESTRICT wk = W + ${w.offset} + k * ${H};`);
        for (let j = 0; j < H; j++) out.push(`  ${e.el(n.id, j)} += ak * wk[${j}];`);
        out.push(`}`);
      } else {
        for (let j = 0; j < H; j++) {
          out.push(`${lane} ${e.el(n.id, j)} = ${e.el(m.a, 0)} * W[${w.offset + j}];`);
        }
        for (let k = 1; k < K; k++) {
          for (let j = 0; j < H; j++) {
            out.push(`${e.el(n.id, j)} += ${e.el(m.a, k)} * W[${w.offset + k * H + j}];`);
          }
        }
      }
      return out;
    },
    // out [K] = g [H] @ W [K, H]ᵀ
    matmulT: (n, e) => {
      const m = n as Extract<Node, { op: "matmulT" }>;
      const w = e.slot(m.param), H = e.H;
      const dst = e.storage[n.id]!;
      if (dst.kind === "mem" && e.storage[m.a]!.kind === "mem") {
        // Wide: blocks of BLOCK output rows k, accumulators in registers over j.
        return [
          `/* ${e.describe(n.id)} = ${e.describe(m.a)} @ ${m.param}ᵀ */`,
          ...blockedProduct(e, dst.name, w.rows, "j", H, () => [
            `const ${e.renderer.laneType} gj = ${e.el(m.a, "j")};`,
          ], (k0, i) => `gj * W[${w.offset + (k0 + i) * H} + j]`),
        ];
      }
      const dot = (k: number | string) => {
        const row = typeof k === "number" ? `${w.offset + k * H}` : `${w.offset} + ${k} * ${H}`;
        return Array.from({ length: H }, (_, j) => `${e.el(m.a, j)} * W[${row} + ${j}]`).join(
          " + ",
        );
      };
      return e.define(n.id, dot, `${e.describe(n.id)} = ${e.describe(m.a)} @ ${m.param}ᵀ`);
    },
    // out [H] = a [H] + b [H] (broadcast over lanes)
    addBias: (n, e) => {
      const m = n as Extract<Node, { op: "addBias" }>;
      const w = e.slot(m.param);
      return e.define(
        n.id,
        (j) =>
          `${e.el(m.a, j)} + W[${typeof j === "number" ? w.offset + j : `${w.offset} + ${j}`}]`,
        `${e.describe(n.id)} = ${e.describe(m.a)} + ${m.param}`,
      );
    },
    // out [H] = a [H] ⊙ u [H] (broadcast over lanes)
    scale: (n, e) => {
      const m = n as Extract<Node, { op: "scale" }>;
      const w = e.slot(m.param);
      return e.define(
        n.id,
        (j) =>
          `${e.el(m.a, j)} * W[${typeof j === "number" ? w.offset + j : `${w.offset} + ${j}`}]`,
        `${e.describe(n.id)} = ${e.describe(m.a)} ⊙ ${m.param}`,
      );
    },
    add: elementwise((a, b) => `${a} + ${b}`),
    sub: elementwise((a, b) => `${a} - ${b}`),
    mul: elementwise((a, b) => `${a} * ${b}`),
    sigmoid: unary("sigmoid"),
    tanh: unary("tanh"),
    relu: inlined("relu"),
    step: inlined("step"),
  };
}
