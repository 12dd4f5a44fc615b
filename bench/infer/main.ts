/**
 * `deno task infer`: the inference benchmark on existing `.onnx` files, for users who bring
 * their own model (any model whose one input is integer token ids `[batch, seq]`).
 *
 * ```sh
 * deno task infer out/run-1.onnx --batch-sizes 1,64,1000 --workers 1,2 --providers cpu,cuda
 * ```
 *
 * Prints one table row per model, provider, worker count and batch size; `--json FILE`
 * also writes every result with the machine and the command line (`infer_json.ts`). The model
 * files and the `--json` path are checked before anything is benchmarked.
 *
 * @module
 */
import { type Command, Option } from "commander";
import {
  command,
  exitOnUsageError,
  integer,
  intList,
  nameList,
  optional,
  parseCommandLine,
  positiveNumber,
} from "../util/cli_kit.ts";
import { machineInfo } from "../util/machine.ts";
import { benchmarkOnnx, type InferenceResult } from "./benchmark.ts";
import { type OnnxFile, type Provider, PROVIDERS, readOnnxFile } from "./model_file.ts";
import { type InferJson, type InferModelResults, writeInferJson } from "./infer_json.ts";
import { outputFileProblem } from "../util/output_path.ts";
import { resolve } from "node:path";

/** The resolved command line of `infer`. */
export interface InferArgs {
  /** Model files, benchmarked in order. */
  models: string[];
  /** @default [1, 64, 1000] */
  batchSizes: number[];
  /** Worker counts, each measured in turn. @default [cores] */
  workers: number[];
  /** @default ["cpu", "cuda"] */
  providers: Provider[];
  /** null: from the model. */
  seqLen: number | null;
  /** null: from the model's metadata. */
  vocabSize: number | null;
  /** @default 1 */
  minSeconds: number;
  /** @default 3 */
  repeats: number;
  /** Where to write the JSON results; null: nowhere. */
  json: string | null;
}

/** Builds the commander program (exported for tests). */
export function inferCommand(): Command {
  const cores = navigator.hardwareConcurrency;
  return command(
    "infer",
    "Benchmark ONNX models in onnxruntime-node: sequences per second per batch size, and " +
      "latency p50/p95/p99 at batch 1. The model's one input must be token ids [batch, seq].",
  )
    .argument("<models...>", ".onnx files")
    .addOption(
      new Option("--batch-sizes <list>", "comma-separated batch sizes")
        .argParser(intList("every batch size", { unique: true }))
        .default([1, 64, 1000], "1,64,1000"),
    )
    .addOption(
      new Option("--workers <list>", "workers (one session each), or a list to compare")
        .argParser(intList("--workers", { unique: true })).default([cores], `cores = ${cores}`),
    )
    .addOption(
      new Option("--providers <list>", `execution providers (${PROVIDERS.join(", ")})`)
        .argParser(nameList("provider", PROVIDERS)).default([...PROVIDERS], PROVIDERS.join(",")),
    )
    .addOption(
      optional(
        "--seq-len <n>",
        "sequence length",
        "the model's input shape or maxLen",
        integer("--seq-len", 1),
      ),
    )
    .addOption(
      optional(
        "--vocab-size <n>",
        "random ids are drawn from [0, n)",
        "metadata",
        integer("--vocab-size", 1),
      ),
    )
    .option(
      "--min-seconds <s>",
      "approximate seconds per repeat",
      positiveNumber("--min-seconds"),
      1,
    )
    .option("--repeats <n>", "timed repeats; the median is reported", integer("--repeats", 1), 3)
    .addOption(optional("--json <file>", "also write the results as JSON", "none"));
}

/**
 * Parses `infer` arguments.
 * @param argv arguments after the script name
 * @throws UsageError with a one-line message on a bad flag
 */
export function parseInferArgs(argv: string[]): InferArgs {
  const cmd = parseCommandLine(inferCommand(), argv);
  return { models: cmd.processedArgs[0] as string[], ...cmd.opts<Omit<InferArgs, "models">>() };
}

/**
 * Formats results as an aligned text table.
 * @param rows model label and its results
 * @returns the table, one line per result
 */
export function formatTable(rows: readonly { model: string; result: InferenceResult }[]): string {
  const f = (x: number | undefined) => x === undefined ? "" : x.toFixed(x < 10 ? 2 : 1);
  const lines = [[
    "model",
    "provider",
    "workers",
    "batch",
    "seq/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "note",
  ]];
  for (const { model, result: r } of rows) {
    lines.push([
      model,
      r.provider,
      String(r.workers),
      String(r.batchSize),
      r.sequencesPerSecond === null ? "—" : r.sequencesPerSecond.toFixed(0),
      f(r.latencyMs?.p50),
      f(r.latencyMs?.p95),
      f(r.latencyMs?.p99),
      r.unavailable === null ? "" : `unavailable: ${r.unavailable}`,
    ]);
  }
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  return lines.map((l) =>
    l.map((cell, c) => c >= 2 && c <= 7 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))
      .join("  ").trimEnd()
  ).join("\n");
}

/** Why `--json` cannot be written, or null. */
async function jsonPathProblem(args: InferArgs): Promise<string | null> {
  if (args.json === null) return null;
  const json = resolve(args.json);
  if (args.models.some((m) => resolve(m) === json)) return "it is one of the models";
  return await outputFileProblem(args.json);
}

/**
 * Runs the `infer` command.
 * @param argv arguments after the script name
 * @returns the process exit code
 */
export async function main(argv: string[]): Promise<number> {
  const args = exitOnUsageError("infer", () => parseInferArgs(argv));
  const log = (s: string) => console.error(s);
  const models: InferModelResults[] = [];
  const rows: { model: string; result: InferenceResult }[] = [];
  // Every path is checked before the first benchmark, so that none is wasted.
  const jsonProblem = await jsonPathProblem(args);
  if (jsonProblem !== null) {
    console.error(
      `Cannot write --json "${args.json}": ${jsonProblem}; name another file, in a folder ` +
        "you can write to",
    );
    return 1;
  }
  const files = new Map<string, OnnxFile>();
  try {
    for (const path of args.models) files.set(path, await readOnnxFile(path));
  } catch (e) {
    console.error((e as Error).message);
    return 1;
  }
  try {
    for (const path of args.models) {
      const file = files.get(path)!;
      const seqLen = args.seqLen ?? file.seqLen;
      const inference: InferenceResult[] = [];
      for (const workers of args.workers) {
        log(`${path}: ${workers} worker(s), batch sizes ${args.batchSizes.join(", ")}`);
        inference.push(
          ...await benchmarkOnnx(path, {
            batchSizes: args.batchSizes,
            workers,
            providers: args.providers,
            ...(args.seqLen === null ? {} : { seqLen: args.seqLen }),
            ...(args.vocabSize === null ? {} : { vocabSize: args.vocabSize }),
            minSeconds: args.minSeconds,
            repeats: args.repeats,
            onProgress: (s) => log(`  ${s}`),
          }),
        );
      }
      models.push({ path, seqLen, metadata: file.info.metadata, inference });
      for (const result of inference) rows.push({ model: path, result });
    }
  } catch (e) {
    console.error((e as Error).message);
    return 1;
  }
  console.log(formatTable(rows));
  if (args.json !== null) {
    const out: InferJson = {
      date: new Date().toISOString(),
      command: ["deno", "task", "infer", ...argv].join(" "),
      machine: await machineInfo(),
      models,
    };
    try {
      await writeInferJson(args.json, out);
    } catch (e) {
      console.error((e as Error).message);
      return 1;
    }
    log(`wrote ${args.json}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
