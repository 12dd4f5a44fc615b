/**
 * Whether the CUDA engine can run here, probed once per process and per tuning: the
 * permissions it needs, the NVIDIA driver (`libcuda.so.1`, or the emulator's fake one)
 * and device `--device N` (`driver.ts`), and a kernel compiler (`compiler.ts`: nvcc, else
 * NVRTC; g++ for the emulator). Also whether a model's weights fit the device's shared
 * memory per block, which every layer's weights must. `engine.ts` creates the engine from
 * the same cached probe.
 *
 * @module
 */
import type { Arch } from "../../../models/cells.ts";
import { type CudaLayout, cudaLayoutFor, cudaShapeProblem } from "../../../models/codegen/cuda.ts";
import type { Availability } from "../engine.ts";
import { type CudaDriver, CudaError, type DeviceInfo, formatBytes, openDriver } from "./driver.ts";
import {
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
   * TESTS ONLY: run on the CPU emulator (`emulator/emulator.ts`) instead of a GPU: its fake
   * driver replaces `libcuda.so.1` and g++ replaces nvcc.
   */
  readonly emulator?: CudaEmulator;
}

/** What the probe found: a device and a compiler, or everything that is missing. */
export type Probe =
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

/**
 * The probe of device `ordinal` with `tuning` (the emulator of `RNNBENCH_CUDA_EMULATOR` when
 * the tuning names none), run once per process and then shared.
 */
export function probeCached(ordinal: number, tuningIn: CudaTuning): Promise<Probe> {
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

/** A device in one line: name, architecture, memory, SMs and the driver's CUDA version. */
export function describeDevice(d: DeviceInfo): string {
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
export function misfit(
  model: { readonly arch: Arch; readonly hiddenSize: number; readonly layers: number },
  lay: CudaLayout,
  device: DeviceInfo,
): string | null {
  if (lay.smemBytes <= device.maxSharedPerBlock) return null;
  return `the ${model.layers}-layer ${model.arch} weights (hidden ${model.hiddenSize}) need ` +
    `${formatBytes(lay.smemBytes)} of shared memory per block, ${device.name} allows ` +
    `${formatBytes(device.maxSharedPerBlock)}`;
}
