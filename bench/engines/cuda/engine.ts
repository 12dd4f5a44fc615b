/**
 * The CUDA engine: CUDA generated from the cell IR (`models/codegen/cuda.ts`, sharing the
 * op table, stash layout and gradient flush of the C target), compiled for the GPU's own
 * architecture by nvcc (else NVRTC), cached like the native engine's libraries, loaded
 * and launched through the CUDA driver API (`libcuda.so.1`) with `Deno.dlopen`
 * (`cuda_driver.ts`). No CUDA runtime and no host shim: the kernels' argument lists come
 * from one table (`CUDA_KERNELS`) that also generates their signatures.
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
import type { Arch } from "../../../models/cells.ts";
import {
  CUDA_KERNELS,
  type CudaLayout,
  cudaLayoutFor,
  cudaShapeProblem,
  DW0_ROWS,
  EMB_SEGMENT,
  FLAT_BLOCK,
  generateCuda,
  type KernelArgs,
  type KernelName,
  kernelParams,
  NORM_BLOCKS,
  WARP,
} from "../../../models/codegen/cuda.ts";
import type {
  Availability,
  Batch,
  BatchSource,
  Engine,
  EngineOptions,
  OptimizerState,
} from "../engine.ts";
import {
  CudaContext,
  type CudaDriver,
  CudaError,
  type DeviceInfo,
  formatBytes,
  type LaunchConfig,
  openDriver,
} from "./driver.ts";
import {
  type BuiltModule,
  defaultCudaCacheDir,
  emulatorToolchain,
  type KernelToolchain,
  nvccToolchain,
  nvccVersion,
  nvrtcCandidates,
  nvrtcToolchain,
  openNvrtc,
} from "./compiler.ts";
import type { CudaEmulator } from "./emulator/emulator.ts";

/** Code generation, cache and test overrides of the CUDA engine. */
export interface CudaTuning {
  /** Sequences (warps) per block of the recurrent kernels. @default 4 */
  readonly warpsPerBlock?: number;
  /** Cache directory of compiled kernels. @default defaultCudaCacheDir() */
  readonly cacheDir?: string;
  /**
   * TESTS ONLY: run on the CPU emulator (`cuda_emulator.ts`) instead of a GPU: its fake
   * driver replaces `libcuda.so.1` and g++ replaces nvcc.
   */
  readonly emulator?: CudaEmulator;
}

/** What the probe found: a device and a compiler, or everything that is missing. */
type Probe =
  | {
    readonly ok: true;
    readonly driver: CudaDriver;
    readonly device: DeviceInfo;
    readonly toolchain: KernelToolchain;
  }
  | { readonly ok: false; readonly reason: string };

const PROBES = new Map<string, Promise<Probe>>();

