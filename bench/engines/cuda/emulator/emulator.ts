/**
 * A CPU emulator of the CUDA driver, FOR TESTS: it lets the CUDA engine run end to end on
 * a machine without a GPU, with the generated kernels compiled for the host, so the
 * kernels' logic (wavefront, shuffles, reductions, index arithmetic), the launch
 * configurations and the host side (driver calls, buffers, argument marshalling) are
 * checked against the float64 reference here. It says nothing about speed, and nothing
 * about what only real hardware shows (memory model, register and shared-memory limits).
 *
 * Two pieces, C and C++ sources beside this file, which `buildCudaEmulator` copies into
 * the emulator's directory and compiles there:
 * - a fake `libcuda` (C, `libcuda_emu.c`): the driver API subset the engine uses, with the
 *   prototypes of the real `cuda.h` when the toolkit is installed (so a signature mismatch
 *   does not compile). Device memory is host memory, filled with 0xFF bytes on allocation (NaN
 *   floats, -1 ints) so a kernel that reads memory nobody wrote shows up in the results;
 *   every buffer has 256 guard bytes on each side, checked after each launch, so a kernel
 *   that writes outside a buffer fails its launch, and copies and memsets must stay inside
 *   one buffer (CUDA_ERROR_INVALID_VALUE otherwise, as from the real driver).
 *   `cuModuleLoadData` takes the PATH of a host shared library instead of a cubin;
 *   `cuLaunchKernel` enforces the real limits (1024 threads per block, 48 KB of dynamic
 *   shared memory unless raised with `cuFuncSetAttribute`). Fault injection for tests:
 *   `RNNBENCH_EMU_FAIL=<call>[:<kernel>]` makes that call fail, `RNNBENCH_EMU_SKIP=<kernel>`
 *   makes launches of that kernel succeed without running it (wrong results, as from a
 *   broken kernel; `*`: every kernel and memset, which leaves only the host's own work
 *   to time), `RNNBENCH_EMU_DEVICES=0` hides the device.
 * - an emulation header (C++, `rb_emulate.h`), included before the generated source with
 *   `-DRB_EMULATE`: each CUDA thread is a fiber (`ucontext`), blocks run one after another, `__syncthreads`
 *   and `__syncwarp` are barriers of the fiber scheduler, warp shuffles exchange through
 *   per-thread slots between two warp barriers, `__shared__` is `static` (filled with NaN
 *   bytes at the start of every block, like dynamic shared memory). A deadlock (a
 *   barrier some threads never reach) fails the launch with a message, and so do threads
 *   of a block waiting at different `__syncthreads`, a warp whose lanes meet at different
 *   intrinsics or masks, and a shuffle that reads a lane that has exited (all undefined on
 *   a GPU).
 *   `RNNBENCH_EMU_SANITIZE=1` builds the kernels with UBSan (see `emulatorToolchain`).
 *   `RNNBENCH_EMU_ORDER=forward|reverse|shuffle[:seed]` sets the order in which blocks, and
 *   the threads of a block between two barriers, run: results that change with it come
 *   from a race (a missing barrier, or blocks that depend on each other), which the tests
 *   check for by running the same steps in every order.
 *
 * @module
 */

/** The fake driver's source (C), beside this file. */
const DRIVER_SOURCE = new URL("./libcuda_emu.c", import.meta.url);
/** The emulation header (C++), beside this file; kernels are compiled with `-include` it. */
const HEADER_SOURCE = new URL("./rb_emulate.h", import.meta.url);

/** Where the built emulator is. */
export interface CudaEmulator {
  /** The directory both are in (what `RNNBENCH_CUDA_EMULATOR` names). */
  readonly dir: string;
  /** The fake `libcuda` to open instead of `libcuda.so.1`. */
  readonly driverPath: string;
  /** The emulation header to compile generated kernels with. */
  readonly headerPath: string;
  /** Whether the driver was compiled against the toolkit's `cuda.h` (prototype check). */
  readonly checkedAgainstCudaH: boolean;
}

/** The toolkit's include directory, if `cuda.h` is found (next to `nvcc`, or the usual paths). */
export async function cudaIncludeDir(): Promise<string | null> {
  const candidates: string[] = [];
  const home = Deno.env.get("CUDA_HOME") ?? Deno.env.get("CUDA_PATH");
  if (home) candidates.push(`${home}/include`);
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", 'readlink -f "$(command -v nvcc)"'],
      stdout: "piped",
      stderr: "null",
    }).output();
    const nvcc = new TextDecoder().decode(out.stdout).trim();
    if (out.success && nvcc) {
      const bin = nvcc.slice(0, nvcc.lastIndexOf("/"));
      candidates.push(`${bin}/../include`);
      // A wrapper script (exec /usr/local/cuda-X/bin/nvcc): look where it points.
      const text = await Deno.readTextFile(nvcc).catch(() => "");
      const m = /exec\s+(\S+)\/bin\/nvcc/.exec(text);
      if (m?.[1]) candidates.push(`${m[1]}/include`);
    }
  } catch { /* no sh */ }
  candidates.push("/usr/local/cuda/include");
  for (const dir of candidates) {
    try {
      await Deno.stat(`${dir}/cuda.h`);
      return dir;
    } catch { /* next */ }
  }
  return null;
}

/**
 * Builds the emulator in `dir`: copies the header (`rb_emulate.h`) and the fake driver's
 * source (`libcuda_emu.c`) there from beside this file, and compiles the driver with `cc`,
 * against `cuda.h` when the toolkit is installed.
 *
 * @param dir where to put `libcuda-emulator.so` and `rb_emulate.h`
 * @returns the paths
 * @throws Error with the compiler's message when the driver does not compile
 */
export async function buildCudaEmulator(dir: string): Promise<CudaEmulator> {
  await Deno.mkdir(dir, { recursive: true });
  const headerPath = `${dir}/rb_emulate.h`;
  const driverPath = `${dir}/libcuda-emulator.so`;
  // Test workers of one process share a pid and may build at once: every file is written
  // under a name of its own and renamed into place, whole.
  const tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const driverSource = `${dir}/libcuda_emu.${tag}.c`;
  const headerTmp = `${headerPath}.${tag}.tmp`;
  await Deno.writeTextFile(headerTmp, await Deno.readTextFile(HEADER_SOURCE));
  await Deno.rename(headerTmp, headerPath);
  await Deno.writeTextFile(driverSource, await Deno.readTextFile(DRIVER_SOURCE));
  const inc = await cudaIncludeDir();
  const args = [
    "-O1",
    "-fPIC",
    "-shared",
    "-Wall",
    "-Werror=implicit-function-declaration",
    ...(inc ? ["-DRB_HAVE_CUDA_H", `-I${inc}`] : []),
    "-o",
    `${driverPath}.${tag}.tmp`,
    driverSource,
    "-ldl",
  ];
  const out = await new Deno.Command("cc", { args, stdout: "piped", stderr: "piped" }).output();
  await Deno.remove(driverSource).catch(() => {});
  if (!out.success) {
    throw new Error(
      `Cannot build the CUDA emulator: cc ${args.join(" ")} failed:\n` +
        new TextDecoder().decode(out.stderr),
    );
  }
  await Deno.rename(`${driverPath}.${tag}.tmp`, driverPath);
  return { dir, driverPath, headerPath, checkedAgainstCudaH: inc !== null };
}
