/**
 * Typed `Deno.dlopen` bindings for the few CUDA driver API calls the CUDA engine needs
 * (`libcuda.so.1`, installed with the NVIDIA driver; no CUDA runtime is linked). Every
 * call's status is checked: a failure throws {@linkcode CudaError} naming what was being
 * done, the call, the error's name and description, and the kernels launched since the
 * last synchronisation (an asynchronous kernel fault surfaces at a later call).
 *
 * Signatures follow `cuda.h` (CUDA 13.0): `CUresult` and enums are 32-bit ints,
 * `CUdevice` an int, `CUdeviceptr` a 64-bit unsigned integer, handles are pointers. The
 * exported names of the versioned calls are the `_v2` ones `cuda.h` maps to. The CPU
 * emulator of the tests (`emulator/libcuda_emu.c`) is compiled against the same `cuda.h`, so
 * the two cannot drift apart unnoticed.
 *
 * Calls are synchronous (the context is current per thread; JS runs on one).
 *
 * @module
 */

/** Enum values from `cuda.h` (checked against it in `cuda_test.ts` when the toolkit exists). */
export const CU = {
  DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: 1,
  DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: 16,
  DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: 75,
  DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: 76,
  DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: 97,
  FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: 1,
  FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: 3,
  FUNC_ATTRIBUTE_NUM_REGS: 4,
  FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: 8,
} as const;

