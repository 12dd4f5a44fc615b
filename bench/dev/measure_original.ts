/**
 * Measures ONNX Runtime inference of the ORIGINAL-shape LSTM (vocabulary 120,000,
 * embedding 64, hidden 8, 25 layers, maxLen 200) at the original initialisation, for both
 * export styles side by side in one run: the numbers recorded in `bench/notes/onnx.md`.
 *
 * ```sh
 * deno run -A bench/dev/measure_original.ts [--workers 1,2] [--batch-sizes 1,64,1000] \
 *   [--min-seconds 1] [--repeats 3] [--cpu-seconds 2] [--styles scan,native] \
 *   [--scan '{"gather":"outer","bias":"gemm"}'] [--json out.json]
 * ```
 *
 * `--scan` takes the `scan` style's tuning ({@linkcode ScanOptions}, JSON) in place of the
 * defaults, to measure an alternative graph form beside them.
 *
 * Besides the wall-clock benchmark (`benchmarkOnnx`, W workers), it reports sequences per
 * CPU-second of one single-threaded session in this process (process user + system time):
 * a figure that other tenants' load on a shared machine barely moves, unlike wall time.
 *
 * @module
 */
import { Command, Option } from "commander";
import process from "node:process";
import * as ort from "onnxruntime-node";
import { initParams, paramLayout } from "../../models/classifier.ts";
import {
  ONNX_STYLES,
  onnxModel,
  type OnnxStyle,
  resolveScanOptions,
  scanFormOf,
  type ScanOptions,
} from "../../models/onnx/export.ts";
import { encodeModel } from "../../models/onnx/proto.ts";
import { benchmarkOnnx, type InferenceResult } from "../infer/benchmark.ts";
import { formatTable } from "../infer/main.ts";
import { openSession } from "../infer/model_file.ts";

const list = (v: string) => v.split(",").map((s) => Number(s.trim()));
const cmd = new Command("measure_original")
  .addOption(new Option("--workers <list>").argParser(list).default([1, 2]))
  .addOption(new Option("--batch-sizes <list>").argParser(list).default([1, 64, 1000]))
  .addOption(new Option("--min-seconds <s>").argParser(Number).default(1))
  .addOption(new Option("--repeats <n>").argParser(Number).default(3))
  .addOption(new Option("--seed <n>").argParser(Number).default(1))
  .addOption(new Option("--cpu-seconds <s>").argParser(Number).default(2))
  .addOption(
    new Option("--styles <list>").argParser((v) => v.split(",").map((s) => s.trim()))
      .default([...ONNX_STYLES]),
  )
  .addOption(new Option("--scan <json>", "scan-style tuning (ScanOptions as JSON)").default("{}"))
  .addOption(new Option("--json <file>"))
  .parse(Deno.args, { from: "user" });
const o = cmd.opts();
const styles = o.styles as OnnxStyle[];
for (const s of styles) {
  if (!(ONNX_STYLES as readonly string[]).includes(s)) {
    cmd.error(`error: unknown style "${s}" (valid: ${ONNX_STYLES.join(", ")})`);
  }
}
const scan: ScanOptions = (() => {
  try {
    return JSON.parse(o.scan as string);
  } catch (e) {
    return cmd.error(`error: --scan is not JSON: ${(e as Error).message}`);
  }
})();

const load = async () => (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).trim();
const layout = paramLayout({
  arch: "lstm",
  vocabSize: 120_000,
  embedDim: 64,
  hiddenSize: 8,
  layers: 25,
});
const params = initParams(layout, o.seed);
const dir = await Deno.makeTempDir({ prefix: "rnnbench-original-" });
const files: Record<string, string> = {};
let scanSchedule: string | null = null;
for (const style of styles) {
  const t0 = performance.now();
  const model = (() => {
    try {
      return onnxModel(layout, params, {
        style,
        maxLen: 200,
        metadata: { profile: "original", note: "random weights at the original initialisation" },
        scan,
      });
    } catch (e) {
      Deno.removeSync(dir, { recursive: true });
      return cmd.error(`error: ${(e as Error).message}`);
    }
  })();
  const bytes = encodeModel(model);
  if (style === "scan") scanSchedule = model.metadata["scanSchedule"] ?? null;
  files[style] = `${dir}/lstm-original-${style}.onnx`;
  await Deno.writeFile(files[style]!, bytes);
  console.error(
    `exported ${style}: ${(bytes.length / 1e6).toFixed(1)} MB in ${
      (performance.now() - t0).toFixed(0)
    } ms${style === "scan" ? ` (schedule: ${scanSchedule})` : ""}`,
  );
}
const loadBefore = await load();
const rows: { model: string; result: InferenceResult }[] = [];
const cpuRows: {
  style: string;
  batchSize: number;
  sequencesPerCpuSecond: number;
  calls: number;
}[] = [];
try {
  for (const workers of o.workers as number[]) {
    for (const style of styles) {
      console.error(`${style}, ${workers} worker(s); load average ${await load()}`);
      const results = await benchmarkOnnx(files[style]!, {
        batchSizes: o.batchSizes,
        workers,
        providers: ["cpu"],
        minSeconds: o.minSeconds,
        repeats: o.repeats,
        onProgress: (s) => console.error(`  ${s}`),
      });
      for (const result of results) rows.push({ model: `lstm-original-${style}`, result });
    }
  }
  // Sequences per CPU-second: one session, one thread, this process only.
  for (const style of styles) {
    const session = await openSession(await Deno.readFile(files[style]!), files[style]!);
    const parts: string[] = [];
    for (const B of o.batchSizes as number[]) {
      const ids = BigInt64Array.from({ length: B * 200 }, (_, i) => BigInt((i * 7919) % 120_000));
      const feed = { ids: new ort.Tensor("int64", ids, [B, 200]) };
      await session.run(feed);
      const c0 = process.cpuUsage();
      let calls = 0, used = 0;
      do {
        await session.run(feed);
        calls++;
        const c = process.cpuUsage(c0);
        used = (c.user + c.system) / 1e6;
      } while (used < o.cpuSeconds);
      cpuRows.push({ style, batchSize: B, sequencesPerCpuSecond: (calls * B) / used, calls });
      parts.push(`batch ${B}: ${((calls * B) / used).toFixed(0)} seq/cpu-s`);
    }
    await session.release();
    console.error(`${style}, 1 session in-process: ${parts.join("; ")}`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
const loadAfter = await load();
console.log(formatTable(rows));
console.log("\nsequences per CPU-second (one session, one thread):");
for (const r of cpuRows) {
  console.log(
    `lstm-original-${r.style}  batch ${r.batchSize}: ${r.sequencesPerCpuSecond.toFixed(0)}`,
  );
}
console.log(`load average before: ${loadBefore}; after: ${loadAfter}`);
if (o.json !== undefined) {
  await Deno.writeTextFile(
    o.json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        scanForm: scanFormOf(resolveScanOptions(scan)),
        scanSchedule,
        loadBefore,
        loadAfter,
        rows,
        cpuRows,
      },
      null,
      2,
    ) + "\n",
  );
}
