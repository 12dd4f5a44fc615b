/**
 * Test helpers for whole bench invocations.
 *
 * @module
 */
import { type BenchArgs, parseBenchArgs } from "./cli.ts";
import type { Run } from "./results/types.ts";

/**
 * The command line of a quick in-process bench: the smoke profile on the native engine with
 * 2 threads, no ONNX stage and a checkpoint after every epoch, writing into `out`; `extra`
 * flags come last (and win).
 */
export function smokeBenchArgs(out: string, extra: readonly string[] = []): BenchArgs {
  return parseBenchArgs([
    ...["--profile", "smoke", "--engine", "native", "--threads", "2", "--onnx", "none"],
    ...["--checkpoint-every", "0", "--out", out, ...extra],
  ]);
}

/** The measured numbers of a run without its timings, for exact comparison. */
export function runNumbers(r: Run) {
  return {
    key: `${r.profile}/${r.arch}/${r.seed}/${r.engine}`,
    status: r.status,
    epochs: r.epochs.map((
      e,
    ) => [e.epoch, e.trainLoss, e.trainAccuracy, e.testLoss, e.testAccuracy]),
  };
}

/**
 * Runs `f` on a fresh temporary folder (an absolute path), then removes it. The working
 * folder is left alone: test files share it under `deno test --parallel`, and the caches are
 * found from the modules (`cacheDir()`), not from it.
 */
export async function withTemp(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
