/**
 * FOR TESTS (`engine_test.ts`): one step of the CUDA engine on the emulator, run in a child
 * process whose environment alone carries the fault (`RNNBENCH_EMU_FAIL`, read by the fake
 * driver on every call), so that emulated tests of other files, running in the same
 * `deno test --parallel` process, never see it. Prints `{ "message": … }` as JSON on its
 * last line: what the step threw (`String(e)`), or null when it did not throw.
 *
 * Run by `runChild` (`../_child.ts`) on a {@linkcode FaultedStep}, with
 * `RNNBENCH_EMU_FAIL=<call>[:<kernel>]` in its environment.
 *
 * @module
 */
import type { ModelConfig } from "../../../models/classifier.ts";
import { type Cell, engineFixture, engineOptions } from "../_testing.ts";
import { createCudaEngine } from "./engine.ts";
import type { CudaTuning } from "./probe.ts";
import { childMain } from "../_child.ts";

/** What the child does: on the fixture of `cell` (changed by `model`), one step. */
export interface FaultedStep {
  /** The tuning, with the emulator (the parent's `emulatorTuning()`). */
  readonly tuning: CudaTuning;
  readonly cell: Cell;
  readonly model?: Partial<ModelConfig>;
  /**
   * `create`: create (and dispose) the engine; `trainStep`, `predict`: create it, set the
   * fixture's parameters, then one training step, or a prediction, of the fixture's batch.
   */
  readonly step: "create" | "trainStep" | "predict";
}

/**
 * Runs `s` in this process.
 *
 * @param s the step
 * @returns what it threw (`String(e)`), or null
 */
export async function faultedStep(s: FaultedStep): Promise<string | null> {
  const { layout, params, batch } = engineFixture(s.cell, s.model ? { model: s.model } : {});
  try {
    const engine = await createCudaEngine(engineOptions(layout), 0, s.tuning);
    try {
      if (s.step === "create") return null;
      engine.setParams(params);
      if (s.step === "trainStep") await engine.trainStep(batch);
      else await engine.predict(batch.ids, batch.size);
    } finally {
      engine.dispose();
    }
  } catch (e) {
    return String(e);
  }
  return null;
}

if (import.meta.main) {
  await childMain(async (s: FaultedStep) => ({ message: await faultedStep(s) }));
}
