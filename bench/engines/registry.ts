/**
 * Engine selection: `--engine auto|cuda|native|tfjs|tfjs-cpu|tfjs-wasm|tfjs-tensorflow`.
 * `auto` takes the fastest engine that works here (cuda, then native, then tfjs-wasm, then
 * tfjs-cpu — wasm measured 3–8× faster than cpu at training, see bench/notes/tfjs.md) and says
 * which and why. An engine whose lowering cannot run a shape or a cell of the invocation
 * (the CUDA kernels: hidden size, layers, how the cell uses its input) counts as
 * unavailable, with the lowering's message.
 *
 * @module
 */
import type { Availability, Engine, EngineOptions } from "./engine.ts";
import { compileNative, createNativeEngine, nativeAvailability } from "./native/engine.ts";
import type { ModelConfig } from "../../models/classifier.ts";
import { programShapeKey } from "../../models/codegen/program_shape.ts";
import { createTfjsEngine, tfjsAvailability } from "./tfjs/engine.ts";
import { createCudaEngine } from "./cuda/engine.ts";
import { cudaAvailability, cudaFitProblem } from "./cuda/probe.ts";
import type { Arch } from "../../models/cells.ts";
import { cudaCellProblem, cudaShapeProblem } from "../../models/codegen/cuda.ts";

/** Engine names accepted by `--engine`. */
export const ENGINE_CHOICES = [
  "auto",
  "cuda",
  "native",
  "tfjs",
  "tfjs-cpu",
  "tfjs-wasm",
  "tfjs-tensorflow",
] as const;
/** An `--engine` value. */
export type EngineChoice = (typeof ENGINE_CHOICES)[number];
/** A concrete engine. */
export type EngineKind = Exclude<EngineChoice, "auto" | "tfjs">;

/** Extra engine options from the CLI. */
export interface EngineExtras {
  /** CUDA device index. */
  readonly device: number;
  /**
   * The model shapes the engine will run (every run of the invocation): an engine that
   * cannot lower one of them counts as unavailable, with the reason.
   * @default [] (no shape check)
   */
  readonly shapes?: readonly {
    readonly hiddenSize: number;
    readonly layers: number;
    /** With both of these, cuda also checks that the weights fit the device's shared memory. */
    readonly arch?: Arch;
    readonly embedDim?: number;
  }[];
}

/** Whether a concrete engine can run here. */
export function availability(kind: EngineKind, extras: EngineExtras): Promise<Availability> {
  switch (kind) {
    case "cuda": {
      for (const shape of extras.shapes ?? []) {
        const problem = cudaShapeProblem(shape);
        if (problem !== null) {
          return Promise.resolve({ ok: false, reason: `the CUDA kernels cannot run ${problem}` });
        }
        const lowering = shape.arch === undefined ? null : cudaCellProblem(shape.arch);
        if (lowering !== null) {
          return Promise.resolve({ ok: false, reason: `cell "${shape.arch}": ${lowering}` });
        }
      }
      return (async (): Promise<Availability> => {
        const a = await cudaAvailability(extras.device);
        if (!a.ok) return a;
        for (const shape of extras.shapes ?? []) {
          if (shape.arch === undefined || shape.embedDim === undefined) continue;
          const misfit = await cudaFitProblem(
            { ...shape, arch: shape.arch, embedDim: shape.embedDim },
            extras.device,
          );
          if (misfit !== null) return { ok: false, reason: misfit };
        }
        return a;
      })();
    }
    case "native":
      return nativeAvailability();
    case "tfjs-cpu":
      return tfjsAvailability("cpu");
    case "tfjs-wasm":
      return tfjsAvailability("wasm");
    case "tfjs-tensorflow":
      return tfjsAvailability("tensorflow");
  }
}

/** The engine `--engine` resolves to, and why. */
export interface Resolved {
  /** The concrete engine, for {@linkcode createEngine}. */
  readonly kind: EngineKind;
  /** One line for the user: what was picked and why. */
  readonly reason: string;
}

/**
 * Resolves `--engine` to a concrete engine that works here.
 * @throws Error naming what is missing when an explicitly requested engine cannot run
 */
export async function resolveEngine(choice: EngineChoice, extras: EngineExtras): Promise<Resolved> {
  if (choice === "auto") {
    const skipped: string[] = [];
    for (const kind of ["cuda", "native", "tfjs-wasm", "tfjs-cpu"] as const) {
      const a = await availability(kind, extras);
      if (a.ok) {
        const why = skipped.length ? ` (${skipped.join("; ")})` : "";
        return { kind, reason: `engine auto → ${kind}: ${a.detail}${why}` };
      }
      skipped.push(`${kind} unavailable: ${a.reason}`);
    }
    throw new Error(`Cannot pick an engine: ${skipped.join("; ")}`);
  }
  const kind: EngineKind = choice === "tfjs" ? "tfjs-cpu" : choice;
  const a = await availability(kind, extras);
  if (!a.ok) throw new Error(`Cannot use engine ${kind}: ${a.reason}`);
  return { kind, reason: `engine ${kind}: ${a.detail}` };
}

/**
 * Builds ahead of time what creating engines of `kind` for these models would build, so that
 * an invocation's builds overlap each other and whatever the caller does meanwhile: for the
 * native engine, each distinct shape's C library, `parallel` compiles at a time (one compiler
 * process uses one core; a fresh checkout of the default run compiles six). The other engines
 * build nothing ahead. Never throws: a build that fails here fails again, and is reported,
 * when its run creates the engine.
 * @param kind the engine the runs will use
 * @param models the runs' models (shapes; repeats are built once)
 * @param parallel compiles at a time, ≥ 1
 * @param nativeCacheDir where the native libraries go @default the native engine's cache
 */
export async function prepareEngines(
  kind: EngineKind,
  models: readonly ModelConfig[],
  parallel: number,
  nativeCacheDir?: string,
): Promise<void> {
  if (kind !== "native") return;
  const byShape = new Map<string, ModelConfig>();
  for (const m of models) {
    byShape.set(programShapeKey(m), m);
  }
  const queue = [...byShape.values()];
  const worker = async () => {
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
      await compileNative(m, nativeCacheDir === undefined ? {} : { cacheDir: nativeCacheDir })
        .catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
}

/** Creates a concrete engine. */
export function createEngine(
  kind: EngineKind,
  opts: EngineOptions,
  extras: EngineExtras,
): Promise<Engine> {
  switch (kind) {
    case "cuda":
      return createCudaEngine(opts, extras.device);
    case "native":
      return createNativeEngine(opts);
    case "tfjs-cpu":
      return createTfjsEngine(opts, "cpu");
    case "tfjs-wasm":
      return createTfjsEngine(opts, "wasm");
    case "tfjs-tensorflow":
      return createTfjsEngine(opts, "tensorflow");
  }
}
