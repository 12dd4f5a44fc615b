/**
 * Test helpers for whole bench invocations.
 *
 * @module
 */
import { type BenchArgs, parseBenchArgs } from "./cli.ts";

/**
 * The command line of a quick in-process bench: the smoke profile on the native engine with
 * 2 threads and no ONNX stage, writing into `out`; `extra` flags come last (and win).
 */
export function smokeBenchArgs(out: string, extra: readonly string[] = []): BenchArgs {
  return parseBenchArgs([
    ...["--profile", "smoke", "--engine", "native", "--threads", "2", "--onnx", "none"],
    ...["--out", out, ...extra],
  ]);
}
