/**
 * Test helper: the engine conformance suite (`conformance.ts`) on every engine — native,
 * tfjs-cpu, and cuda on the emulator — for the given cells, each engine ignored with its
 * reason where it cannot run here.
 *
 * @module
 */
import { engineConformance } from "./conformance.ts";
import { createCudaEngine } from "./cuda/engine.ts";
import { createNativeEngine } from "./native/engine.ts";
import { availability } from "./registry.ts";
import { createTfjsEngine } from "./tfjs/engine.ts";
import { EMULATOR_MISSING, emulatorTuning } from "./_testing.ts";

const native = await availability("native", { device: 0 });

/**
 * Registers the conformance tests of every engine for `cells`.
 * @param cells registered cells, by name
 */
export function conformanceOnEveryEngine(cells: readonly string[]): void {
  engineConformance("native", (o) => createNativeEngine(o), {
    cells,
    threads: 2,
    ignore: native.ok ? null : native.reason,
    wording: { batchSize: /Batch size 6 / },
  });
  engineConformance("tfjs-cpu", (o) => createTfjsEngine(o, "cpu"), {
    cells,
    wording: { params: /^Cannot set parameters of engine tfjs-cpu/ },
  });
  engineConformance(
    "cuda (emulated)",
    async (o) => createCudaEngine(o, 0, await emulatorTuning()),
    {
      cells,
      ignore: EMULATOR_MISSING,
      wording: { batchSize: /Batch size 6 / },
    },
  );
}
