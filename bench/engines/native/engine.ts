/**
 * The native engine: C generated from the cell IR (`models/codegen/c.ts`) with a
 * symbolically derived backward pass, compiled with the system C compiler (OpenMP when
 * it works), cached by a hash of source and flags, and called through `Deno.dlopen`.
 *
 * Float32 compute. Parameters, gradient and Adam's moments live in memory owned by the C
 * side; the engine reads and writes them through typed-array views. Results are bitwise
 * identical for a given input whatever the thread count (fixed-order reductions).
 *
 * @module
 */
import { generateC, MATH_FN } from "../../../models/codegen/c.ts";
import type { ModelConfig } from "../../../models/classifier.ts";
import type { Availability, Batch, Engine, EngineOptions, OptimizerState } from "../engine.ts";
import {
  type CCompiler,
  type CompiledLibrary,
  compileSharedLibrary,
  defaultCacheDir,
  probeCCompiler,
} from "./compiler.ts";

const SYMBOLS = {
  rb_create: { parameters: ["i32", "i32", "i32", "i32"], result: "pointer" },
  rb_destroy: { parameters: ["pointer"], result: "void" },
  rb_buffer: { parameters: ["pointer", "i32"], result: "pointer" },
  rb_param_count: { parameters: ["pointer"], result: "f64" },
  rb_loss_and_grad: {
    parameters: ["pointer", "buffer", "buffer", "i32", "buffer"],
    result: "f64",
    nonblocking: true,
  },
  rb_predict: {
    parameters: ["pointer", "buffer", "i32", "buffer"],
    result: "void",
    nonblocking: true,
  },
  rb_adam: {
    parameters: ["pointer", "f64", "f64", "f64", "f64", "i32", "f64"],
    result: "f64",
    nonblocking: true,
  },
  rb_math: { parameters: ["i32", "buffer", "buffer", "i32"], result: "void" },
  rb_openmp_threads: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded generated library. */
export type NativeLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A loaded library and how it was built. */
export interface LoadedNative {
  /** The `Deno.dlopen` handle (never closed). */
  readonly lib: NativeLibrary;
  /** Where the library and its source are, and whether it came from the cache. */
  readonly compiled: CompiledLibrary;
  /** The compiler and flags it was built with. */
  readonly compiler: CCompiler;
  /** Sequences per SIMD lane value. */
  readonly lanes: number;
}

// Loaded libraries are never closed: unloading code whose OpenMP threads may still be
// parked is unsafe, and reloading the same path is free.
const LOADED = new Map<string, LoadedNative>();

/** Options of {@linkcode loadNative}. */
export interface LoadNativeOptions {
  /** Sequences per SIMD value. @default 8 (one AVX/AVX2 register), 4 without AVX */
  readonly lanes?: number;
  /**
   * Save the forward values backward reads (3.5× the tape memory for LSTM) instead of
   * recomputing them in backward from the saved states. Measured on a 2-core EPYC: no
   * faster, so off by default.
   * @default false
   */
  readonly saveForward?: boolean;
  /** Cache directory. @default defaultCacheDir() */
  readonly cacheDir?: string;
}

/**
 * Generates and compiles (or finds in the cache) the C library of a model shape, without
 * loading it: what {@linkcode loadNative} does first, for building libraries ahead of time.
 * The source does not depend on `model.vocabSize` (a runtime argument of `rb_create`).
 *
 * @param model the model shape
 * @param opts lanes and cache directory
 * @returns the library, the compiler and the lanes
 * @throws Error when no compiler works or the compile fails (with its message)
 */
export async function compileNative(
  model: ModelConfig,
  opts: LoadNativeOptions = {},
): Promise<Omit<LoadedNative, "lib">> {
  const probe = await probeCCompiler();
  if (!probe.ok) throw new Error(`Cannot use engine native: ${probe.reason}`);
  const compiler = probe.compiler;
  const lanes = opts.lanes ?? defaultLanes(compiler);
  const source = generateC(model, lanes, opts.saveForward ?? false);
  const label = `${model.arch} E=${model.embedDim} H=${model.hiddenSize} L=${model.layers}`;
  const compiled = await compileSharedLibrary(source, {
    compiler,
    label,
    ...(opts.cacheDir === undefined ? {} : { cacheDir: opts.cacheDir }),
  });
  return { compiled, compiler, lanes };
}

/**
 * Generates, compiles (or finds in the cache) and loads the C library of a model shape.
 *
 * @param model the model shape
 * @param opts lanes and cache directory
 * @returns the loaded library
 * @throws Error when no compiler works or the compile fails (with its message)
 */
export async function loadNative(
  model: ModelConfig,
  opts: LoadNativeOptions = {},
): Promise<LoadedNative> {
  const { compiled, compiler, lanes } = await compileNative(model, opts);
  let loaded = LOADED.get(compiled.path);
  if (loaded === undefined) {
    let lib: NativeLibrary;
    try {
      lib = Deno.dlopen(compiled.path, SYMBOLS);
    } catch (e) {
      const dir = compiled.path.slice(0, compiled.path.lastIndexOf("/"));
      throw new Error(
        `Cannot load the native library "${compiled.path}": ${(e as Error).message}; ` +
          `delete "${dir}" to have it rebuilt`,
      );
    }
    loaded = { lib, compiled, compiler, lanes };
    LOADED.set(compiled.path, loaded);
  }
  return loaded;
}

function defaultLanes(c: CCompiler): number {
  const env = Number(Deno.env.get("RNNBENCH_NATIVE_LANES"));
  if ([4, 8, 16].includes(env)) return env;
  return c.simdFloats >= 8 ? 8 : 4;
}

/**
 * Whether the native engine can run here: permissions, a C compiler, OpenMP (the probe
 * is cached for the process).
 *
 * @returns ok with the compiler and flags, or the reason it cannot run
 */
export async function nativeAvailability(): Promise<Availability> {
  const needs: [Deno.PermissionDescriptor, string][] = [
    [{ name: "ffi" }, "--allow-ffi"],
    [{ name: "run" }, "--allow-run"],
    [{ name: "write", path: defaultCacheDir() }, `--allow-write=${defaultCacheDir()}`],
  ];
  for (const [desc, flag] of needs) {
    if ((await Deno.permissions.query(desc)).state !== "granted") {
      return { ok: false, reason: `the native engine needs ${flag} (or -A)` };
    }
  }
  const probe = await probeCCompiler();
  if (!probe.ok) return { ok: false, reason: probe.reason };
  const c = probe.compiler;
  const omp = c.openmp ? "OpenMP" : "no OpenMP: 1 thread";
  return { ok: true, detail: `C via ${c.version}, ${c.flags.join(" ")} (${omp})` };
}

/** Applies one of the generated vectorised math functions to `x` (for accuracy tests). */
export function nativeMath(
  loaded: LoadedNative,
  fn: keyof typeof MATH_FN,
  x: Float32Array,
): Float32Array {
  const out = new Float32Array(x.length);
  loaded.lib.symbols.rb_math(MATH_FN[fn], x, out, x.length);
  return out;
}

/**
 * Creates the native engine: compiles (or loads from the cache) the C code generated for
 * `opts.model` and allocates its buffers for `opts.batchSize` sequences of `opts.maxLen`.
 *
 * @param opts engine options; `threads` null means all cores
 * @param tuning code generation and cache overrides (see {@linkcode LoadNativeOptions})
 * @returns the engine
 * @example
 * ```ts
 * import { createNativeEngine } from "./engine.ts";
 * import { adamConfig } from "../../../models/adam.ts";
 * import { initParams, paramLayout } from "../../../models/classifier.ts";
 * const model = { arch: "gru" as const, vocabSize: 50, embedDim: 8, hiddenSize: 4, layers: 2 };
 * const layout = paramLayout(model);
 * const engine = await createNativeEngine({
 *   model, layout, maxLen: 10, batchSize: 16, optimizer: adamConfig(1e-3), gradClip: null,
 *   threads: null,
 * });
 * engine.setParams(initParams(layout, 1));
 * engine.dispose();
 * ```
 */
export async function createNativeEngine(
  opts: EngineOptions,
  tuning: LoadNativeOptions = {},
): Promise<Engine> {
  const loaded = await loadNative(opts.model, tuning);
  return new NativeEngine(opts, loaded);
}

class NativeEngine implements Engine {
  readonly name = "native";
  readonly detail: string;
  readonly #opts: EngineOptions;
  readonly #lib: NativeLibrary;
  #ctx: Deno.PointerValue;
  #params: Float32Array;
  #grad: Float32Array;
  #m: Float32Array;
  #v: Float32Array;
  #step = 0;
  #lr: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: EngineOptions, loaded: LoadedNative) {
    this.#opts = opts;
    this.#lib = loaded.lib;
    const sym = this.#lib.symbols;
    const { model, layout } = opts;
    if (layout.config !== model && JSON.stringify(layout.config) !== JSON.stringify(model)) {
      throw new Error("Cannot create engine native: opts.layout was computed for another model");
    }
    const ompThreads = sym.rb_openmp_threads();
    const threads = ompThreads === 0
      ? 1
      : Math.max(1, opts.threads ?? navigator.hardwareConcurrency);
    this.#ctx = sym.rb_create(opts.batchSize, opts.maxLen, model.vocabSize, threads);
    if (this.#ctx === null) {
      throw new Error(
        `Cannot create engine native: out of memory allocating buffers for batch ` +
          `${opts.batchSize} × ${opts.maxLen} and ${layout.total} parameters`,
      );
    }
    const count = sym.rb_param_count(this.#ctx);
    if (count !== layout.total) {
      sym.rb_destroy(this.#ctx);
      throw new Error(
        `Internal error: generated code has ${count} parameters, the layout ${layout.total}`,
      );
    }
    const view = (k: number) => {
      const p = sym.rb_buffer(this.#ctx, k)!;
      return new Float32Array(Deno.UnsafePointerView.getArrayBuffer(p, layout.total * 4));
    };
    this.#params = view(0);
    this.#grad = view(1);
    this.#m = view(2);
    this.#v = view(3);
    this.#lr = opts.optimizer.lr;
    const c = loaded.compiler;
    this.detail = `generated C, ${c.version}, ${c.flags.join(" ")}; ` +
      `${ompThreads === 0 ? "no OpenMP, 1 thread" : `${threads} OpenMP threads`}; ` +
      `${loaded.lanes} sequences per SIMD value; ${
        loaded.compiled.cached
          ? "cached"
          : `compiled in ${loaded.compiled.compileSeconds.toFixed(1)} s`
      } (${loaded.compiled.path})`;
  }

  #live(): Deno.PointerObject {
    if (this.#ctx === null) throw new Error("Cannot use engine native: it was disposed");
    return this.#ctx;
  }

  /** Runs calls one at a time: the C context is not re-entrant. */
  #serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(f, f);
    this.#queue = next.catch(() => {});
    return next;
  }

  #checkIds(ids: Int32Array, size: number): void {
    const { batchSize, maxLen: T, model } = this.#opts;
    if (!Number.isInteger(size) || size < 1 || size > batchSize) {
      throw new RangeError(`Batch size ${size} is outside [1, ${batchSize}]`);
    }
    if (ids.length !== size * T) {
      throw new RangeError(`ids has ${ids.length} elements, want size*T = ${size * T}`);
    }
    const V = model.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= V) throw new RangeError(`Token id ${id} is outside [0, ${V})`);
    }
  }

  #checkBatch(batch: Batch): void {
    this.#checkIds(batch.ids, batch.size);
    if (batch.labels.length < batch.size) {
      throw new RangeError(`labels has ${batch.labels.length} elements, want ${batch.size}`);
    }
  }

  setParams(params: Float64Array | Float32Array): void {
    this.#live();
    if (params.length !== this.#params.length) {
      throw new RangeError(`params has ${params.length} elements, want ${this.#params.length}`);
    }
    this.#params.set(params);
    this.#m.fill(0);
    this.#v.fill(0);
    this.#step = 0;
  }

  getParams(): Float32Array {
    this.#live();
    return this.#params.slice();
  }

  getOptimizerState(): OptimizerState {
    this.#live();
    return { m: this.#m.slice(), v: this.#v.slice(), step: this.#step };
  }

  setOptimizerState(state: OptimizerState): void {
    this.#live();
    if (state.m.length !== this.#m.length || state.v.length !== this.#v.length) {
      throw new RangeError(`optimizer state has the wrong length (want ${this.#m.length})`);
    }
    this.#m.set(state.m);
    this.#v.set(state.v);
    this.#step = state.step;
  }

  setLearningRate(lr: number): void {
    this.#lr = lr;
  }

  trainStep(batch: Batch): Promise<Float32Array> {
    return this.#serial(async () => {
      const ctx = this.#live();
      this.#checkBatch(batch);
      const logits = new Float32Array(batch.size);
      const labels = batch.labels.subarray(0, batch.size);
      await this.#lib.symbols.rb_loss_and_grad(ctx, batch.ids, labels, batch.size, logits);
      this.#step++;
      const o = this.#opts.optimizer;
      await this.#lib.symbols.rb_adam(
        ctx,
        this.#lr,
        o.beta1,
        o.beta2,
        o.eps,
        this.#step,
        this.#opts.gradClip ?? 0,
      );
      return logits;
    });
  }

  predict(ids: Int32Array, size: number): Promise<Float32Array> {
    return this.#serial(async () => {
      const ctx = this.#live();
      this.#checkIds(ids, size);
      const logits = new Float32Array(size);
      await this.#lib.symbols.rb_predict(ctx, ids, size, logits);
      return logits;
    });
  }

  lossAndGrad(batch: Batch): Promise<{ loss: number; grad: Float32Array }> {
    return this.#serial(async () => {
      const ctx = this.#live();
      this.#checkBatch(batch);
      const logits = new Float32Array(batch.size);
      const labels = batch.labels.subarray(0, batch.size);
      const loss = await this.#lib.symbols.rb_loss_and_grad(
        ctx,
        batch.ids,
        labels,
        batch.size,
        logits,
      );
      return { loss, grad: this.#grad.slice() };
    });
  }

  dispose(): void {
    if (this.#ctx === null) return;
    const ctx = this.#ctx;
    this.#ctx = null;
    // Views over freed memory must not be read again.
    this.#params =
      this.#grad =
      this.#m =
      this.#v =
        new Float32Array(0);
    // Wait for any call in flight before freeing.
    void this.#queue.then(() => this.#lib.symbols.rb_destroy(ctx));
  }
}
