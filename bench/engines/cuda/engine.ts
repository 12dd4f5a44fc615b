/**
 * The CUDA engine: CUDA generated from the cell IR (`models/codegen/cuda.ts`, sharing the
 * op table, stash layout and gradient flush of the C target), compiled for the GPU's own
 * architecture by nvcc (else NVRTC) and cached like the native engine's libraries
 * (`compiler.ts`), loaded and launched through the CUDA driver API (`libcuda.so.1`) with
 * `Deno.dlopen` (`driver.ts`). No CUDA runtime and no host shim: the kernels' argument
 * lists come from one table (`CUDA_KERNELS`) that also generates their signatures
 * (`pack_args.ts`). This file holds `createCudaEngine` and the engine; whether it can run
 * here is `probe.ts`, the launch geometry `launch_plan.ts`, the token sort
 * `token_sorter.ts`.
 *
 * Everything of a training step runs on the device: the layer-0 input projection, one
 * fused forward + loss + backward kernel (a warp per sequence, a lane per layer, in a
 * wavefront), fixed-order reductions of the parameter gradients (bitwise reproducible,
 * no float atomics), the dense embedding gradient, global-norm clipping and Adam. Per
 * step the host uploads the labels, the batch's row indices into the split (the split
 * itself is uploaded ONCE, when the batch says where its rows come from, see
 * `Batch.source`; otherwise the batch's ids) and the (b, t) positions sorted by token id
 * for the embedding gradient, which the host sorts while the GPU runs the recurrence.
 *
 * Float32 compute, float64 loss. Parameters, gradient and Adam's moments live on the
 * device; `getParams`/`getOptimizerState` copy them back.
 *
 * @module
 */
import {
  CUDA_KERNELS,
  type CudaLayout,
  cudaLayoutFor,
  DW0_ROWS,
  generateCuda,
  type KernelArgs,
  type KernelName,
  NORM_BLOCKS,
  WARP,
} from "../../../models/codegen/cuda.ts";
import type { Batch, BatchSource, Engine, EngineOptions, OptimizerState } from "../engine.ts";
import { CudaContext, CudaError, formatBytes, type LaunchConfig } from "./driver.ts";
import type { BuiltModule } from "./compiler.ts";
import { type CudaTuning, describeDevice, misfit, type Probe, probeCached } from "./probe.ts";
import { launchPlan } from "./launch_plan.ts";
import { TokenSorter } from "./token_sorter.ts";
import { moduleLoadHint } from "./module_load_hint.ts";
import { packArgs } from "./pack_args.ts";

// One context per device and one loaded module per compiled file, for the process.
const CONTEXTS = new Map<string, CudaContext>();
const MODULES = new Map<string, Deno.PointerObject>();

/**
 * Creates the CUDA engine: generates and compiles (or finds in the cache) the kernels of
 * `opts.model`, loads them on device `device`, allocates every buffer for
 * `opts.batchSize` sequences of `opts.maxLen`.
 *
 * @param opts engine options (`threads` is ignored)
 * @param device the device ordinal (`--device`)
 * @param tuning code generation and cache overrides; the emulator for tests
 * @returns the engine
 * @throws Error "Cannot use engine cuda: …" naming what is missing (driver, device, compiler)
 * @example
 * ```ts ignore
 * import { createCudaEngine } from "./engine.ts";
 * import { adamConfig } from "../../../models/adam.ts";
 * import { initParams, paramLayout } from "../../../models/classifier.ts";
 * const model = { arch: "lstm" as const, vocabSize: 50, embedDim: 8, hiddenSize: 4, layers: 2 };
 * const layout = paramLayout(model);
 * const engine = await createCudaEngine({
 *   model, layout, maxLen: 10, batchSize: 16, optimizer: adamConfig(1e-3), gradClip: null,
 *   threads: null,
 * }, 0);
 * engine.setParams(initParams(layout, 1));
 * engine.dispose();
 * ```
 */
