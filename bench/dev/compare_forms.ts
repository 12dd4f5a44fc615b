/**
 * Times `scan`-style graph forms of the ORIGINAL-shape classifier against each other in one
 * process: one single-threaded ONNX Runtime session per form, interleaved turns, median ms
 * per call. The in-process A/B figures of `bench/notes/onnx.md` come from it.
 *
 * ```sh
 * deno run -A bench/dev/compare_forms.ts --arch lstm --batch 1000 [--turns 5] \
 *   '{}' '{"schedule":"timestep"}' '{"blocks":4}' [--old ../old/models/onnx/export.ts 'old:{}']
 * ```
 *
 * Each positional argument is a form: {@linkcode ScanOptions} as JSON; with `--old`, one
 * written `old:<json>` is exported by that other copy of `export.ts` (an older commit's, from
 * a worktree), to compare code as well as options. Weights: the original initialisation
 * (seed 1); ids `(i · 7919) mod V`, the same every call. The first form's logits are the
 * reference: a form that differs by more than 1e-5 is an error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { ARCHS } from "../../models/cells.ts";
import { initParams, paramLayout } from "../../models/classifier.ts";
import { exportOnnx, type ScanOptions } from "../../models/onnx/export.ts";

const { values: o, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    arch: { type: "string", default: "lstm" },
    batch: { type: "string", default: "1000" },
    turns: { type: "string", default: "5" },
    old: { type: "string" },
  },
});
const fail = (m: string): never => {
  console.error(`compare_forms: ${m}`);
  Deno.exit(1);
};
const arch = o.arch as (typeof ARCHS)[number];
if (!ARCHS.includes(arch)) fail(`unknown --arch "${o.arch}" (valid: ${ARCHS.join(", ")})`);
const B = Number(o.batch), turns = Number(o.turns);
if (!(Number.isInteger(B) && B >= 1)) fail(`--batch must be a positive integer, got ${o.batch}`);
if (!(Number.isInteger(turns) && turns >= 1)) fail(`--turns must be a positive integer`);
if (positionals.length === 0) fail("give at least one form, e.g. '{}'");
const oldExport: typeof exportOnnx | null = o.old === undefined
  ? null
  : (await import(new URL(o.old, `file://${Deno.cwd()}/`).href)).exportOnnx;

const T = 200, V = 120_000;
const layout = paramLayout({ arch, vocabSize: V, embedDim: 64, hiddenSize: 8, layers: 25 });
const params = initParams(layout, 1);
const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % V));
const feed = { ids: new ort.Tensor("int64", ids, [B, T]) };
const sessions: ort.InferenceSession[] = [];
let reference: Float32Array | null = null;
for (const form of positionals) {
  const old = form.startsWith("old:");
  if (old && oldExport === null) fail(`form "${form}" needs --old <path to export.ts>`);
  let scan: ScanOptions;
  try {
    scan = JSON.parse(old ? form.slice(4) : form);
  } catch (e) {
    fail(`form "${form}" is not JSON: ${(e as Error).message}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = (old ? oldExport! : exportOnnx)(layout, params, {
      style: "scan",
      maxLen: T,
      metadata: {},
      scan: scan!,
    });
  } catch (e) {
    fail(`form "${form}": ${(e as Error).message}`);
  }
  const s = await ort.InferenceSession.create(bytes!, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const out = (await s.run(feed))["logits"]!.data as Float32Array;
  if (reference === null) reference = out;
  else {
    let d = 0;
    for (let i = 0; i < B; i++) d = Math.max(d, Math.abs(out[i]! - reference[i]!));
    if (d > 1e-5) fail(`form "${form}" differs from "${positionals[0]}" by ${d} (max abs logit)`);
  }
  sessions.push(s);
}
const calls = Math.max(1, Math.round(2000 / B));
const times: number[][] = sessions.map(() => []);
for (let t = 0; t < turns; t++) {
  for (let k = 0; k < sessions.length; k++) {
    const t0 = performance.now();
    for (let c = 0; c < calls; c++) await sessions[k]!.run(feed);
    times[k]!.push((performance.now() - t0) / calls);
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`${arch}, batch ${B}, ${turns} turns of ${calls} call(s), ms per call:`);
positionals.forEach((form, k) => {
  const m = median(times[k]!);
  console.log(
    `${form.padEnd(48)} median ${m.toFixed(2)}  min ${Math.min(...times[k]!).toFixed(2)}  ` +
      `${((B * 1000) / m).toFixed(0)} seq/s  [${times[k]!.map((x) => x.toFixed(1)).join(" ")}]`,
  );
});
for (const s of sessions) await s.release();
