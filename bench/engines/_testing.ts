/**
 * Test helpers for engines.
 *
 * @module
 */
import type { CudaTuning } from "./cuda/probe.ts";
import { buildCudaEmulator, type CudaEmulator } from "./cuda/emulator/emulator.ts";
import type { Engine } from "./engine.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * An engine that forwards every call to `e` except those `over` replaces: the spies and
 * fault injectors tests pass as `wrapEngine` to `runBench`. It has no `predictRows`, so that
 * every evaluation goes through `predict`, where a spy sees it.
 *
 * @param e the real engine
 * @param over the members to replace
 * @returns the wrapper
 * @example
 * ```ts
 * const spy = (e: Engine) => forwardingEngine(e, { trainStep: (b) => e.trainStep(b) });
 * ```
 */
export function forwardingEngine(e: Engine, over: Partial<Engine> = {}): Engine {
  return {
    name: e.name,
    detail: e.detail,
    setParams: (p) => e.setParams(p),
    getParams: () => e.getParams(),
    getOptimizerState: () => e.getOptimizerState(),
    setOptimizerState: (s) => e.setOptimizerState(s),
    setLearningRate: (lr) => e.setLearningRate(lr),
    trainStep: (b) => e.trainStep(b),
    predict: (ids, n, source) => e.predict(ids, n, source),
    lossAndGrad: (b) => e.lossAndGrad(b),
    dispose: () => e.dispose(),
    ...over,
  };
}

/** The CUDA emulator needs g++ and cc (fibers via ucontext: Linux). */
async function canEmulate(): Promise<boolean> {
  if (Deno.build.os !== "linux") return false;
  for (const cmd of ["g++", "cc"]) {
    try {
      const out = await new Deno.Command(cmd, { args: ["--version"], stdout: "null" }).output();
      if (!out.success) return false;
    } catch {
      return false;
    }
  }
  return true;
}
const EMULATE = await canEmulate();

/**
 * A test that runs on the CPU emulator of the CUDA driver; skipped, saying so, without g++.
 *
 * @param name the test's name
 * @param fn its body
 */
export function emuTest(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    if (!EMULATE) {
      console.log("skipped: the CUDA emulator needs Linux with g++ and cc");
      return;
    }
    await fn();
  });
}

let emulator: Promise<CudaEmulator> | null = null;

/**
 * The CUDA engine's tuning for tests: the emulator (built once per process under
 * `.cache/cuda-emulator`) and its kernel cache.
 *
 * @returns the tuning, with the emulator's paths
 */
export async function emulatorTuning(): Promise<
  CudaTuning & { readonly emulator: CudaEmulator; readonly cacheDir: string }
> {
  emulator ??= buildCudaEmulator(`${ROOT}.cache/cuda-emulator`);
  return { emulator: await emulator, cacheDir: `${ROOT}.cache/cuda-emulator/kernels` };
}
