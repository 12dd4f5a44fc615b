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
import { InvalidArgumentError, Option } from "commander";
import process from "node:process";
import * as ort from "onnxruntime-node";
import { initParams, paramLayout } from "../../models/classifier.ts";
import { ONNX_STYLES, onnxModel, type OnnxStyle } from "../../models/onnx/export.ts";
import {
  resolveScanOptions,
  scanFormOf,
  type ScanOptions,
} from "../../models/onnx/scan_options.ts";
import { encodeModel } from "../../models/onnx/proto.ts";
import { benchmarkOnnx, type InferenceResult } from "../infer/benchmark.ts";
import { formatTable } from "../infer/main.ts";
import { openSession } from "../infer/model_file.ts";
import {
  command,
  integer,
  intList,
  nameList,
  optional,
  parseOrExit,
  positiveNumber,
} from "../util/cli_kit.ts";

/** `--scan`: ScanOptions as JSON, checked by `resolveScanOptions`. */
const scanOptions = (v: string): ScanOptions => {
  try {
    const scan = JSON.parse(v) as ScanOptions;
    resolveScanOptions(scan);
    return scan;
  } catch (e) {
    throw new InvalidArgumentError(`--scan must be ScanOptions as JSON: ${(e as Error).message}`);
  }
};
const o = parseOrExit(
  command("measure_original", "ONNX Runtime inference of the original-shape LSTM, both styles.")
    .addOption(
      new Option("--workers <list>", "worker counts").argParser(intList("--workers"))
        .default([1, 2], "1,2"),
    )
    .addOption(
      new Option("--batch-sizes <list>", "batch sizes").argParser(intList("every batch size"))
        .default([1, 64, 1000], "1,64,1000"),
    )
    .option("--min-seconds <s>", "seconds per repeat", positiveNumber("--min-seconds"), 1)
    .option("--repeats <n>", "timed repeats", integer("--repeats", 1), 3)
    .option("--seed <n>", "weight initialisation seed", integer("--seed", 0), 1)
    .option(
      "--cpu-seconds <s>",
      "CPU seconds per batch size of the one-session figure",
      positiveNumber("--cpu-seconds"),
      2,
    )
    .addOption(
      new Option("--styles <list>", `export styles (${ONNX_STYLES.join(", ")})`)
        .argParser(nameList("style", ONNX_STYLES)).default([...ONNX_STYLES], ONNX_STYLES.join(",")),
    )
    .addOption(
      new Option("--scan <json>", "scan-style tuning (ScanOptions as JSON)")
        .argParser(scanOptions).default({}, "{}"),
    )
    .addOption(optional("--json <file>", "also write the results as JSON", "none")),
  Deno.args,
).opts<{
  workers: number[];
  batchSizes: number[];
  minSeconds: number;
  repeats: number;
  seed: number;
  cpuSeconds: number;
  styles: OnnxStyle[];
  scan: ScanOptions;
  json: string | null;
}>();
const styles = o.styles;
const scan = o.scan;

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
      console.error(`measure_original: ${(e as Error).message}`);
      return Deno.exit(1);
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
if (o.json !== null) {
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
