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

const ROOT = new URL("..", import.meta.url).pathname;

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
 * Runs `f` on a fresh temporary folder with the repository as the working folder (where the
 * data cache is), then puts the working folder back and removes the temporary one.
 */
export async function withTempInRepo(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  Deno.chdir(ROOT);
  try {
    await f(dir);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
}
