/**
 * The TensorFlow.js engine: the portable one. The model is the tfjs lowering of the cell
 * IR (`models/tfjs.ts`), gradients come from tfjs autodiff, and Adam is written here with
 * tf ops exactly as `models/adam.ts` (torch semantics, DENSE update of the whole
 * embedding every step).
 *
 * Backends:
 * - `cpu`: always available; plain JavaScript, one thread.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm`, loaded on demand. Its `.wasm` binaries are
 *   fetched from the package's `dist/` folder inside `node_modules`, given to
 *   `setWasmPaths` as a `file://` URL prefix (Deno's `fetch` reads file URLs; the folder
 *   is found with `import.meta.resolve`, which needs `"nodeModulesDir"` in deno.json).
 *   SIMD on; one thread (tfjs turns threads off wherever it sees Node, which includes
 *   Deno: tfjs issue 3830). Its heap is capped at 4 GiB.
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`, only when the
 *   user installed one (neither is a dependency of rnnbench).
 *
 * Memory: one autodiff tape over a whole batch keeps every step's tensors until the
 * backward pass ends (≈ 11.5 GiB for the original-shape LSTM). The engine estimates a
 * step's peak ({@linkcode tfjsTrainBytes}) and, when one tape would not fit the budget
 * (wasm: 85 % of 4 GiB; others: half the machine's memory, at most 80 % of what is
 * available), trains with gradient checkpointing (one extra forward pass, memory
 * ∝ k + T/k); a shape that does not fit even so is refused up front, saying which engine
 * or batch size to use.
 *
 * tfjs has ONE global backend; each engine switches to its own at the start of every
 * call (synchronously; every call runs to completion without awaiting in between), so
 * engines on different backends can live in one process.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { cellGraph } from "../../../models/cells.ts";
import { type ParamLayout, readoutOf } from "../../../models/classifier.ts";
import { embedSteps, tfjsLogits, tfjsLossAndGrad, timeMajor } from "../../../models/tfjs.ts";
import type { Availability, Batch, Engine, EngineOptions, OptimizerState } from "../engine.ts";

/** A TensorFlow.js backend the engine can run on. */
export type TfjsBackend = "cpu" | "wasm" | "tensorflow";

/** The packages that provide the `tensorflow` backend, tried in this order. */
const NODE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;
const NODE_HINT = "install @tensorflow/tfjs-node (needs libtensorflow) to use it: add " +
  `"@tensorflow/tfjs-node": "npm:@tensorflow/tfjs-node@${tf.version_core}" to the imports ` +
  "of deno.json and run `deno install --allow-scripts=npm:@tensorflow/tfjs-node` " +
  "(or @tensorflow/tfjs-node-gpu, which needs CUDA 11.2 and cuDNN 8.1)";

/** Bytes the wasm backend can address (WebAssembly memory32). */
export const WASM_MEMORY_BYTES = 4 * 1024 ** 3;

const inits = new Map<TfjsBackend, Promise<Availability>>();

/** Makes `backend` the active tfjs backend (it must have been initialised). */
function activate(backend: TfjsBackend): void {
  if (tf.getBackend() === backend) return;
  // For an initialised backend, setBackend switches before its first await.
  void tf.setBackend(backend);
  if (tf.getBackend() !== backend || tf.engine().backend !== tf.findBackend(backend)) {
    throw new Error(`Cannot switch TensorFlow.js to the ${backend} backend: it is not ready`);
  }
}

async function wasmInit(): Promise<Availability> {
  let wasm: typeof import("@tensorflow/tfjs-backend-wasm");
  try {
    wasm = await import("@tensorflow/tfjs-backend-wasm");
  } catch (e) {
    return {
      ok: false,
      reason: `@tensorflow/tfjs-backend-wasm cannot be imported (${(e as Error).message}); ` +
        "run `deno install` in the repository",
    };
  }
  const main = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  if (!main.startsWith("file:")) {
    return {
      ok: false,
      reason: `the .wasm files of @tensorflow/tfjs-backend-wasm are not on disk (it resolved ` +
        `to ${main}); keep "nodeModulesDir": "auto" in deno.json and run \`deno install\``,
    };
  }
  // setWasmPaths takes a folder prefix: the package's dist/ (where main lives).
  wasm.setWasmPaths(new URL("./", main).href);
  return { ok: true, detail: "" };
}

