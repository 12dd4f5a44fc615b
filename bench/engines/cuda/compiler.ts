/**
 * Compiling the generated CUDA: with `nvcc` when it is on the PATH (`-cubin -arch=sm_XY`
 * for the GPU's own compute capability, with `--resource-usage` kept next to the cubin),
 * else with NVRTC (`libnvrtc.so`, through `Deno.dlopen`) when it is installed; for tests,
 * with g++ for the CPU emulator (`emulator/emulator.ts`).
 *
 * Cache layout, as the native engine's: `<cacheDir>/<hash>/{kernels.cu, kernels.cubin,
 * resources.txt}` (or `kernels.so` for the emulator), the hash covering source, flags,
 * compiler and version and architecture. An entry is a cache entry of
 * `bench/util/cache_entry.ts`: built in a temporary directory, sealed with checksums and
 * renamed into place, so it is complete or absent, and checked on every use (a damaged one
 * is reported and rebuilt); a failed compile keeps the source at
 * `<cacheDir>/failed/<hash>.cu` and throws with the compiler's message and that path.
 *
 * @module
 */
import { cString } from "./driver.ts";
import { sha256 } from "../native/compiler.ts";
import { cacheDir } from "../../util/cache_dir.ts";
import { checkEntry, commitEntry, discardEntry, startEntry } from "../../util/cache_entry.ts";

/** What compiles kernels into a module image the driver can load. */
export interface KernelToolchain {
  /** e.g. "nvcc 13.0.88", "NVRTC 13.0", "g++ 12.2.0 (CPU emulator)". */
  readonly description: string;
  /** The target architecture, e.g. "sm_90" ("host" for the emulator). */
  readonly arch: string;
  /**
   * Compiles (or finds in the cache).
   * @param source the generated program
   * @param label what it is, for messages ("lstm E=64 H=8 L=25")
   */
  build(source: string, label: string): Promise<BuiltModule>;
}

/** A compiled module. */
export interface BuiltModule {
  /** What `cuModuleLoadData` gets: a cubin, or (emulator) the NUL-terminated library path. */
  readonly image: Uint8Array;
  /** Where the compiled file is. */
  readonly path: string;
  /** The cache key. */
  readonly hash: string;
  /** Whether it came from the cache. */
  readonly cached: boolean;
  /** Seconds spent compiling (0 when cached). */
  readonly compileSeconds: number;
  /** nvcc's `--resource-usage` report (registers, shared and local memory per kernel). */
  readonly resourceUsage: string | null;
}

/** The default cache directory: `cacheDir("cuda")` (the repository's `.cache/cuda`). */
export function defaultCudaCacheDir(): string {
  return cacheDir("cuda");
}

async function run(cmd: string, args: string[]): Promise<
  { code: number; stdout: string; stderr: string } | null
> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * The shared cache logic: `produce(tmpDir, sourcePath)` writes `file` into `tmpDir` or
 * returns an error text; the directory is then renamed into place.
 */
async function cached(
  key: string[],
  source: string,
  file: string,
  cacheDir: string,
  label: string,
  tool: string,
  produce: (tmp: string, src: string) => Promise<{ error: string } | { resources: string | null }>,
): Promise<Omit<BuiltModule, "image">> {
  const hash = (await sha256([source, ...key].join("\0"))).slice(0, 32);
  const dir = `${cacheDir}/${hash}`;
  const path = `${dir}/${file}`;
  const readResources = async () => {
    try {
      return await Deno.readTextFile(`${dir}/resources.txt`);
    } catch {
      return null;
    }
  };
  const found = await checkEntry(dir, ["kernels.cu", file]);
  if (found === "ok") {
    return { path, hash, cached: true, compileSeconds: 0, resourceUsage: await readResources() };
  }
  if (found !== "missing") {
    console.error(
      `Warning: the cached kernels "${path}" cannot be used: ${found.damaged}; rebuilding`,
    );
    await discardEntry(dir);
  }
  const build = await startEntry(cacheDir, hash);
  const tmp = build.path;
  const t0 = performance.now();
  try {
    const src = `${tmp}/kernels.cu`;
    await Deno.writeTextFile(src, source);
    const r = await produce(tmp, src);
    if ("error" in r) {
      await Deno.mkdir(`${cacheDir}/failed`, { recursive: true });
      const kept = `${cacheDir}/failed/${hash}.cu`;
      await Deno.rename(src, kept);
      const lines = r.error.trim().split("\n");
      const shown = lines.length > 60
        ? [...lines.slice(0, 60), `… (${lines.length - 60} more lines)`]
        : lines;
      throw new Error(
        `Cannot compile generated CUDA (${label}) with ${tool}:\n${shown.join("\n")}\n` +
          `Generated source kept at ${kept}`,
      );
    }
    if (r.resources !== null) await Deno.writeTextFile(`${tmp}/resources.txt`, r.resources);
    const sealed = ["kernels.cu", file, ...(r.resources === null ? [] : ["resources.txt"])];
    await commitEntry(build, dir, sealed);
  } finally {
    await build.dispose();
  }
  return {
    path,
    hash,
    cached: false,
    compileSeconds: (performance.now() - t0) / 1000,
    resourceUsage: await readResources(),
  };
}

