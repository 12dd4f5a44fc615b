/**
 * `deno task infer`: the inference benchmark on existing `.onnx` files, for users who bring
 * their own model (any model whose one input is integer token ids `[batch, seq]`).
 *
 * ```sh
 * deno task infer out/run-1.onnx --batch-sizes 1,64,1000 --workers 1,2 --providers cpu,cuda
 * ```
 *
 * Prints one table row per model, provider, worker count and batch size; `--json FILE`
 * also writes every result with the machine and the command line.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { machineInfo } from "../util/machine.ts";
import { benchmarkOnnx, type InferenceResult } from "./benchmark.ts";
import { type Provider, PROVIDERS, readOnnxFile } from "./model_file.ts";

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

function int(min: number, what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${what} must be an integer ≥ ${min}, got "${v}".`);
    }
    return n;
  };
}

function intList(what: string) {
  return (v: string): number[] => {
    const parse = int(1, what);
    return [...new Set(v.split(",").map((s) => parse(s.trim())))];
  };
}

function providerList(v: string): Provider[] {
  const parts = v.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  if (parts.length === 0) {
    throw new InvalidArgumentError(`Valid providers are ${PROVIDERS.join(", ")}.`);
  }
  for (const p of parts) {
    if (!(PROVIDERS as readonly string[]).includes(p)) {
      throw new InvalidArgumentError(
        `Unknown provider "${p}": valid values are ${PROVIDERS.join(", ")}.`,
      );
    }
  }
  return [...new Set(parts)] as Provider[];
}

function positive(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`${what} must be a number > 0, got "${v}".`);
    }
    return n;
  };
}

/** Builds the commander program (exported for tests). */
export function inferCommand(): Command {
  const cores = navigator.hardwareConcurrency;
  return new Command("infer")
    .description(
      "Benchmark ONNX models in onnxruntime-node: sequences per second per batch size, and " +
        "latency p50/p95/p99 at batch 1. The model's one input must be token ids [batch, seq].",
    )
    .argument("<models...>", ".onnx files")
    .addOption(
      new Option("--batch-sizes <list>", "comma-separated batch sizes")
        .argParser(intList("every batch size")).default([1, 64, 1000], "1,64,1000"),
    )
    .addOption(
      new Option("--workers <list>", "workers (one session each), or a list to compare")
        .argParser(intList("--workers")).default([cores], `cores = ${cores}`),
    )
    .addOption(
      new Option("--providers <list>", `execution providers (${PROVIDERS.join(", ")})`)
        .argParser(providerList).default([...PROVIDERS], PROVIDERS.join(",")),
    )
    .addOption(
      new Option("--seq-len <n>", "sequence length (default: the model's input shape or maxLen)")
        .argParser(int(1, "--seq-len")),
    )
    .addOption(
      new Option("--vocab-size <n>", "random ids are drawn from [0, n) (default: metadata)")
        .argParser(int(1, "--vocab-size")),
    )
    .addOption(
      new Option("--min-seconds <s>", "approximate seconds per repeat")
        .argParser(positive("--min-seconds")).default(1),
    )
    .addOption(
      new Option("--repeats <n>", "timed repeats; the median is reported")
        .argParser(int(1, "--repeats")).default(3),
    )
    .addOption(new Option("--json <file>", "also write the results as JSON"))
    .showHelpAfterError("(run with --help to see every flag and its default)");
}

/**
 * Parses `infer` arguments; commander prints a bad flag's error and exits with 1.
 * @param argv arguments after the script name
 */
export function parseInferArgs(argv: string[]): InferArgs {
  const cmd = inferCommand();
  cmd.parse(argv, { from: "user" });
  const o = cmd.opts();
  return {
    models: cmd.processedArgs[0] as string[],
    batchSizes: o.batchSizes,
    workers: o.workers,
    providers: o.providers,
    seqLen: o.seqLen ?? null,
    vocabSize: o.vocabSize ?? null,
    minSeconds: o.minSeconds,
    repeats: o.repeats,
    json: o.json ?? null,
  };
}

/** One model's results as written by `--json`. */
export interface InferModelResults {
  readonly path: string;
  /** The sequence length fed (null never reaches here: the benchmark refuses it). */
  readonly seqLen: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly inference: readonly InferenceResult[];
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

/**
 * Runs the `infer` command.
 * @param argv arguments after the script name
 * @returns the process exit code
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseInferArgs(argv);
  const log = (s: string) => console.error(s);
  const models: InferModelResults[] = [];
  const rows: { model: string; result: InferenceResult }[] = [];
  try {
    for (const path of args.models) {
      const file = await readOnnxFile(path);
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
    const out = {
      date: new Date().toISOString(),
      command: ["deno", "task", "infer", ...argv].join(" "),
      machine: await machineInfo(),
      models,
    };
    await Deno.writeTextFile(args.json, JSON.stringify(out, null, 2) + "\n");
    log(`wrote ${args.json}`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