export async function createCudaEngine(
  opts: EngineOptions,
  device: number,
  tuning: CudaTuning = {},
): Promise<Engine> {
  const p = await probeCached(device, tuning);
  if (!p.ok) throw new Error(`Cannot use engine cuda: ${p.reason}`);
  const { model } = opts;
  const wpb = tuning.warpsPerBlock ?? 4;
  const lay = cudaLayoutFor(model, wpb);
  const tooBig = misfit(model, lay, p.device);
  if (tooBig !== null) throw new Error(`Cannot use engine cuda: ${tooBig}`);
  const label = `${model.arch} E=${model.embedDim} H=${model.hiddenSize} L=${model.layers}`;
  const built = await p.toolchain.build(generateCuda(model, wpb), label);
  const ctxKey = `${p.driver.path}#${device}`;
  let ctx = CONTEXTS.get(ctxKey);
  if (ctx === undefined) {
    ctx = new CudaContext(p.driver, device);
    CONTEXTS.set(ctxKey, ctx);
  }
  ctx.makeCurrent();
  let module = MODULES.get(`${ctxKey}#${built.path}`);
  if (module === undefined) {
    try {
      module = ctx.loadModule(built.image, `the ${label} kernels (${built.path})`);
    } catch (e) {
      if (!(e instanceof CudaError)) throw e;
      const hint = moduleLoadHint(e.codeName, p.driver.driverVersion(), p.toolchain.description);
      throw hint ? new CudaError(e.call, e.code, e.codeName, `${e.message}. ${hint}`) : e;
    }
    MODULES.set(`${ctxKey}#${built.path}`, module);
  }
  return new CudaEngine(opts, ctx, module, lay, p, built);
}

/** Whether a batch of `size` sequences is read from its (device-resident) split by row. */
function fromSplit(source: BatchSource | undefined, size: number): source is BatchSource {
  return source !== undefined && source.rows.length >= size;
}

type Fn = Deno.PointerObject;

class CudaEngine implements Engine {
  readonly name = "cuda";
  readonly detail: string;
  readonly #opts: EngineOptions;
  readonly #ctx: CudaContext;
  readonly #lay: CudaLayout;
  readonly #fns: Record<KernelName, Fn>;
  readonly #P: number;
  readonly #V: number;
  readonly #sorter: TokenSorter;
  readonly #buf: Record<string, bigint> = {};
  #resident: { split: BatchSource["split"]; ptr: bigint }[] = [];
  #step = 0;
  #lr: number;
  #disposed = false;