/** nvcc's version ("13.0.88"), or null when `nvcc` is not on the PATH or fails. */
export async function nvccVersion(
  command = Deno.env.get("NVCC") ?? "nvcc",
): Promise<string | null> {
  const r = await run(command, ["--version"]);
  if (r === null || r.code !== 0) return null;
  return /release [\d.]+, V([\d.]+)/.exec(r.stdout)?.[1] ?? r.stdout.trim().split("\n").pop() ??
    "unknown";
}

/** Flags of every nvcc compile (besides -cubin, -arch and -o). */
export const NVCC_FLAGS = ["-O3", "--resource-usage"] as const;

/**
 * The nvcc toolchain for an architecture.
 * @param arch e.g. "sm_90"
 * @param version from {@linkcode nvccVersion}
 * @param cacheDir @default defaultCudaCacheDir()
 */
export function nvccToolchain(
  arch: string,
  version: string,
  cacheDir = defaultCudaCacheDir(),
): KernelToolchain {
  const command = Deno.env.get("NVCC") ?? "nvcc";
  return {
    description: `nvcc ${version}`,
    arch,
    async build(source, label) {
      const built = await cached(
        [command, version, arch, ...NVCC_FLAGS],
        source,
        "kernels.cubin",
        cacheDir,
        label,
        `nvcc ${version} for ${arch}`,
        async (tmp, src) => {
          const args = [
            "-cubin",
            `-arch=${arch}`,
            ...NVCC_FLAGS,
            "-o",
            `${tmp}/kernels.cubin`,
            src,
          ];
          const r = await run(command, args);
          if (r === null) return { error: `${command} not found` };
          if (r.code !== 0) {
            return { error: `${command} ${args.join(" ")}\n${r.stderr}${r.stdout}` };
          }
          return { resources: `${r.stdout}${r.stderr}` };
        },
      );
      return { ...built, image: await Deno.readFile(built.path) };
    },
  };
}