async function probe(ordinal: number, tuning: CudaTuning): Promise<Probe> {
  const cacheDir = tuning.cacheDir ?? defaultCudaCacheDir();
  const needs: [Deno.PermissionDescriptor, string][] = [
    [{ name: "ffi" }, "--allow-ffi"],
    [{ name: "run" }, "--allow-run"],
    [{ name: "write", path: cacheDir }, `--allow-write=${cacheDir}`],
  ];
  for (const [desc, flag] of needs) {
    if ((await Deno.permissions.query(desc)).state !== "granted") {
      return { ok: false, reason: `the CUDA engine needs ${flag} (or -A)` };
    }
  }
  const missing: string[] = [];
  let driver: CudaDriver | null = null;
  let device: DeviceInfo | null = null;
  const opened = openDriver(tuning.emulator?.driverPath);
  if (!opened.ok) missing.push(opened.reason);
  else {
    driver = opened.driver;
    try {
      const count = driver.deviceCount();
      if (count === 0) missing.push("no CUDA device (the driver reports none)");
      else if (ordinal >= count) {
        missing.push(
          `no CUDA device ${ordinal} (the driver reports ${count}: use --device 0` +
            `${count > 1 ? `…${count - 1}` : ""})`,
        );
      } else device = driver.deviceInfo(ordinal);
    } catch (e) {
      if (!(e instanceof CudaError)) throw e;
      missing.push(
        e.codeName === "CUDA_ERROR_NO_DEVICE"
          ? "no CUDA device (cuInit: no CUDA-capable device is detected)"
          : `the NVIDIA driver does not work: ${e.message}`,
      );
    }
  }
  let toolchain: KernelToolchain | null = null;
  const arch = device?.arch ?? "sm_90";
  if (tuning.emulator) toolchain = emulatorToolchain(tuning.emulator.headerPath, cacheDir);
  else {
    const nvcc = await nvccVersion();
    if (nvcc !== null) toolchain = nvccToolchain(arch, nvcc, cacheDir);
    else if (openNvrtc() !== null) toolchain = nvrtcToolchain(arch, cacheDir);
    else {
      missing.push(
        `no CUDA compiler (nvcc is not on the PATH) and no NVRTC (${
          nvrtcCandidates().join(", ")
        } not found); ` +
          "install the CUDA toolkit or put nvcc on the PATH, or set RNNBENCH_LIBNVRTC to a " +
          "libnvrtc.so (PyTorch's CUDA wheels ship one under nvidia/cuda_nvrtc/lib)",
      );
    }
  }
  if (missing.length > 0 || driver === null || device === null || toolchain === null) {
    return { ok: false, reason: missing.join("; ") };
  }
  return { ok: true, driver, device, toolchain };
}

/**
 * The emulator named by `RNNBENCH_CUDA_EMULATOR=<dir>` (a directory `buildCudaEmulator`
 * wrote), for running tools such as `gpu_check.ts` end to end on the CPU in tests.
 */
function emulatorFromEnv(): CudaEmulator | undefined {
  const dir = Deno.env.get("RNNBENCH_CUDA_EMULATOR");
  if (!dir) return undefined;
  return {
    dir,
    driverPath: `${dir}/libcuda-emulator.so`,
    headerPath: `${dir}/rb_emulate.h`,
    checkedAgainstCudaH: false,
  };
}

function probeCached(ordinal: number, tuningIn: CudaTuning): Promise<Probe> {
  const fromEnv = tuningIn.emulator === undefined ? emulatorFromEnv() : undefined;
  const tuning: CudaTuning = fromEnv ? { ...tuningIn, emulator: fromEnv } : tuningIn;
  const key = JSON.stringify([ordinal, tuning.cacheDir ?? null, tuning.emulator ?? null]);
  let p = PROBES.get(key);
  if (p === undefined) {
    p = probe(ordinal, tuning);
    PROBES.set(key, p);
  }
  return p;
}

function describeDevice(d: DeviceInfo): string {
  return `${d.name} (${d.arch}, ${formatBytes(d.memoryBytes)}, ${d.smCount} SMs), ` +
    `driver CUDA ${d.driverCudaVersion}`;
}

/**
 * Whether the CUDA engine can run here: the NVIDIA driver (`libcuda.so.1`), the device
 * `--device N`, and a compiler (nvcc, else NVRTC). Probed once per process.
 *
 * @param device the device ordinal
 * @param tuning test overrides (the CPU emulator)
 * @returns ok with the GPU and compiler, or everything that is missing, e.g.
 *   "no NVIDIA driver (libcuda.so.1 not found)"
 */
export async function cudaAvailability(
  device: number,
  tuning: CudaTuning = {},
): Promise<Availability> {
  const p = await probeCached(device, tuning);
  if (!p.ok) return { ok: false, reason: p.reason };
  return {
    ok: true,
    detail: `CUDA on ${describeDevice(p.device)}, ${p.toolchain.description}`,
  };
}

/**
 * Why a model's kernels cannot run on device `device` although its shape lowers: every
 * layer's weights sit in one block's shared memory, and the device allows only so much.
 * @returns the reason, or null when it fits (or when the device is unavailable: then
 *   {@linkcode cudaAvailability} says why)
 */