  constructor(
    opts: EngineOptions,
    ctx: CudaContext,
    module: Fn,
    lay: CudaLayout,
    p: Extract<Probe, { ok: true }>,
    built: BuiltModule,
  ) {
    const { model, layout } = opts;
    if (layout.config !== model && JSON.stringify(layout.config) !== JSON.stringify(model)) {
      throw new Error("Cannot create engine cuda: opts.layout was computed for another model");
    }
    const expected = model.vocabSize * model.embedDim + lay.NREST;
    if (expected !== layout.total) {
      throw new Error(
        `Internal error: the CUDA layout has ${expected} parameters, the model layout ${layout.total}`,
      );
    }
    if (
      layout.total >= 2 ** 31 || opts.batchSize * opts.maxLen * Math.max(lay.E, lay.PH) >= 2 ** 31
    ) {
      throw new Error(
        `Cannot create engine cuda: ${layout.total} parameters or a batch of ` +
          `${opts.batchSize} × ${opts.maxLen} is too large for 32-bit indexing`,
      );
    }
    this.#opts = opts;
    this.#ctx = ctx;
    this.#lay = lay;
    this.#P = layout.total;
    this.#V = model.vocabSize;
    this.#lr = opts.optimizer.lr;
    const fns = {} as Record<KernelName, Fn>;
    for (const k of Object.keys(CUDA_KERNELS) as KernelName[]) fns[k] = ctx.getFunction(module, k);
    if (lay.smemBytes > 48 * 1024) {
      ctx.setMaxDynamicShared(fns.rb_forward, "rb_forward", lay.smemBytes);
      ctx.setMaxDynamicShared(fns.rb_train, "rb_train", lay.smemBytes);
    }
    this.#fns = fns;
    const maxB = opts.batchSize, T = opts.maxLen, N = maxB * T, P = this.#P;
    this.#sorter = new TokenSorter(this.#V, N);
    const NW = T + lay.L - 1;
    const sizes: [string, number, string][] = [
      ["params", P * 4, "the parameters"],
      ["grad", P * 4, "the gradient"],
      ["m", P * 4, "Adam's first moment"],
      ["v", P * 4, "Adam's second moment"],
      ["ids", N * 4, "the batch's token ids"],
      ["rowsIdentity", maxB * 4, "the batch's row indices"],
      ["rows", maxB * 4, "the batch's row indices"],
      ["labels", maxB * 4, "the labels"],
      ["logits", maxB * 4, "the logits"],
      ["loss", maxB * 8, "the per-sequence loss"],
      ["pre0", N * lay.PH * 4, "the hoisted layer-0 projections"],
      ["gpre0", N * lay.PH * 4, "their gradient"],
      ["tape", maxB * NW * lay.SH * WARP * 4, "the tape of states"],
      ["partial", maxB * lay.PN * WARP * 4, "per-sequence parameter gradients"],
      ["phead", maxB * (lay.H + 1) * 4, "per-sequence head gradients"],
      ["dxemb", N * lay.E * 4, "the embedded-input gradient"],
      ["segSum", N * lay.E * 4, "the embedding-gradient run sums"],
      ["index", (4 * N + 2) * 4, "the token sort index"],
      ["dw0part", Math.ceil(N / DW0_ROWS) * lay.NO * 4, "the layer-0 input-weight partials"],
      ["normPart", NORM_BLOCKS * 8, "the gradient-norm partials"],
      ["norm", 8, "the gradient norm"],
      ["scale", 4, "the clipping scale"],
    ];
    try {
      for (const [key, bytes, what] of sizes) this.#buf[key] = ctx.alloc(bytes, what);
    } catch (e) {
      this.#freeAll();
      const total = sizes.reduce((s, x) => s + x[1], 0);
      if (e instanceof CudaError && e.codeName === "CUDA_ERROR_OUT_OF_MEMORY") {
        throw new Error(
          `Cannot create engine cuda: ${formatBytes(total)} of device memory needed for batch ` +
            `${maxB} × ${T} (${e.message})`,
        );
      }
      throw e;
    }
    ctx.htod(
      this.#buf.rowsIdentity!,
      Int32Array.from({ length: maxB }, (_, i) => i),
      "row indices",
    );
    ctx.memset32(this.#buf.scale!, 0x3f800000, 1, "the clipping scale"); // 1.0f
    ctx.memset32(this.#buf.m!, 0, P, "Adam's first moment");
    ctx.memset32(this.#buf.v!, 0, P, "Adam's second moment");
    const d = p.device;
    this.detail = `generated CUDA on ${describeDevice(d)}; ${p.toolchain.description} for ` +
      `${p.toolchain.arch}; a warp per sequence, a lane per layer, ${lay.warpsPerBlock} ` +
      `sequences per block, ${formatBytes(lay.smemBytes)} shared memory; ${
        built.cached ? "cached" : `compiled in ${built.compileSeconds.toFixed(1)} s`
      } (${built.path})`;
  }

  #freeAll(): void {
    for (const ptr of Object.values(this.#buf)) this.#ctx.free(ptr);
    for (const r of this.#resident) this.#ctx.free(r.ptr);
    this.#resident = [];
  }

  #b(key: string): bigint {
    const p = this.#buf[key];
    if (p === undefined) throw new Error(`Internal error: no device buffer "${key}"`);
    return p;
  }

  #live(): void {
    if (this.#disposed) throw new Error("Cannot use engine cuda: it was disposed");
    this.#ctx.makeCurrent();
  }

  #launch<K extends KernelName>(k: K, cfg: LaunchConfig, args: KernelArgs<K>): void {
    this.#ctx.launch(this.#fns[k], k, cfg, packArgs(k, args as Record<string, number | bigint>));
  }

  #checkSize(size: number): void {
    const { batchSize } = this.#opts;
    if (!Number.isInteger(size) || size < 1 || size > batchSize) {
      throw new RangeError(`Batch size ${size} is outside [1, ${batchSize}]`);
    }
  }

  /** The split on the device (uploaded once, checked once); at most two kept. */
  #residentSplit(split: BatchSource["split"]): bigint {
    const known = this.#resident.find((r) => r.split === split);
    if (known) return known.ptr;
    const T = this.#opts.maxLen, V = this.#V;
    if (split.ids.length !== split.n * T) {
      throw new RangeError(
        `The split's ids have ${split.ids.length} entries, want n × T = ${split.n * T}`,
      );
    }
    for (let i = 0; i < split.ids.length; i++) {
      const id = split.ids[i]!;
      if (!(id >= 0 && id < V)) throw new RangeError(`Token id ${id} is outside [0, ${V})`);
    }
    if (this.#resident.length >= 2) this.#ctx.free(this.#resident.shift()!.ptr);
    const ptr = this.#ctx.alloc(split.ids.byteLength, `a split of ${split.n} sequences`);
    this.#ctx.htod(ptr, split.ids, `a split of ${split.n} sequences`);
    this.#resident.push({ split, ptr });
    return ptr;
  }

  /** Puts a batch's ids where the kernels read them: device ids and a row index per sequence. */
  #stage(
    ids: Int32Array | null,
    size: number,
    source: BatchSource | undefined,
  ): { ids: bigint; rows: bigint } {
    const T = this.#opts.maxLen;
    if (fromSplit(source, size)) {
      const ptr = this.#residentSplit(source.split);
      const rows = new Int32Array(size);
      for (let b = 0; b < size; b++) {
        const r = source.rows[b]!;
        if (r >= source.split.n) {
          throw new RangeError(`Row ${r} is outside a split of ${source.split.n} sequences`);
        }
        rows[b] = r;
      }
      this.#ctx.htod(this.#b("rows"), rows, "the batch's row indices");
      return { ids: ptr, rows: this.#b("rows") };
    }
    if (ids === null) throw new Error("Internal error: a batch with neither ids nor a split");
    if (ids.length !== size * T) {
      throw new RangeError(`ids has ${ids.length} elements, want size*T = ${size * T}`);
    }
    this.#ctx.htod(this.#b("ids"), ids, "the batch's token ids");
    return { ids: this.#b("ids"), rows: this.#b("rowsIdentity") };
  }

  /** Forward, loss and the whole gradient (into `grad`) of a batch. */
  #lossAndGradient(batch: Batch): void {
    const B = batch.size, T = this.#opts.maxLen, N = B * T, lay = this.#lay;
    this.#checkSize(B);
    if (batch.labels.length < B) {
      throw new RangeError(`labels has ${batch.labels.length} elements, want ${B}`);
    }
    // A batch of a resident split is read by rows, on the device and for the token sort, so
    // its gathered `ids` are never needed; its ids were checked when the split was uploaded,
    // and its count runs below while the GPU runs the recurrence. Any other batch is checked
    // before anything is launched.
    const source = fromSplit(batch.source, B) ? batch.source : undefined;
    const ids = source ? source.split.ids : batch.ids;
    const from = source ? { rows: source.rows, T } : undefined;
    if (!source) {
      if (ids.length !== N) {
        throw new RangeError(`ids has ${ids.length} elements, want size*T = ${N}`);
      }
      this.#sorter.count(ids, N); // checks every id
    }
    const staged = this.#stage(source ? null : ids, B, source);
    this.#ctx.htod(this.#b("labels"), batch.labels.subarray(0, B), "the labels");
    const plan = launchPlan(lay, B, T, this.#P);
    const emb = this.#b("params"), grad = this.#b("grad");
    const restOff = BigInt(this.#V * lay.E * 4);
    const rest = emb + restOff, grest = grad + restOff;
    this.#launch("rb_pre0", plan.pre0, {
      emb,
      rest,
      ids: staged.ids,
      rows: staged.rows,
      B,
      T,
      pre0: this.#b("pre0"),
    });
    this.#launch("rb_train", plan.train, {
      rest,
      pre0: this.#b("pre0"),
      labels: this.#b("labels"),
      B,
      T,
      tape: this.#b("tape"),
      gpre0: this.#b("gpre0"),
      partial: this.#b("partial"),
      phead: this.#b("phead"),
      logits: this.#b("logits"),
      loss: this.#b("loss"),
    });
    // While the GPU runs the recurrence: sort the positions by token for the embedding.
    if (source) this.#sorter.count(ids, N, from);
    const ix = this.#sorter.finish(ids);
    const index = this.#b("index");
    this.#ctx.htod(index, this.#sorter.buffer.subarray(0, ix.length), "the token sort index");
    this.#launch("rb_reduce", plan.reduce, {
      partial: this.#b("partial"),
      phead: this.#b("phead"),
      B,
      grest,
    });
    this.#launch("rb_dx0", plan.dx0, { rest, gpre0: this.#b("gpre0"), N, dxemb: this.#b("dxemb") });
    this.#launch("rb_dw0", plan.dw0, {
      emb,
      ids: staged.ids,
      rows: staged.rows,
      gpre0: this.#b("gpre0"),
      B,
      T,
      part: this.#b("dw0part"),
    });
    this.#launch("rb_dw0_reduce", plan.dw0Reduce, {
      part: this.#b("dw0part"),
      nchunks: plan.dw0.grid,
      grest,
    });
    this.#ctx.memset32(grad, 0, this.#V * lay.E, "the embedding gradient");
    const at = (k: number) => index + BigInt(4 * k);
    this.#launch("rb_emb_seg", plan.embSeg(ix.nseg), {
      dxemb: this.#b("dxemb"),
      order: index,
      segStart: at(ix.segStart),
      nseg: ix.nseg,
      segSum: this.#b("segSum"),
    });
    this.#launch("rb_emb_rows", plan.embRows(ix.nu), {
      segSum: this.#b("segSum"),
      uniqRow: at(ix.uniqRow),
      uniqSeg: at(ix.uniqSeg),
      nu: ix.nu,
      gemb: grad,
    });
  }

  setParams(params: Float64Array | Float32Array): void {
    this.#live();
    if (params.length !== this.#P) {
      throw new RangeError(`params has ${params.length} elements, want ${this.#P}`);
    }
    const f = params instanceof Float32Array ? params : Float32Array.from(params);
    this.#ctx.htod(this.#b("params"), f, "the parameters");
    this.#ctx.memset32(this.#b("m"), 0, this.#P, "Adam's first moment");
    this.#ctx.memset32(this.#b("v"), 0, this.#P, "Adam's second moment");
    this.#step = 0;
  }

  getParams(): Float32Array {
    this.#live();
    const out = new Float32Array(this.#P);
    this.#ctx.dtoh(out, this.#b("params"), "the parameters");
    return out;
  }

  getOptimizerState(): OptimizerState {
    this.#live();
    const m = new Float32Array(this.#P), v = new Float32Array(this.#P);
    this.#ctx.dtoh(m, this.#b("m"), "Adam's first moment");
    this.#ctx.dtoh(v, this.#b("v"), "Adam's second moment");
    return { m, v, step: this.#step };
  }

  setOptimizerState(state: OptimizerState): void {
    this.#live();
    if (state.m.length !== this.#P || state.v.length !== this.#P) {
      throw new RangeError(`optimizer state has the wrong length (want ${this.#P})`);
    }
    this.#ctx.htod(this.#b("m"), state.m, "Adam's first moment");
    this.#ctx.htod(this.#b("v"), state.v, "Adam's second moment");
    this.#step = state.step;
  }

  setLearningRate(lr: number): void {
    this.#lr = lr;
  }

  trainStep(batch: Batch): Promise<Float32Array> {
    try {
      this.#live();
      this.#lossAndGradient(batch);
      this.#step++;
      const o = this.#opts.optimizer, P = this.#P;
      const plan = launchPlan(this.#lay, batch.size, this.#opts.maxLen, P);
      const clip = this.#opts.gradClip;
      if (clip !== null) {
        this.#launch("rb_sqnorm", plan.sqnorm, {
          g: this.#b("grad"),
          n: P,
          part: this.#b("normPart"),
        });
        this.#launch("rb_norm_final", plan.normFinal, {
          part: this.#b("normPart"),
          nparts: NORM_BLOCKS,
          clip,
          scale: this.#b("scale"),
          norm: this.#b("norm"),
        });
      }
      this.#launch("rb_adam", plan.adam, {
        p: this.#b("params"),
        g: this.#b("grad"),
        m: this.#b("m"),
        v: this.#b("v"),
        n: P,
        scale: this.#b("scale"),
        beta1: o.beta1,
        beta2: o.beta2,
        omb1: 1 - o.beta1,
        omb2: 1 - o.beta2,
        eps: o.eps,
        stepSize: this.#lr / (1 - o.beta1 ** this.#step),
        sqrtBc2: Math.sqrt(1 - o.beta2 ** this.#step),
      });
      const logits = new Float32Array(batch.size);
      this.#ctx.dtoh(logits, this.#b("logits"), "the logits");
      return Promise.resolve(logits);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  predict(ids: Int32Array, size: number, source?: BatchSource): Promise<Float32Array> {
    return this.#forward(fromSplit(source, size) ? null : ids, size, source);
  }

  predictRows(source: BatchSource, size: number): Promise<Float32Array> {
    if (source.rows.length < size) {
      return Promise.reject(
        new RangeError(`predictRows: ${source.rows.length} rows for a batch of ${size}`),
      );
    }
    return this.#forward(null, size, source);
  }

  /** Forward only: from `ids` (checked here), or, when null, from `source` by rows. */
  #forward(ids: Int32Array | null, size: number, source?: BatchSource): Promise<Float32Array> {
    try {
      this.#live();
      this.#checkSize(size);
      const T = this.#opts.maxLen;
      const V = this.#V;
      if (ids) {
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i]!;
          if (!(id >= 0 && id < V)) throw new RangeError(`Token id ${id} is outside [0, ${V})`);
        }
      }
      const staged = this.#stage(ids, size, source);
      const plan = launchPlan(this.#lay, size, T, this.#P);
      const emb = this.#b("params");
      const rest = emb + BigInt(this.#V * this.#lay.E * 4);
      this.#launch("rb_pre0", plan.pre0, {
        emb,
        rest,
        ids: staged.ids,
        rows: staged.rows,
        B: size,
        T,
        pre0: this.#b("pre0"),
      });
      this.#launch("rb_forward", plan.forward, {
        rest,
        pre0: this.#b("pre0"),
        B: size,
        T,
        logits: this.#b("logits"),
      });
      const logits = new Float32Array(size);
      this.#ctx.dtoh(logits, this.#b("logits"), "the logits");
      return Promise.resolve(logits);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  lossAndGrad(batch: Batch): Promise<{ loss: number; grad: Float32Array }> {
    try {
      this.#live();
      this.#lossAndGradient(batch);
      const losses = new Float64Array(batch.size);
      this.#ctx.dtoh(losses, this.#b("loss"), "the per-sequence loss");
      const grad = new Float32Array(this.#P);
      this.#ctx.dtoh(grad, this.#b("grad"), "the gradient");
      let sum = 0;
      for (let b = 0; b < batch.size; b++) sum += losses[b]!;
      return Promise.resolve({ loss: sum / batch.size, grad });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      this.#ctx.makeCurrent();
      this.#ctx.synchronize("finish the engine's work before freeing its memory");
    } catch { /* freeing anyway */ }
    this.#freeAll();
  }
}
