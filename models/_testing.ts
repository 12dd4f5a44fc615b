/**
 * Test helpers: tolerant comparison that prints the first mismatches, the max difference
 * and the tensor's name, a tiny model with weights large enough that the input matters, and
 * tests that the runner reports as ignored, saying why, when what they need is missing.
 *
 * @module
 */
import type { Arch } from "./cells.ts";
import { initParams, type ModelConfig, type ParamLayout, paramLayout } from "./classifier.ts";
import { Rng } from "./rng.ts";

/** Tolerances: pass when `|a − b| ≤ atol + rtol · |b|` elementwise. */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/**
 * Throws, naming the tensor and listing the first mismatches, unless `actual` matches
 * `expected` within tolerance.
 */
export function assertClose(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${name}: length ${actual.length} != expected ${expected.length}`);
  }
  const bad: string[] = [];
  let maxDiff = 0, nBad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    const d = Math.abs(a - e);
    if (!(d <= tol.atol + tol.rtol * Math.abs(e))) {
      nBad++;
      if (bad.length < 5) bad.push(`  [${i}] got ${a}, want ${e} (diff ${d.toExponential(2)})`);
    }
    if (d > maxDiff || Number.isNaN(d)) maxDiff = d;
  }
  if (nBad > 0) {
    throw new Error(
      `${name}: ${nBad} of ${actual.length} values differ (max abs diff ${
        maxDiff.toExponential(3)
      }, ` +
        `atol ${tol.atol}, rtol ${tol.rtol}); first mismatches:\n${bad.join("\n")}`,
    );
  }
}

/** A small model shape for tests: 3 layers, hidden 4, embed 5, vocab 11. */
export function tinyConfig(arch: Arch, over: Partial<ModelConfig> = {}): ModelConfig {
  return { arch, vocabSize: 11, embedDim: 5, hiddenSize: 4, layers: 3, ...over };
}

/**
 * Parameters for tests: the original init, then every cell weight matrix scaled so that the
 * logits depend on the input (at the original scale a deep stack washes it out) and
 * biases made non-zero so their gradients are exercised. Diagonal weights keep their
 * init in [0, 1]: scaled, a state they carry could grow by 2.5× a step.
 */
export function tinyParams(layout: ParamLayout, seed = 7, scale = 2.5): Float64Array {
  const p = initParams(layout, seed);
  const rng = new Rng(seed, 99);
  for (const t of layout.tensors) {
    for (let i = t.offset; i < t.offset + t.size; i++) {
      if (t.kind === "bias" || t.name === "head.b_y") p[i] = rng.uniformIn(-0.3, 0.3);
      else if (t.kind !== null && t.kind !== "diagonal") p[i] = p[i]! * scale;
    }
  }
  return p;
}

/** Random ids `[B, T]` in `[0, V)` and balanced labels. */
export function tinyBatch(
  B: number,
  T: number,
  V: number,
  seed = 3,
): { ids: Int32Array; labels: Float64Array } {
  const rng = new Rng(seed, 98);
  const ids = new Int32Array(B * T);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.below(V);
  const labels = new Float64Array(B);
  for (let b = 0; b < B; b++) labels[b] = b % 2;
  return { ids, labels };
}

/** Makes a layout for a tiny config. */
export function tinyLayout(arch: Arch, over: Partial<ModelConfig> = {}): ParamLayout {
  return paramLayout(tinyConfig(arch, over));
}

/**
 * Registers a test that is ignored when `ignore` gives a reason, decided before the test is
 * registered, with the reason at the end of its name ("… (ignored: nvcc not found)"): the
 * runner then counts it as ignored instead of passing a test that checked nothing.
 *
 * @param t the test; `ignore` is why it cannot run here, or null when it can
 * @example
 * ```ts
 * const python = Deno.env.get("PYTHON") ?? null;
 * ignorableTest({
 *   name: "the script runs",
 *   ignore: python === null ? "set PYTHON to a python" : null,
 *   fn: () => {},
 * });
 * ```
 */
export function ignorableTest(
  t: Omit<Deno.TestDefinition, "ignore"> & { readonly ignore: string | null },
): void {
  const { ignore, name, ...rest } = t;
  Deno.test({
    ...rest,
    name: ignore === null ? name : `${name} (ignored: ${ignore})`,
    ignore: ignore !== null,
  });
}
