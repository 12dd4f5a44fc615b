/**
 * Test helpers for engines: the small fixture every engine test starts from (model, batch,
 * options), gradient and bitwise comparisons, a forwarding engine for spies, and tests on the
 * CPU emulator of the CUDA driver, registered as ignored (saying why) where it cannot run.
 *
 * Letters: B batch, T = maxLen timesteps.
 *
 * @module
 */
import { adamConfig } from "../../models/adam.ts";
import type { ModelConfig, ParamLayout } from "../../models/classifier.ts";
import {
  assertClose,
  ignorableTest,
  tinyBatch,
  tinyLayout,
  tinyParams,
  type Tolerance,
} from "../../models/_testing.ts";
import type { CudaTuning } from "./cuda/probe.ts";
import { buildCudaEmulator, type CudaEmulator } from "./cuda/emulator/emulator.ts";
import type { Batch, Engine, EngineOptions } from "./engine.ts";
import { cacheDir } from "../util/cache_dir.ts";

/** A cell, by the name a model config gives it (today one of `ARCHS`). */
export type Cell = ModelConfig["arch"];

/** The fixture's batch B and sequence length T: 3 layers, hidden 4, embed 5, vocab 11. */
export const FIXTURE = { B: 5, T: 7 } as const;

/** What {@linkcode engineFixture} builds. */
export interface EngineFixture {
  readonly layout: ParamLayout;
  /** Parameters large enough that the input matters (`tinyParams`). */
  readonly params: Float64Array;
  /** A batch `[size, T]` of random ids and alternating labels. */
  readonly batch: Batch;
  /** The batch's labels in float64, for the reference. */
  readonly labels: Float64Array;
}

/**
 * The tiny model of `cell` (`tinyConfig`, changed by `model`), its parameters and a batch.
 *
 * @param cell the cell
 * @param o `size` of the batch (default B), `maxLen` (default T), `model` changes to the
 *   shape, `scale` of the cell weights (default `tinyParams`'), `seed` of the batch (default 3)
 * @returns layout, parameters and batch
 */
export function engineFixture(
  cell: Cell,
  o: {
    size?: number;
    maxLen?: number;
    model?: Partial<ModelConfig>;
    scale?: number;
    seed?: number;
  } = {},
): EngineFixture {
  const size = o.size ?? FIXTURE.B;
  const layout = tinyLayout(cell, o.model);
  const { ids, labels } = tinyBatch(size, o.maxLen ?? FIXTURE.T, layout.config.vocabSize, o.seed);
  return {
    layout,
    params: tinyParams(layout, 7, o.scale),
    batch: { ids, labels: Float32Array.from(labels), size },
    labels,
  };
}

/** Changes to the options {@linkcode engineOptions} builds. */
export interface OptionChanges {
  /** @default FIXTURE.B */
  readonly batchSize?: number;
  /** @default FIXTURE.T */
  readonly maxLen?: number;
  /** Adam's learning rate. @default 1e-2 */
  readonly lr?: number;
  /** @default null */
  readonly gradClip?: number | null;
  /** @default null */
  readonly threads?: number | null;
}

/**
 * Engine options for a layout, with the fixture's defaults.
 *
 * @param layout the layout (its config is the model)
 * @param o changes to the defaults
 * @returns the options
 */
export function engineOptions(layout: ParamLayout, o: OptionChanges = {}): EngineOptions {
  return {
    model: layout.config,
    layout,
    maxLen: o.maxLen ?? FIXTURE.T,
    batchSize: o.batchSize ?? FIXTURE.B,
    optimizer: adamConfig(o.lr ?? 1e-2),
    gradClip: o.gradClip ?? null,
    threads: o.threads ?? null,
  };
}

/** A tolerance whose `atol` is relative to the largest `|expected|` of the tensor when `ofMax`. */
export interface ScaledTolerance extends Tolerance {
  /** `atol` is multiplied by the tensor's largest absolute expected value. */
  readonly ofMax?: boolean;
}

