/**
 * FOR TESTS (`engine_test.ts`): training steps and a prediction of the CUDA engine on the
 * emulator, run in a child process whose environment alone carries the emulator's settings
 * (`RNNBENCH_EMU_ORDER`, read by the kernels on every launch), so that emulated tests of other
 * files, running in the same `deno test --parallel` process, never see them. Prints
 * `{ "runs": … }` as JSON on its last line, one {@linkcode StepsResult} per run.
 *
 * Run by `runChild` (`../_child.ts`) on a {@linkcode StepsRequest}, with
 * `RNNBENCH_EMU_ORDER=<order>` in its environment.
 *
 * @module
 */
import type { ModelConfig } from "../../../models/classifier.ts";
import { type Cell, engineFixture, engineOptions, type OptionChanges } from "../_testing.ts";
import { createCudaEngine } from "./engine.ts";
import type { CudaTuning } from "./probe.ts";
import { childMain } from "../_child.ts";

/** One run: on the fixture of `cell` (`size` sequences, changed by `model`), a fresh engine. */
export interface StepsRun {
  readonly cell: Cell;
  readonly size: number;
  readonly model: Partial<ModelConfig>;
  readonly options: OptionChanges;
  /** How many training steps on the fixture's batch, before one prediction of it. */
  readonly trainSteps: number;
}

/** What the child does: each run in turn. */
export interface StepsRequest {
  /** The tuning, with the emulator (the parent's `emulatorTuning()`). */
  readonly tuning: CudaTuning;
  readonly runs: readonly StepsRun[];
}

/**
 * What a run gave, as the bits of its floats (JSON has no NaN): the parameters after the
 * steps, and the logits of each training step, then of the prediction.
 */
export interface StepsResult {
  readonly params: number[];
  readonly out: number[][];
}

/**
 * Runs `r` in this process.
 *
 * @param r the request
 * @returns one result per run
 */
export async function runSteps(r: StepsRequest): Promise<StepsResult[]> {
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
  const results: StepsResult[] = [];
  for (const run of r.runs) {
    const { layout, params, batch } = engineFixture(run.cell, {
      size: run.size,
      model: run.model,
    });
    const engine = await createCudaEngine(engineOptions(layout, run.options), 0, r.tuning);
    try {
      engine.setParams(params);
      const out: number[][] = [];
      for (let i = 0; i < run.trainSteps; i++) out.push(bits(await engine.trainStep(batch)));
      out.push(bits(await engine.predict(batch.ids, batch.size)));
      results.push({ params: bits(engine.getParams()), out });
    } finally {
      engine.dispose();
    }
  }
  return results;
}

if (import.meta.main) {
  await childMain(async (r: StepsRequest) => ({ runs: await runSteps(r) }));
}
