/**
 * The CUDA engine. NOT BUILT YET in this version: it reports itself unavailable, with
 * that reason, so `--engine cuda` fails clearly and `--engine auto` moves on.
 *
 * @module
 */
import type { Availability, Engine, EngineOptions } from "./engine.ts";

const REASON = "the CUDA engine is not implemented yet in this version of rnnbench " +
  "(use --engine native or tfjs)";

/** Whether the CUDA engine can run here: not yet, in this version. */
export function cudaAvailability(_device: number): Promise<Availability> {
  return Promise.resolve({ ok: false, reason: REASON });
}

/** Always throws in this version: the CUDA engine does not exist yet. */
export function createCudaEngine(_opts: EngineOptions, _device: number): Promise<Engine> {
  return Promise.reject(new Error(`Cannot use engine cuda: ${REASON}`));
}
