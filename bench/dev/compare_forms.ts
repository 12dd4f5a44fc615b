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
import * as ort from "onnxruntime-node";
import { type Arch, ARCHS } from "../../models/cells.ts";
import { initParams, paramLayout } from "../../models/classifier.ts";
import { exportOnnx } from "../../models/onnx/export.ts";
import type { ScanOptions } from "../../models/onnx/scan_options.ts";
import { choice, command, integer, optional, parseOrExit } from "../util/cli_kit.ts";

const cmd = parseOrExit(
  command("compare_forms", "Times scan-style ONNX graph forms of the original-shape classifier.")
    .argument("<forms...>", "ScanOptions as JSON, e.g. '{}'; 'old:<json>' is exported by --old")
    .option(
      "--arch <name>",
      `architecture (${ARCHS.join(", ")})`,
      choice("architecture", ARCHS),
      "lstm",
    )
    .option("--batch <n>", "batch size", integer("--batch", 1), 1000)
    .option("--turns <n>", "interleaved turns", integer("--turns", 1), 5)
    .addOption(optional("--old <path>", "another copy of export.ts, for the old: forms", "none")),
  Deno.args,
);
const o = cmd.opts<{ arch: Arch; batch: number; turns: number; old: string | null }>();
const positionals = cmd.processedArgs[0] as string[];
const fail = (m: string): never => {
  console.error(`compare_forms: ${m}`);
  Deno.exit(1);
};
const arch = o.arch;
const B = o.batch, turns = o.turns;
const oldExport: typeof exportOnnx | null = o.old === null
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