const NVRTC_SYMBOLS = {
  nvrtcVersion: { parameters: ["buffer", "buffer"], result: "i32" },
  nvrtcGetErrorString: { parameters: ["i32"], result: "pointer" },
  nvrtcCreateProgram: {
    parameters: ["buffer", "buffer", "buffer", "i32", "pointer", "pointer"],
    result: "i32",
  },
  nvrtcCompileProgram: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  nvrtcGetProgramLogSize: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetProgramLog: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetCUBINSize: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetCUBIN: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcDestroyProgram: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Nvrtc = Deno.DynamicLibrary<typeof NVRTC_SYMBOLS>;
let nvrtcOpened: { lib: Nvrtc; version: string } | null | undefined;

/** Library names tried for NVRTC (only `RNNBENCH_LIBNVRTC` when it is set). */
export function nvrtcCandidates(): string[] {
  const env = Deno.env.get("RNNBENCH_LIBNVRTC");
  if (env) return [env];
  return [
    "libnvrtc.so.13",
    "libnvrtc.so.12",
    "libnvrtc.so.11.2",
    "libnvrtc.so",
  ];
}

/** Opens NVRTC (once); null when no candidate library loads. */
export function openNvrtc(): { lib: Nvrtc; version: string } | null {
  if (nvrtcOpened !== undefined) return nvrtcOpened;
  nvrtcOpened = null;
  for (const name of nvrtcCandidates()) {
    try {
      const lib = Deno.dlopen(name, NVRTC_SYMBOLS);
      const major = new Int32Array(1), minor = new Int32Array(1);
      const ok = lib.symbols.nvrtcVersion(major, minor) === 0;
      nvrtcOpened = { lib, version: ok ? `${major[0]}.${minor[0]}` : "unknown" };
      break;
    } catch { /* next */ }
  }
  return nvrtcOpened;
}

/**
 * The NVRTC toolchain (no nvcc needed; the library ships with the CUDA toolkit and with
 * PyTorch's CUDA wheels).
 * @param arch e.g. "sm_90"
 * @param cacheDir @default defaultCudaCacheDir()
 */
export function nvrtcToolchain(arch: string, cacheDir = defaultCudaCacheDir()): KernelToolchain {
  const nv = openNvrtc();
  if (nv === null) throw new Error("Cannot use NVRTC: libnvrtc.so was not found");
  const { lib, version } = nv;
  const s = lib.symbols;
  const errText = (code: number) => {
    const p = s.nvrtcGetErrorString(code);
    return p === null ? `nvrtcResult ${code}` : Deno.UnsafePointerView.getCString(p);
  };
  const options = [`--gpu-architecture=${arch}`, "--std=c++17"];
  return {
    description: `NVRTC ${version}`,
    arch,
    async build(source, label) {
      const built = await cached(
        ["nvrtc", version, arch, ...options],
        source,
        "kernels.cubin",
        cacheDir,
        label,
        `NVRTC ${version} for ${arch}`,
        async (tmp) => {
          const prog = new BigUint64Array(1);
          let code = s.nvrtcCreateProgram(
            prog,
            cString(source),
            cString("rnnbench.cu"),
            0,
            null,
            null,
          );
          if (code !== 0) return { error: `nvrtcCreateProgram: ${errText(code)}` };
          const handle = Deno.UnsafePointer.create(prog[0]!);
          try {
            const strings = options.map(cString);
            const ptrs = new BigUint64Array(
              strings.map((b) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)))),
            );
            code = s.nvrtcCompileProgram(handle, strings.length, ptrs);
            const logSize = new BigUint64Array(1);
            let log = "";
            if (s.nvrtcGetProgramLogSize(handle, logSize) === 0 && logSize[0]! > 1n) {
              const buf = new Uint8Array(Number(logSize[0]!));
              s.nvrtcGetProgramLog(handle, buf);
              log = new TextDecoder().decode(buf.subarray(0, buf.indexOf(0)));
            }
            if (code !== 0) return { error: `nvrtcCompileProgram: ${errText(code)}\n${log}` };
            const size = new BigUint64Array(1);
            code = s.nvrtcGetCUBINSize(handle, size);
            if (code !== 0 || size[0] === 0n) {
              return { error: `nvrtcGetCUBINSize: ${errText(code)} (size ${size[0]})` };
            }
            const cubin = new Uint8Array(Number(size[0]!));
            code = s.nvrtcGetCUBIN(handle, cubin);
            if (code !== 0) return { error: `nvrtcGetCUBIN: ${errText(code)}` };
            await Deno.writeFile(`${tmp}/kernels.cubin`, cubin);
            return { resources: log || null };
          } finally {
            s.nvrtcDestroyProgram(prog);
          }
        },
      );
      return { ...built, image: await Deno.readFile(built.path) };
    },
  };
}

/** g++'s undefined-behaviour sanitizer, stopping at the first finding (`RNNBENCH_EMU_SANITIZE=1`). */
export const EMULATOR_SANITIZE_FLAGS = [
  "-fsanitize=undefined",
  "-fsanitize=bounds-strict",
  "-fno-sanitize-recover=all",
] as const;

/**
 * The CPU emulator's toolchain (tests): g++ with the emulation header and `-DRB_EMULATE`,
 * into a shared library whose path is the module image. With `RNNBENCH_EMU_SANITIZE=1` the
 * kernels are built with UBSan ({@linkcode EMULATOR_SANITIZE_FLAGS}): signed overflow, an
 * index outside a fixed-size array, a misaligned access… abort the process with a report.
 * @param headerPath from `buildCudaEmulator`
 * @param cacheDir @default defaultCudaCacheDir()
 */
export function emulatorToolchain(
  headerPath: string,
  cacheDir = defaultCudaCacheDir(),
): KernelToolchain {
  const sanitize = Deno.env.get("RNNBENCH_EMU_SANITIZE") === "1";
  const flags = [
    "-O1",
    "-std=c++17",
    "-fPIC",
    "-shared",
    "-DRB_EMULATE",
    "-w",
    ...(sanitize ? EMULATOR_SANITIZE_FLAGS : []),
  ];
  return {
    description: `g++ (CPU emulator${sanitize ? ", UBSan" : ""})`,
    arch: "host",
    async build(source, label) {
      const header = await Deno.readTextFile(headerPath);
      const built = await cached(
        ["g++", ...flags, header],
        source,
        "kernels.so",
        cacheDir,
        label,
        "g++ for the CPU emulator",
        async (tmp, src) => {
          const args = [
            ...flags,
            "-include",
            headerPath,
            "-x",
            "c++",
            src,
            "-o",
            `${tmp}/kernels.so`,
          ];
          const r = await run("g++", args);
          if (r === null) return { error: "g++ not found" };
          if (r.code !== 0) return { error: `g++ ${args.join(" ")}\n${r.stderr}` };
          return { resources: null };
        },
      );
      return { ...built, image: cString(built.path) };
    },
  };
}