async function nodeInit(): Promise<Availability> {
  const errors: string[] = [];
  for (const spec of NODE_PACKAGES) {
    try {
      // A non-literal specifier: neither package is a dependency, so type checking and
      // `deno install` must not try to resolve it.
      await import(spec);
      return { ok: true, detail: spec };
    } catch (e) {
      errors.push(`${spec}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return {
    ok: false,
    reason: `neither @tensorflow/tfjs-node nor @tensorflow/tfjs-node-gpu can be imported ` +
      `(${errors.join("; ")}); ${NODE_HINT}`,
  };
}

/** Loads and initialises a backend once; restores the previously active backend. */
function initBackend(backend: TfjsBackend): Promise<Availability> {
  let p = inits.get(backend);
  if (p === undefined) {
    p = (async (): Promise<Availability> => {
      tf.env().set("PROD", true); // silences tfjs's "install tfjs-node" banner and warnings
      const pkg = backend === "wasm"
        ? await wasmInit()
        : backend === "tensorflow"
        ? await nodeInit()
        : { ok: true as const, detail: "" };
      if (!pkg.ok) return pkg;
      const previous: string | null | undefined = tf.engine().backendName;
      let ok = false;
      try {
        ok = await tf.setBackend(backend);
      } catch (e) {
        return {
          ok: false,
          reason: `the TensorFlow.js ${backend} backend failed to start: ${(e as Error).message}`,
        };
      }
      if (!ok || tf.getBackend() !== backend) {
        return { ok: false, reason: `the TensorFlow.js ${backend} backend failed to start` };
      }
      const detail = backendDetail(backend, pkg.detail);
      if (typeof previous === "string" && previous !== backend) await tf.setBackend(previous);
      return { ok: true, detail };
    })();
    inits.set(backend, p);
  }
  return p;
}

function backendDetail(backend: TfjsBackend, pkg: string): string {
  const v = `TensorFlow.js ${tf.version_core}`;
  if (backend === "cpu") return `${v}, cpu backend (plain JavaScript, one thread)`;
  if (backend === "wasm") {
    const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
    const threads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
    return `${v}, wasm backend (SIMD ${simd ? "on" : "off"}, ` +
      `${threads ? "multi-threaded" : "one thread"}, 4 GiB heap)`;
  }
  return `${v}, tensorflow backend from ${pkg} (libtensorflow)`;
}

/**
 * Whether the tfjs engine can run on a backend here, and if not, why.
 *
 * @param backend "cpu", "wasm" or "tensorflow"
 * @returns availability with a one-line detail or reason
 * @example
 * ```ts
 * import { tfjsAvailability } from "./engine.ts";
 * const a = await tfjsAvailability("tensorflow");
 * console.log(a.ok ? a.detail : a.reason);
 * ```
 */
export function tfjsAvailability(backend: TfjsBackend): Promise<Availability> {
  return initBackend(backend);
}

/**
 * Estimated peak bytes of one tfjs training step (forward, backward, Adam), for choosing
 * gradient checkpointing and for refusing, up front, a shape that cannot fit. Calibrated
 * against tfjs's own peak-bytes count (`tfjs_bench.ts --memory`: 2–35 % above the
 * measured peak on cpu and wasm, the margin largest for small models): on one autodiff tape, every step of every layer keeps about three `[B, H]`
 * tensors per computed IR node alive until the backward pass ends (the saved forward
 * values and the accumulated gradients, which tfjs frees only at the end). With
 * checkpointing every k steps the tape holds k steps, plus the states at every k-th step.
 * On top: the embedded inputs and their gradients, the parameters, Adam's moments and
 * the update's temporaries; and, for the readout `"max"`, the running maximum of the top
 * `h` on the tape (like one more node of one layer per step) and, with checkpointing,
 * the maximum and its timestep kept across chunks.
 *
 * @param layout the parameter layout
 * @param batchSize B
 * @param maxLen T
 * @param checkpointEvery k, or null for one tape over the whole sequence
 * @returns estimated peak bytes
 */
export function tfjsTrainBytes(
  layout: ParamLayout,
  batchSize: number,
  maxLen: number,
  checkpointEvery: number | null = null,
): number {
  const { hiddenSize: H, layers: L, embedDim: E } = layout.config;
  const g = cellGraph(layout.config.arch);
  const computed = g.nodes.filter((n) => n.op !== "input" && n.op !== "state" && n.op !== "const");
  const stepBytes = L * batchSize * H * 4; // one [B, H] tensor per layer
  const tapeSteps = checkpointEvery === null ? maxLen : Math.min(checkpointEvery, maxLen);
  const tape = tapeSteps * stepBytes * 3 * computed.length;
  const saved = checkpointEvery === null || checkpointEvery >= maxLen
    ? 0
    : Math.ceil(maxLen / checkpointEvery) * stepBytes * g.states.length;
  const inputs = maxLen * batchSize * E * 4 * 3; // x_t, dx_t, their concatenation
  const params = layout.total * 4 * 7; // params, m, v, grad, scatter result, temporaries
  const pooled = readoutOf(layout.config) === "max"
    ? (tapeSteps * 3 + (saved > 0 ? 2 : 0)) * batchSize * H * 4
    : 0;
  return tape + saved + inputs + params + pooled;
}

/** How a step will run within a memory budget: one tape, checkpoints, or not at all. */
type MemoryPlan =
  | { readonly fits: true; readonly checkpointEvery: number | null; readonly bytes: number }
  | { readonly fits: false; readonly bytes: number; readonly largestBatch: number };

/**
 * One tape if it fits in `budget`, else the longest checkpoint interval that fits
 * (fewest recomputed chunks), else nothing.
 */
function planMemory(layout: ParamLayout, B: number, T: number, budget: number): MemoryPlan {
  const whole = tfjsTrainBytes(layout, B, T, null);
  if (whole <= budget) return { fits: true, checkpointEvery: null, bytes: whole };
  let best: { k: number; bytes: number } | null = null;
  for (let k = 1; k < T; k++) {
    const bytes = tfjsTrainBytes(layout, B, T, k);
    if (bytes <= budget && (best === null || k > best.k)) best = { k, bytes };
  }
  if (best !== null) return { fits: true, checkpointEvery: best.k, bytes: best.bytes };
  // Nothing fits: the largest batch that would, at the best interval for it.
  const kBest = Math.max(1, Math.round(Math.sqrt(T)));
  const fixed = tfjsTrainBytes(layout, 0, T, kBest);
  const perSeq = tfjsTrainBytes(layout, 1, T, kBest) - fixed;
  return {
    fits: false,
    bytes: whole,
    largestBatch: Math.max(0, Math.floor((budget - fixed) / perSeq)),
  };
}

/**
 * Bytes a step may use by default: 85 % of the wasm heap; elsewhere half the machine's
 * memory, and no more than 80 % of what is available now (machines are shared).
 */
function defaultBudget(backend: TfjsBackend): number {
  if (backend === "wasm") return WASM_MEMORY_BYTES * 0.85;
  const m = Deno.systemMemoryInfo();
  return Math.min(m.total * 0.5, m.available * 0.8);
}

const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;

/** Tuning of {@linkcode createTfjsEngine}, for benchmarks and tests; defaults suit users. */
export interface TfjsTuning {
  /**
   * Bytes one training step may use. Default: 85 % of the 4 GiB heap on wasm; on the
   * other backends half the machine's memory, at most 80 % of what is available.
   */
  readonly memoryBudgetBytes?: number;
  /**
   * Force gradient checkpointing every k steps (see `models/tfjs.ts`), or null to force
   * one tape. Default: one tape if it fits in the budget, else the longest interval that
   * fits.
   */
  readonly checkpointEvery?: number | null;
}

/**
 * Creates the tfjs engine on a backend.
 *
 * @param opts model, layout, shapes, optimizer
 * @param backend "cpu", "wasm" or "tensorflow"
 * @param tuning memory budget and checkpointing overrides (see {@linkcode TfjsTuning})
 * @returns the engine, parameters zero until {@linkcode Engine.setParams}
 * @throws Error when the backend is unavailable, or when a training step would not fit
 *   in the memory budget even with checkpointing every step (the message says which
 *   engine or batch size to use instead)
 * @example
 * ```ts
 * import { adamConfig } from "../../../models/adam.ts";
 * import { initParams, paramLayout } from "../../../models/classifier.ts";
 * import { createTfjsEngine } from "./engine.ts";
 * const model = { arch: "rnn", vocabSize: 50, embedDim: 4, hiddenSize: 3, layers: 2 } as const;
 * const layout = paramLayout(model);
 * const engine = await createTfjsEngine({
 *   model, layout, maxLen: 6, batchSize: 2, optimizer: adamConfig(1e-3), gradClip: null,
 *   threads: null,
 * }, "cpu");
 * engine.setParams(initParams(layout, 1));
 * const ids = new Int32Array(12).fill(3);
 * console.log(await engine.predict(ids, 2));
 * engine.dispose();
 * ```
 */
export async function createTfjsEngine(
  opts: EngineOptions,
  backend: TfjsBackend,
  tuning: TfjsTuning = {},
): Promise<Engine> {
  const a = await initBackend(backend);
  const name = `tfjs-${backend}`;
  if (!a.ok) throw new Error(`Cannot use engine ${name}: ${a.reason}`);
  const budget = tuning.memoryBudgetBytes ?? defaultBudget(backend);
  const plan = planMemory(opts.layout, opts.batchSize, opts.maxLen, budget);
  if (!plan.fits) {
    const { arch, layers: L, hiddenSize: H } = opts.model;
    const where = backend === "wasm"
      ? `the wasm backend can use ${gib(budget)} of its 4 GiB heap`
      : `the budget is ${gib(budget)} (half of this machine's memory, at most 80 % of ` +
        `what is available now)`;
    throw new Error(
      `Cannot train ${arch} (${L} × ${H}, batch ${opts.batchSize}, maxLen ${opts.maxLen}) ` +
        `on engine ${name}: one step needs an estimated ${gib(plan.bytes)} even with ` +
        `gradient checkpointing, and ${where}; use --engine native` +
        (backend === "wasm" ? " or tfjs-cpu" : "") +
        (plan.largestBatch > 0 ? `, or a batch size of at most ${plan.largestBatch}` : ""),
    );
  }
  const checkpointEvery = tuning.checkpointEvery !== undefined
    ? tuning.checkpointEvery
    : plan.checkpointEvery;
  const memory = checkpointEvery === null
    ? `one autodiff tape, ~${gib(plan.bytes)} per step`
    : `gradient checkpointing every ${checkpointEvery} steps, ~${
      gib(tfjsTrainBytes(opts.layout, opts.batchSize, opts.maxLen, checkpointEvery))
    } per step`;
  return new TfjsEngine(opts, backend, name, `${a.detail}; ${memory}`, checkpointEvery);
}

class TfjsEngine implements Engine {
  readonly name: string;
  readonly detail: string;
  readonly #backend: TfjsBackend;
  readonly #opts: EngineOptions;
  readonly #layout: ParamLayout;
  readonly #params: tf.Variable[];
  readonly #m: tf.Variable[];
  readonly #v: tf.Variable[];
  readonly #checkpointEvery: number | null;
  #step = 0;
  #lr: number;
  #disposed = false;

  constructor(
    opts: EngineOptions,
    backend: TfjsBackend,
    name: string,
    detail: string,
    checkpointEvery: number | null,
  ) {
    this.#opts = opts;
    this.#checkpointEvery = checkpointEvery;
    this.#layout = opts.layout;
    this.#backend = backend;
    this.name = name;
    this.detail = detail;
    this.#lr = opts.optimizer.lr;
    activate(backend);
    // A variable shares its initial tensor's data; tidy disposes the initial tensor.
    const zeros = (trainable: boolean) =>
      tf.tidy(() =>
        this.#layout.tensors.map((t) => tf.variable(tf.zeros([...t.shape]), trainable))
      );
    this.#params = zeros(true);
    this.#m = zeros(false);
    this.#v = zeros(false);
  }

  #enter(): void {
    if (this.#disposed) throw new Error(`Cannot use engine ${this.name}: it was disposed`);
    activate(this.#backend);
  }

  #assignFlat(vars: tf.Variable[], flat: ArrayLike<number>, what: string): void {
    if (flat.length !== this.#layout.total) {
      throw new RangeError(
        `Cannot set ${what} of engine ${this.name}: got ${flat.length} values, the layout ` +
          `has ${this.#layout.total}`,
      );
    }
    const f32 = flat instanceof Float32Array ? flat : Float32Array.from(flat);
    tf.tidy(() => {
      this.#layout.tensors.forEach((t, i) => {
        vars[i]!.assign(tf.tensor(f32.slice(t.offset, t.offset + t.size), [...t.shape]));
      });
    });
  }

  #readFlat(vars: readonly tf.Tensor[]): Float32Array {
    const out = new Float32Array(this.#layout.total);
    this.#layout.tensors.forEach((t, i) => out.set(vars[i]!.dataSync() as Float32Array, t.offset));
    return out;
  }

  setParams(params: Float64Array | Float32Array): void {
    this.#enter();
    this.#assignFlat(this.#params, params, "parameters");
    this.#resetOptimizer();
  }

  getParams(): Float32Array {
    this.#enter();
    return this.#readFlat(this.#params);
  }

  #resetOptimizer(): void {
    tf.tidy(() => {
      for (const v of [...this.#m, ...this.#v]) v.assign(tf.zerosLike(v));
    });
    this.#step = 0;
  }

  getOptimizerState(): OptimizerState {
    this.#enter();
    return { m: this.#readFlat(this.#m), v: this.#readFlat(this.#v), step: this.#step };
  }

  setOptimizerState(state: OptimizerState): void {
    this.#enter();
    if (!(Number.isInteger(state.step) && state.step >= 0)) {
      throw new RangeError(`Cannot set the optimizer state: step ${state.step} is invalid`);
    }
    this.#assignFlat(this.#m, state.m, "Adam's first moments");
    this.#assignFlat(this.#v, state.v, "Adam's second moments");
    this.#step = state.step;
  }

  setLearningRate(lr: number): void {
    if (!(lr >= 0 && Number.isFinite(lr))) {
      throw new RangeError(`Cannot set the learning rate to ${lr}: it must be finite and ≥ 0`);
    }
    this.#lr = lr;
  }

  #checkBatch(ids: Int32Array, size: number): void {
    const T = this.#opts.maxLen;
    if (!(Number.isInteger(size) && size > 0 && size <= this.#opts.batchSize)) {
      throw new RangeError(
        `Cannot run a batch of ${size} on engine ${this.name}: the size must be in ` +
          `[1, ${this.#opts.batchSize}] (the configured batch size)`,
      );
    }
    if (ids.length < size * T) {
      throw new RangeError(
        `Cannot run a batch on engine ${this.name}: ids has ${ids.length} values, want ` +
          `size × maxLen = ${size * T}`,
      );
    }
    const V = this.#opts.model.vocabSize;
    for (let i = 0; i < size * T; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < V)) {
        throw new RangeError(
          `Cannot run a batch on engine ${this.name}: token id ${id} is outside [0, ${V})`,
        );
      }
    }
  }

  /** Loss, logits and gradients as tensors; the caller disposes them (inside a tidy). */
  #lossAndGrad(batch: Batch) {
    this.#checkBatch(batch.ids, batch.size);
    return tfjsLossAndGrad(
      this.#layout,
      this.#params,
      this.#params[0]!.dataSync() as Float32Array,
      batch.ids,
      batch.labels.subarray(0, batch.size),
      this.#opts.maxLen,
      { checkpointEvery: this.#checkpointEvery },
    );
  }

  lossAndGrad(batch: Batch): Promise<{ loss: number; grad: Float32Array }> {
    this.#enter();
    return Promise.resolve(tf.tidy(() => {
      const r = this.#lossAndGrad(batch);
      const grad = new Float32Array(this.#layout.total);
      this.#layout.tensors.forEach((t, i) => grad.set(r.grads[i]!.dataSync(), t.offset));
      return { loss: r.loss.dataSync()[0]!, grad };
    }));
  }

  trainStep(batch: Batch): Promise<Float32Array> {
    this.#enter();
    const logits = tf.tidy(() => {
      const r = this.#lossAndGrad(batch);
      const grads = this.#opts.gradClip === null
        ? r.grads
        : clipByGlobalNorm(r.grads, this.#opts.gradClip);
      this.#adam(grads);
      return r.logits.dataSync().slice() as Float32Array;
    });
    return Promise.resolve(logits);
  }

  /** One Adam step over every tensor, as `models/adam.ts` (torch.optim.Adam) computes it. */
  #adam(grads: readonly tf.Tensor[]): void {
    const { beta1: b1, beta2: b2, eps } = this.#opts.optimizer;
    this.#step++;
    const bc1 = 1 - b1 ** this.#step, bc2 = 1 - b2 ** this.#step;
    const stepSize = this.#lr / bc1, sqrtBc2 = Math.sqrt(bc2);
    tf.tidy(() => {
      const s = (x: number) => tf.scalar(x);
      const [B1, nB1, B2, nB2, S, SQ, EPS] = [b1, 1 - b1, b2, 1 - b2, stepSize, sqrtBc2, eps]
        .map(s);
      grads.forEach((g, i) => {
        const p = this.#params[i]!, mv = this.#m[i]!, vv = this.#v[i]!;
        // m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²
        const m = tf.add(tf.mul(B1!, mv), tf.mul(nB1!, g));
        const v = tf.add(tf.mul(B2!, vv), tf.mul(nB2!, tf.square(g)));
        // p ← p − (lr/bc1) · m / (√v / √bc2 + ε)
        const denom = tf.add(tf.div(tf.sqrt(v), SQ!), EPS!);
        p.assign(tf.sub(p, tf.div(tf.mul(S!, m), denom)));
        mv.assign(m);
        vv.assign(v);
      });
    });
  }

  predict(ids: Int32Array, size: number): Promise<Float32Array> {
    this.#enter();
    this.#checkBatch(ids, size);
    const T = this.#opts.maxLen, E = this.#opts.model.embedDim;
    return Promise.resolve(tf.tidy(() => {
      const emb = this.#params[0]!.dataSync() as Float32Array;
      const xs = embedSteps(emb, E, timeMajor(ids, size, T), size, T);
      const z = tfjsLogits(this.#layout, this.#params, xs);
      return z.dataSync().slice() as Float32Array;
    }));
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const v of [...this.#params, ...this.#m, ...this.#v]) v.dispose();
  }
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`, as
 * `torch.nn.utils.clip_grad_norm_` does: `g ← g · min(1, maxNorm / (‖g‖ + 1e-6))`.
 *
 * @param grads gradient tensors
 * @param maxNorm the largest allowed global norm
 * @returns the scaled gradients (new tensors)
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
  const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)));
  return grads.map((g) => tf.mul(g, coef));
}
