/**
 * FOR TESTS (`engine_test.ts`): bench invocations (`runBench`, as `deno task bench` runs
 * them), in a child process given its own working directory (the project's, whose `.cache/`
 * holds the data) and environment (`RNNBENCH_CUDA_EMULATOR`, which makes `--engine cuda` use
 * the emulator): changed in the `deno test --parallel` process, they would change what the
 * tests of other files running there at the same time see. Prints `{ "invocations": … }` as
 * JSON on its last line, one {@linkcode BenchOutcome} per invocation.
 *
 * Run by `runChild` (`../_child.ts`) on the command lines (`string[][]`).
 *
 * @module
 */
import type { Run } from "../../results/types.ts";
import { parseBenchArgs } from "../../cli.ts";
import { runBench } from "../../run.ts";
import { memoryProgress } from "../../util/progress.ts";
import { childMain } from "../_child.ts";

/** What an invocation gave: whether it succeeded, and its runs. */
export interface BenchOutcome {
  readonly ok: boolean;
  readonly runs: Run[];
}

/**
 * Runs the invocations in this process, one after another.
 *
 * @param argvs their command lines (`deno task bench` arguments)
 * @returns one outcome per invocation
 */
export async function benchInvocations(argvs: readonly string[][]): Promise<BenchOutcome[]> {
  const outcomes: BenchOutcome[] = [];
  for (const argv of argvs) {
    const r = await runBench(parseBenchArgs(argv), memoryProgress());
    outcomes.push({ ok: r.ok, runs: r.results.runs });
  }
  return outcomes;
}

if (import.meta.main) {
  await childMain(async (argvs: string[][]) => ({ invocations: await benchInvocations(argvs) }));
}