export async function cudaFitProblem(
  model: {
    readonly arch: Arch;
    readonly embedDim: number;
    readonly hiddenSize: number;
    readonly layers: number;
  },
  device: number,
  tuning: CudaTuning = {},
): Promise<string | null> {
  const p = await probeCached(device, tuning);
  if (!p.ok || cudaShapeProblem(model) !== null) return null;
  const lay = cudaLayoutFor({ ...model, vocabSize: 1 }, tuning.warpsPerBlock ?? 4);
  return misfit(model, lay, p.device);
}

/** Why a layout's weights do not fit the device's shared memory per block, or null. */
function misfit(
  model: { readonly arch: Arch; readonly hiddenSize: number; readonly layers: number },
  lay: CudaLayout,
  device: DeviceInfo,
): string | null {
  if (lay.smemBytes <= device.maxSharedPerBlock) return null;
  return `the ${model.layers}-layer ${model.arch} weights (hidden ${model.hiddenSize}) need ` +
    `${formatBytes(lay.smemBytes)} of shared memory per block, ${device.name} allows ` +
    `${formatBytes(device.maxSharedPerBlock)}`;
}

// One context per device and one loaded module per compiled file, for the process.
const CONTEXTS = new Map<string, CudaContext>();
const MODULES = new Map<string, Deno.PointerObject>();

/** Launch geometry of every kernel for a batch of B sequences of T timesteps. */
export interface LaunchPlan {
  readonly pre0: LaunchConfig;
  readonly forward: LaunchConfig;
  readonly train: LaunchConfig;
  readonly reduce: LaunchConfig;
  readonly dx0: LaunchConfig;
  readonly dw0: LaunchConfig;
  readonly dw0Reduce: LaunchConfig;
  readonly sqnorm: LaunchConfig;
  readonly normFinal: LaunchConfig;
  readonly adam: LaunchConfig;
  /** For `rb_emb_seg` over `nseg` runs. */
  embSeg(nseg: number): LaunchConfig;
  /** For `rb_emb_rows` over `nu` distinct tokens. */
  embRows(nu: number): LaunchConfig;
}

const flat = (items: number): LaunchConfig => ({
  grid: Math.max(1, Math.ceil(items / FLAT_BLOCK)),
  block: FLAT_BLOCK,
  sharedBytes: 0,
});

/**
 * The launch geometry of every kernel (pure arithmetic, tested without a GPU).
 * @param lay the program's layout
 * @param B sequences
 * @param T timesteps
 * @param P parameters (Adam, norm)
 */
export function launchPlan(lay: CudaLayout, B: number, T: number, P: number): LaunchPlan {
  const N = B * T;
  const recurrent: LaunchConfig = {
    grid: Math.ceil(B / lay.warpsPerBlock),
    block: lay.warpsPerBlock * WARP,
    sharedBytes: lay.smemBytes,
  };
  return {
    pre0: flat(N),
    forward: recurrent,
    train: recurrent,
    reduce: flat(lay.PN * WARP + lay.H + 1),
    dx0: flat(N),
    dw0: { grid: Math.ceil(N / DW0_ROWS), block: FLAT_BLOCK, sharedBytes: 0 },
    dw0Reduce: flat(lay.NO),
    sqnorm: { grid: NORM_BLOCKS, block: FLAT_BLOCK, sharedBytes: 0 },
    normFinal: { grid: 1, block: WARP, sharedBytes: 0 },
    adam: flat(P),
    embSeg: (nseg) => flat(nseg * lay.E),
    embRows: (nu) => flat(nu * lay.E),
  };
}

/** Device memory of the engine's buffers, in bytes, by buffer (messages, bench/notes/cuda.md). */
export function deviceBuffers(
  lay: CudaLayout,
  maxB: number,
  T: number,
  P: number,
): Record<string, number> {
  const N = maxB * T, NW = T + lay.L - 1;
  return {
    "parameters, gradient, Adam m and v": 4 * P * 4,
    "tape (states of every wave)": maxB * NW * lay.SH * WARP * 4,
    "hoisted layer-0 projections and their gradient": 2 * N * lay.PH * 4,
    "per-sequence parameter-gradient partials": maxB * (lay.PN * WARP + lay.H + 1) * 4,
    "embedded-input gradient and its run sums": 2 * N * lay.E * 4,
    "layer-0 input-weight partials": Math.ceil(N / DW0_ROWS) * lay.NO * 4,
    "batch ids, rows, labels, logits, loss, sort index": N * 4 + maxB * 20 + (4 * N + 2) * 4,
  };
}