/**
 * Checks `actual` against `expected` under every tolerance of `tols` (each must hold).
 *
 * @param name the tensor's name, for the message
 * @param actual engine values
 * @param expected reference values
 * @param tols tolerances, all required
 */
export function assertCloseAll(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tols: readonly ScaledTolerance[],
): void {
  for (const t of tols) {
    let atol = t.atol;
    if (t.ofMax) {
      let max = 0;
      for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]!));
      atol *= max;
    }
    assertClose(name, actual, expected, { atol, rtol: t.rtol });
  }
}

/**
 * Checks a gradient tensor by tensor, naming each (`d/dlayers.0.W_xh`).
 *
 * @param name what is compared
 * @param layout the layout the gradient is in
 * @param got the engine's gradient
 * @param want the reference gradient
 * @param tols tolerances, all required for every tensor
 */
export function assertGradClose(
  name: string,
  layout: ParamLayout,
  got: Float32Array,
  want: Float64Array,
  tols: readonly ScaledTolerance[],
): void {
  for (const t of layout.tensors) {
    const w = want.subarray(t.offset, t.offset + t.size);
    assertCloseAll(`${name} d/d${t.name}`, got.subarray(t.offset, t.offset + t.size), w, tols);
  }
}

/**
 * Throws unless `a` and `b` hold the same bits (`Object.is` per element), naming the first
 * difference.
 */
export function assertSameBits(name: string, a: Float32Array, b: Float32Array): void {
  const i = a.findIndex((v, j) => !Object.is(v, b[j]));
  if (a.length !== b.length || i >= 0) {
    throw new Error(`${name}: [${i}] = ${a[i]}, want ${b[i]} (lengths ${a.length}, ${b.length})`);
  }
}

/**
 * Runs `f` on a fresh engine and disposes it whatever happens.
 *
 * @param make builds the engine
 * @param f what to do with it
 * @returns what `f` returns
 */
export async function withEngine<R>(
  make: () => Promise<Engine>,
  f: (e: Engine) => Promise<R> | R,
): Promise<R> {
  const e = await make();
  try {
    return await f(e);
  } finally {
    e.dispose();
  }
}

/**
 * The message of what `f` throws or rejects with; throws if it succeeds.
 *
 * @param what the call, for the message when nothing is refused
 * @param f the call
 * @returns the error's message
 */
export async function refusal(what: string, f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error(`${what} was accepted; want a clear error`);
}

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

/** Why the CUDA emulator cannot run here, or null when it can. */
export const EMULATOR_MISSING: string | null = (await canEmulate())
  ? null
  : "the CUDA emulator needs Linux with g++ and cc";

/**
 * A test that runs on the CPU emulator of the CUDA driver; registered as ignored, saying why
 * in its name, without g++ and cc, or when `options.ignore` gives another reason.
 *
 * @param name the test's name
 * @param fn its body
 * @param options `ignore`: another reason the test cannot run here, or null (the default)
 */
export function emuTest(
  name: string,
  fn: () => Promise<void>,
  options: { readonly ignore?: string | null } = {},
): void {
  ignorableTest({ name, ignore: EMULATOR_MISSING ?? options.ignore ?? null, fn });
}

let emulator: Promise<CudaEmulator> | null = null;

/**
 * The CUDA engine's tuning for tests: the emulator (built once per process under
 * `cacheDir("cuda-emulator")`) and its kernel cache.
 *
 * @returns the tuning, with the emulator's paths
 */
export async function emulatorTuning(): Promise<
  CudaTuning & { readonly emulator: CudaEmulator; readonly cacheDir: string }
> {
  emulator ??= buildCudaEmulator(cacheDir("cuda-emulator"));
  return { emulator: await emulator, cacheDir: `${cacheDir("cuda-emulator")}/kernels` };
}