const SYMBOLS = {
  cuGetErrorName: { parameters: ["i32", "buffer"], result: "i32" },
  cuGetErrorString: { parameters: ["i32", "buffer"], result: "i32" },
  cuInit: { parameters: ["u32"], result: "i32" },
  cuDriverGetVersion: { parameters: ["buffer"], result: "i32" },
  cuDeviceGetCount: { parameters: ["buffer"], result: "i32" },
  cuDeviceGet: { parameters: ["buffer", "i32"], result: "i32" },
  cuDeviceGetName: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDeviceGetAttribute: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDeviceTotalMem_v2: { parameters: ["buffer", "i32"], result: "i32" },
  cuDevicePrimaryCtxRetain: { parameters: ["buffer", "i32"], result: "i32" },
  cuDevicePrimaryCtxRelease_v2: { parameters: ["i32"], result: "i32" },
  cuCtxSetCurrent: { parameters: ["pointer"], result: "i32" },
  cuCtxSynchronize: { parameters: [], result: "i32" },
  cuMemGetInfo_v2: { parameters: ["buffer", "buffer"], result: "i32" },
  cuMemAlloc_v2: { parameters: ["buffer", "usize"], result: "i32" },
  cuMemFree_v2: { parameters: ["u64"], result: "i32" },
  cuMemcpyHtoD_v2: { parameters: ["u64", "buffer", "usize"], result: "i32" },
  cuMemcpyDtoH_v2: { parameters: ["buffer", "u64", "usize"], result: "i32" },
  cuMemsetD32_v2: { parameters: ["u64", "u32", "usize"], result: "i32" },
  cuModuleLoadData: { parameters: ["buffer", "buffer"], result: "i32" },
  cuModuleGetFunction: { parameters: ["buffer", "pointer", "buffer"], result: "i32" },
  cuFuncSetAttribute: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  cuFuncGetAttribute: { parameters: ["buffer", "i32", "pointer"], result: "i32" },
  cuLaunchKernel: {
    // f, grid x y z, block x y z, shared bytes, stream, kernelParams (void **), extra
    parameters: [
      "pointer",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "pointer",
      "buffer",
      "pointer",
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened driver library. */
export type CudaLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A failed driver call. */
export class CudaError extends Error {
  /**
   * @param call the driver function, e.g. "cuLaunchKernel"
   * @param code its `CUresult`
   * @param codeName e.g. "CUDA_ERROR_OUT_OF_MEMORY"
   * @param message the whole message
   */
  constructor(
    readonly call: string,
    readonly code: number,
    readonly codeName: string,
    message: string,
  ) {
    super(message);
    this.name = "CudaError";
  }
}

/** A device as the driver describes it. */
export interface DeviceInfo {
  /** Ordinal. */
  readonly ordinal: number;
  /** e.g. "NVIDIA H200". */
  readonly name: string;
  /** Compute capability, e.g. 9 and 0. */
  readonly ccMajor: number;
  readonly ccMinor: number;
  /** The real architecture to compile for, e.g. "sm_90". */
  readonly arch: string;
  /** Device memory in bytes. */
  readonly memoryBytes: number;
  /** Streaming multiprocessors. */
  readonly smCount: number;
  /** The most dynamic shared memory one block may opt in to, in bytes. */
  readonly maxSharedPerBlock: number;
  /** The CUDA version the driver supports, e.g. "13.0". */
  readonly driverCudaVersion: string;
}

const enc = new TextEncoder();
/** A NUL-terminated C string. */
export function cString(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** The default driver library name (`RNNBENCH_LIBCUDA` overrides it, e.g. the emulator). */
export function defaultDriverPath(): string {
  return Deno.env.get("RNNBENCH_LIBCUDA") ?? "libcuda.so.1";
}

const OPENED = new Map<string, CudaDriver>();

/**
 * Opens the driver library (once per path per process; never closed).
 * @param path library name or path @default defaultDriverPath()
 * @returns the driver, or why it cannot be opened
 */
export function openDriver(
  path = defaultDriverPath(),
): { ok: true; driver: CudaDriver } | { ok: false; reason: string } {
  const known = OPENED.get(path);
  if (known) return { ok: true, driver: known };
  let lib: CudaLibrary;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      reason: /cannot open shared object|No such file|not found/i.test(msg)
        ? `no NVIDIA driver (${path} not found)`
        : `cannot load the NVIDIA driver library ${path}: ${msg.split("\n")[0]}`,
    };
  }
  const driver = new CudaDriver(lib, path);
  OPENED.set(path, driver);
  return { ok: true, driver };
}

/** The driver library with checked calls. */
export class CudaDriver {
  #initialised = false;

  /**
   * @param lib the opened library
   * @param path where it was opened from
   */
  constructor(readonly lib: CudaLibrary, readonly path: string) {}

  /** "CUDA_ERROR_X" for a code (or "CUresult N" when the driver does not know it). */
  errorName(code: number): string {
    const out = new BigUint64Array(1);
    if (this.lib.symbols.cuGetErrorName(code, out) !== 0 || out[0] === 0n) {
      return `CUresult ${code}`;
    }
    return Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(out[0]!)!);
  }

  /** The driver's description of a code. */
  errorString(code: number): string {
    const out = new BigUint64Array(1);
    if (this.lib.symbols.cuGetErrorString(code, out) !== 0 || out[0] === 0n) return "unknown error";
    return Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(out[0]!)!);
  }

  /**
   * Throws unless `code` is CUDA_SUCCESS.
   * @param code the call's result
   * @param call the driver function
   * @param what what was being done, completing "Cannot …"
   * @param pending kernels launched since the last synchronisation (named in the message)
   */
  check(code: number, call: string, what: string, pending: readonly string[] = []): void {
    if (code === 0) return;
    const name = this.errorName(code);
    const after = pending.length
      ? ` (reported after kernel${pending.length > 1 ? "s" : ""} ${pending.join(", ")}; ` +
        `set RNNBENCH_CUDA_SYNC=1 to synchronise after every launch and pinpoint it)`
      : "";
    throw new CudaError(
      call,
      code,
      name,
      `Cannot ${what}: ${call} failed with ${name} (${this.errorString(code)})${after}`,
    );
  }

  /** `cuInit(0)`, once. */
  init(): void {
    if (this.#initialised) return;
    this.check(this.lib.symbols.cuInit(0), "cuInit", "initialise the CUDA driver");
    this.#initialised = true;
  }

  /** The CUDA version the driver supports, e.g. "13.0". */
  driverVersion(): string {
    const v = new Int32Array(1);
    this.check(this.lib.symbols.cuDriverGetVersion(v), "cuDriverGetVersion", "query the driver");
    return `${Math.floor(v[0]! / 1000)}.${Math.floor((v[0]! % 1000) / 10)}`;
  }

  /** Number of CUDA devices. */
  deviceCount(): number {
    this.init();
    const n = new Int32Array(1);
    this.check(this.lib.symbols.cuDeviceGetCount(n), "cuDeviceGetCount", "count CUDA devices");
    return n[0]!;
  }

  /** Describes device `ordinal`. */
  deviceInfo(ordinal: number): DeviceInfo {
    this.init();
    const s = this.lib.symbols;
    const d = new Int32Array(1);
    this.check(s.cuDeviceGet(d, ordinal), "cuDeviceGet", `open CUDA device ${ordinal}`);
    const dev = d[0]!;
    const name = new Uint8Array(256);
    this.check(s.cuDeviceGetName(name, name.length, dev), "cuDeviceGetName", "name the device");
    const attr = (a: number, what: string) => {
      const v = new Int32Array(1);
      this.check(s.cuDeviceGetAttribute(v, a, dev), "cuDeviceGetAttribute", `query ${what}`);
      return v[0]!;
    };
    const mem = new BigUint64Array(1);
    this.check(s.cuDeviceTotalMem_v2(mem, dev), "cuDeviceTotalMem_v2", "query device memory");
    const ccMajor = attr(CU.DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "the compute capability");
    const ccMinor = attr(CU.DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "the compute capability");
    const end = name.indexOf(0);
    return {
      ordinal,
      name: new TextDecoder().decode(name.subarray(0, end < 0 ? name.length : end)),
      ccMajor,
      ccMinor,
      arch: `sm_${ccMajor}${ccMinor}`,
      memoryBytes: Number(mem[0]!),
      smCount: attr(CU.DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "the multiprocessor count"),
      maxSharedPerBlock: attr(
        CU.DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
        "the shared memory per block",
      ),
      driverCudaVersion: this.driverVersion(),
    };
  }
}

/** Launch geometry. */
export interface LaunchConfig {
  /** Blocks (x). */
  readonly grid: number;
  /** Threads per block (x). */
  readonly block: number;
  /** Dynamic shared memory in bytes. */
  readonly sharedBytes: number;
}

/** The primary context of one device, made current on this thread, with checked calls. */
export class CudaContext {
  readonly #driver: CudaDriver;
  readonly #ctx: Deno.PointerObject;
  readonly #pending: string[] = [];
  /** Synchronise after every launch (RNNBENCH_CUDA_SYNC=1): errors name the exact kernel. */
  readonly syncEachLaunch = Deno.env.get("RNNBENCH_CUDA_SYNC") === "1";
  /** The device. */
  readonly device: DeviceInfo;

  /**
   * Retains the primary context of a device and makes it current.
   * @param driver the driver
   * @param ordinal the device (`--device`)
   */
  constructor(driver: CudaDriver, ordinal: number) {
    this.#driver = driver;
    this.device = driver.deviceInfo(ordinal);
    const out = new BigUint64Array(1);
    driver.check(
      driver.lib.symbols.cuDevicePrimaryCtxRetain(out, ordinal),
      "cuDevicePrimaryCtxRetain",
      `create a context on CUDA device ${ordinal}`,
    );
    const ctx = Deno.UnsafePointer.create(out[0]!);
    if (ctx === null) throw new Error("Internal error: cuDevicePrimaryCtxRetain returned NULL");
    this.#ctx = ctx;
    this.makeCurrent();
  }

  #check(code: number, call: string, what: string): void {
    if (code === 0) return;
    const pending = [...this.#pending];
    this.#pending.length = 0; // reported once: later errors name only later kernels
    this.#driver.check(code, call, what, pending);
  }

  /** Makes the context current on the calling thread (cheap; done before each operation). */
  makeCurrent(): void {
    this.#check(
      this.#driver.lib.symbols.cuCtxSetCurrent(this.#ctx),
      "cuCtxSetCurrent",
      "make the CUDA context current",
    );
  }

  /** Allocates device memory. @returns the device pointer */
  alloc(bytes: number, what: string): bigint {
    const out = new BigUint64Array(1);
    this.#check(
      this.#driver.lib.symbols.cuMemAlloc_v2(out, BigInt(Math.max(4, bytes))),
      "cuMemAlloc_v2",
      `allocate ${formatBytes(bytes)} of device memory for ${what}`,
    );
    return out[0]!;
  }

  /** Frees device memory (errors are ignored: used on cleanup paths). */
  free(ptr: bigint): void {
    this.#driver.lib.symbols.cuMemFree_v2(ptr);
  }

  /** Copies host → device. */
  htod(dst: bigint, src: ArrayBufferView, what: string): void {
    if (src.byteLength === 0) return;
    this.#check(
      this.#driver.lib.symbols.cuMemcpyHtoD_v2(
        dst,
        new Uint8Array(src.buffer, src.byteOffset, src.byteLength),
        BigInt(src.byteLength),
      ),
      "cuMemcpyHtoD_v2",
      `copy ${what} to the device`,
    );
  }

  /** Copies device → host; waits for every kernel before it, so it ends the pending list. */
  dtoh(dst: ArrayBufferView, src: bigint, what: string): void {
    if (dst.byteLength === 0) return;
    this.#check(
      this.#driver.lib.symbols.cuMemcpyDtoH_v2(
        new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength),
        src,
        BigInt(dst.byteLength),
      ),
      "cuMemcpyDtoH_v2",
      `copy ${what} from the device`,
    );
    this.#pending.length = 0;
  }

  /** Sets `count` 32-bit words at `dst` to `value` (stream-ordered). */
  memset32(dst: bigint, value: number, count: number, what: string): void {
    if (count === 0) return;
    this.#check(
      this.#driver.lib.symbols.cuMemsetD32_v2(dst, value >>> 0, BigInt(count)),
      "cuMemsetD32_v2",
      `clear ${what}`,
    );
  }

  /** Waits for all launched work. */
  synchronize(what: string): void {
    this.#check(this.#driver.lib.symbols.cuCtxSynchronize(), "cuCtxSynchronize", what);
    this.#pending.length = 0;
  }

  /**
   * Loads a module from an image (a cubin; for the emulator, a NUL-terminated path).
   * @returns the module handle
   */
  loadModule(image: Uint8Array, what: string): Deno.PointerObject {
    const out = new BigUint64Array(1);
    this.#check(
      this.#driver.lib.symbols.cuModuleLoadData(out, image),
      "cuModuleLoadData",
      `load ${what}`,
    );
    return Deno.UnsafePointer.create(out[0]!)!;
  }

  /** Looks a kernel up in a module. */
  getFunction(module: Deno.PointerObject, name: string): Deno.PointerObject {
    const out = new BigUint64Array(1);
    this.#check(
      this.#driver.lib.symbols.cuModuleGetFunction(out, module, cString(name)),
      "cuModuleGetFunction",
      `find kernel ${name} in the module`,
    );
    return Deno.UnsafePointer.create(out[0]!)!;
  }

  /** Allows a kernel more than 48 KB of dynamic shared memory. */
  setMaxDynamicShared(fn: Deno.PointerObject, name: string, bytes: number): void {
    this.#check(
      this.#driver.lib.symbols.cuFuncSetAttribute(
        fn,
        CU.FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        bytes,
      ),
      "cuFuncSetAttribute",
      `allow kernel ${name} ${formatBytes(bytes)} of shared memory (the device allows ` +
        `${formatBytes(this.device.maxSharedPerBlock)})`,
    );
  }

  /** A kernel attribute (registers, local memory). */
  funcAttribute(fn: Deno.PointerObject, name: string, attr: number): number {
    const v = new Int32Array(1);
    this.#check(
      this.#driver.lib.symbols.cuFuncGetAttribute(v, attr, fn),
      "cuFuncGetAttribute",
      `query kernel ${name}`,
    );
    return v[0]!;
  }

  /**
   * Launches a kernel on the default stream.
   * @param fn the kernel
   * @param name its name (for messages)
   * @param cfg grid, block, dynamic shared memory
   * @param slots the arguments, one 8-byte slot each (see `packArgs`)
   */
  launch(fn: Deno.PointerObject, name: string, cfg: LaunchConfig, slots: ArrayBuffer): void {
    const n = slots.byteLength / 8;
    const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(slots))));
    const params = new BigUint64Array(n);
    for (let i = 0; i < n; i++) params[i] = base + BigInt(8 * i);
    this.#pending.push(name);
    this.#check(
      this.#driver.lib.symbols.cuLaunchKernel(
        fn,
        cfg.grid,
        1,
        1,
        cfg.block,
        1,
        1,
        cfg.sharedBytes,
        null,
        params,
        null,
      ),
      "cuLaunchKernel",
      `launch kernel ${name} (grid ${cfg.grid}, block ${cfg.block}, ` +
        `${formatBytes(cfg.sharedBytes)} dynamic shared memory)`,
    );
    if (this.syncEachLaunch) this.synchronize(`run kernel ${name}`);
  }
}

/** "54.5 KB", "1.2 GB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}