/**
 * Sorts the (b, t) positions of a batch by token id, stably, into the index buffer the
 * embedding-gradient kernels read: `order [N]` (positions grouped by token, ascending
 * within a token), `segStart [nseg + 1]` (runs of at most {@linkcode EMB_SEGMENT}
 * positions of one token), `uniqRow [nu]` (the tokens), `uniqSeg [nu + 1]` (each token's
 * first run). Reuses its buffers; O(N + distinct tokens).
 */
export class TokenSorter {
  readonly #count: Int32Array;
  readonly #start: Int32Array;
  readonly #uniq: Int32Array;
  #nu = 0;
  #n = 0;
  #from: { rows: Uint32Array; T: number } | null = null;
  /** The packed index: order, segStart, uniqRow, uniqSeg. */
  readonly buffer: Int32Array;

  /**
   * @param vocabSize V: ids are in [0, V)
   * @param maxN the most positions of a batch
   */
  constructor(readonly vocabSize: number, maxN: number) {
    this.#count = new Int32Array(vocabSize);
    this.#start = new Int32Array(vocabSize);
    this.#uniq = new Int32Array(maxN);
    this.buffer = new Int32Array(4 * maxN + 2);
  }

  /**
   * First pass: counts the tokens of `ids [N]`, checking every id is in [0, V). With
   * `from`, the batch is not a copy: position `b·T + t` is `ids[from.rows[b]·T + t]`, so
   * `ids` is the whole split `[n, T]` and no gathered batch is needed.
   * @throws RangeError naming the first bad id (nothing is left counted)
   */
  count(ids: Int32Array, N: number, from?: { rows: Uint32Array; T: number }): void {
    const count = this.#count, uniq = this.#uniq, V = this.vocabSize;
    for (let u = 0; u < this.#nu; u++) count[uniq[u]!] = 0; // an unfinished earlier count
    this.#nu = 0;
    let nu = 0;
    const T = from?.T ?? N, B = from ? N / T : 1;
    for (let b = 0; b < B; b++) {
      const base = from ? from.rows[b]! * T : 0;
      for (let t = 0; t < T; t++) {
        const tok = ids[base + t]!;
        if (!(tok >= 0 && tok < V)) {
          for (let u = 0; u < nu; u++) count[uniq[u]!] = 0;
          throw new RangeError(`Token id ${tok} is outside [0, ${V})`);
        }
        if (count[tok]!++ === 0) uniq[nu++] = tok;
      }
    }
    this.#nu = nu;
    this.#n = N;
    this.#from = from ?? null;
  }

  /**
   * Second pass: writes the index for the ids last counted (`ids` is the array `count`
   * was given, with the same `from`).
   * @returns offsets (in int32 elements) of each part and the used length
   */
  finish(ids: Int32Array): {
    segStart: number;
    uniqRow: number;
    uniqSeg: number;
    nseg: number;
    nu: number;
    length: number;
  } {
    const N = this.#n, nu = this.#nu;
    const count = this.#count, start = this.#start, uniq = this.#uniq, buf = this.buffer;
    let nseg = 0;
    for (let u = 0; u < nu; u++) nseg += Math.ceil(count[uniq[u]!]! / EMB_SEGMENT);
    const segStart = N, uniqRow = segStart + nseg + 1, uniqSeg = uniqRow + nu;
    let pos = 0, s = 0;
    for (let u = 0; u < nu; u++) {
      const tok = uniq[u]!, c = count[tok]!;
      start[tok] = pos;
      buf[uniqRow + u] = tok;
      buf[uniqSeg + u] = s;
      for (let k = 0; k < c; k += EMB_SEGMENT) buf[segStart + s++] = pos + k;
      pos += c;
      count[tok] = 0;
    }
    buf[segStart + nseg] = N;
    buf[uniqSeg + nu] = nseg;
    const from = this.#from;
    if (from === null) {
      for (let i = 0; i < N; i++) buf[start[ids[i]!]!++] = i;
    } else {
      const T = from.T, B = N / T;
      for (let b = 0, i = 0; b < B; b++) {
        const base = from.rows[b]! * T;
        for (let t = 0; t < T; t++, i++) buf[start[ids[base + t]!]!++] = i;
      }
    }
    this.#nu = 0;
    return { segStart, uniqRow, uniqSeg, nseg, nu, length: uniqSeg + nu + 1 };
  }
}

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

/** The errors with which a driver refuses a module it cannot run. */
const IMAGE_ERRORS = new Set([
  "CUDA_ERROR_INVALID_IMAGE",
  "CUDA_ERROR_NO_BINARY_FOR_GPU",
  "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
  "CUDA_ERROR_INVALID_PTX",
]);

/**
 * What to do when the driver refuses the compiled kernels: most often a compiler newer
 * than the driver (CUDA 13 cubins need a CUDA 13 driver).
 *
 * @param codeName the `cuModuleLoadData` error, e.g. "CUDA_ERROR_INVALID_IMAGE"
 * @param driverCuda the CUDA version the driver supports, e.g. "12.4"
 * @param compiler the toolchain's description, e.g. "nvcc 13.0.88"
 * @returns the hint, or null when the error is not about the image
 * @example
 * ```ts
 * import { moduleLoadHint } from "./engine.ts";
 * console.log(moduleLoadHint("CUDA_ERROR_INVALID_IMAGE", "12.4", "nvcc 13.0.88"));
 * ```
 */
export function moduleLoadHint(
  codeName: string,
  driverCuda: string,
  compiler: string,
): string | null {
  if (!IMAGE_ERRORS.has(codeName)) return null;
  const version = (s: string) => {
    const m = /(\d+)\.(\d+)/.exec(s);
    return m ? Number(m[1]) * 1000 + Number(m[2]) : null;
  };
  const d = version(driverCuda), c = version(compiler);
  const what =
    `the kernels were compiled by ${compiler} and the driver supports CUDA ${driverCuda}`;
  if (d !== null && c !== null && c > d) {
    return `${what}: the compiler is newer than the driver. Update the NVIDIA driver, or put ` +
      `an nvcc no newer than CUDA ${driverCuda} on the PATH (or set NVCC=/path/to/nvcc)`;
  }
  if (d !== null && c !== null) {
    return `${what}: the compiler is not newer than the driver, so the compiled file may be ` +
      `damaged. Delete the cache (.cache/cuda) and retry`;
  }
  return `${what}. If the compiler is newer than the driver, update the driver or use an ` +
    `older nvcc (NVCC=/path/to/nvcc); else delete the cache (.cache/cuda) and retry`;
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

/**
 * Packs a kernel's arguments into 8-byte slots in declaration order, as `cuLaunchKernel`'s
 * `kernelParams` points at them.
 * @throws Error naming a missing or mistyped argument
 */
export function packArgs(k: KernelName, args: Record<string, number | bigint>): ArrayBuffer {
  const params = kernelParams(k);
  const buf = new ArrayBuffer(8 * params.length);
  const view = new DataView(buf);
  params.forEach(({ name, kind }, i) => {
    const v = args[name];
    if (kind === "ptr") {
      if (typeof v !== "bigint" || v === 0n) {
        throw new Error(`Internal error: kernel ${k} argument ${name} must be a device pointer`);
      }
      view.setBigUint64(8 * i, v, true);
    } else if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`Internal error: kernel ${k} argument ${name} must be a finite number`);
    } else if (kind === "i32") {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new Error(`Internal error: kernel ${k} argument ${name} = ${v} is not a 32-bit int`);
      }
      view.setInt32(8 * i, v, true);
    } else view.setFloat32(8 * i, v, true);
  });
  const extra = Object.keys(args).filter((a) => !params.some((p) => p.name === a));
  if (extra.length) throw new Error(`Internal error: kernel ${k} has no argument ${extra[0]}`);
  return buf;
}
