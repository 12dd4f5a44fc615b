/**
 * The system C compiler for the native engine: finding it (`$CC`, `cc`, `gcc`, `clang`),
 * probing which flags work (`-march=native`, OpenMP), and compiling generated sources
 * into shared libraries cached by a hash of source, flags, compiler version and CPU.
 *
 * Cache layout: `<cacheDir>/<hash>/{source.c, lib.so, entry.json}`, a cache entry of
 * `bench/util/cache_entry.ts`: built in a temporary folder (cleaned up, its compiler
 * killed, when the process exits mid-compile), sealed with the SHA-256 of each file,
 * flushed to disk and renamed into place, so an entry is complete or absent; checked on
 * every use, and a damaged one (truncated, emptied, zero-filled) is reported and rebuilt.
 * A failed compile leaves no entry, keeps the source at `<cacheDir>/failed/<hash>.c` and
 * throws with the compiler's message and that path.
 *
 * @module
 */
import { cacheDir } from "../../util/cache_dir.ts";
import { checkEntry, commitEntry, discardEntry, startEntry } from "../../util/cache_entry.ts";

/** A working C compiler and the flags the native engine compiles with. */
export interface CCompiler {
  /** The command, e.g. "cc" (plus any words from `$CC`, e.g. "ccache gcc"). */
  readonly command: readonly string[];
  /** First line of `--version`, e.g. "cc (Debian 12.2.0-14) 12.2.0". */
  readonly version: string;
  /** Flags every compile uses (optimisation, target CPU, OpenMP when it works). */
  readonly flags: readonly string[];
  /** Whether `-fopenmp` compiles, links and runs here. */
  readonly openmp: boolean;
  /** SIMD width in floats the CPU offers: 16 with AVX-512, 8 with AVX/AVX2, else 4. */
  readonly simdFloats: number;
}

/** The result of probing for a compiler: one that works, or why none does. */
export type CompilerProbe = { readonly ok: true; readonly compiler: CCompiler } | {
  readonly ok: false;
  readonly reason: string;
};

const BASE_FLAGS = ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fPIC", "-shared"];
const LIB_EXT = Deno.build.os === "windows" ? "dll" : Deno.build.os === "darwin" ? "dylib" : "so";

/** A tiny program using what generated code uses: vector extensions, OpenMP. */
const PROBE_SOURCE = `#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif
typedef float v8 __attribute__((vector_size(32)));
int rb_probe(void) {
  v8 a = {1, 2, 3, 4, 5, 6, 7, 8};
  a = a * 2.0f + a;
  int n = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(+ : n)
  n += 1;
#else
  n = 0;
#endif
  return (int)a[7] == 24 ? n : -1;
}
`;

async function run(cmd: readonly string[], args: string[]): Promise<
  { code: number; stdout: string; stderr: string } | null
> {
  try {
    const out = await new Deno.Command(cmd[0]!, {
      args: [...cmd.slice(1), ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function cpuSimdFloats(): number {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const flags = new Set(/^flags\s*:(.*)$/m.exec(info)?.[1]?.trim().split(/\s+/) ?? []);
    if (flags.has("avx512f")) return 16;
    if (flags.has("avx")) return 8;
    return 4;
  } catch {
    return Deno.build.arch === "x86_64" ? 8 : 4;
  }
}

/** CPU model name, part of the cache key because `-march=native` depends on it. */
export function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return /^model name\s*:(.*)$/m.exec(info)?.[1]?.trim() ?? Deno.build.arch;
  } catch {
    return `${Deno.build.os}-${Deno.build.arch}`;
  }
}

async function tryCompiler(cmd: readonly string[]): Promise<CCompiler | string> {
  const ver = await run(cmd, ["--version"]);
  if (ver === null) return `"${cmd.join(" ")}" not found`;
  if (ver.code !== 0) return `"${cmd.join(" ")} --version" failed: ${ver.stderr.trim()}`;
  const version = ver.stdout.split("\n")[0]!.trim();
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-cc-probe-" });
  try {
    const src = `${dir}/probe.c`;
    await Deno.writeTextFile(src, PROBE_SOURCE);
    const attempt = async (extra: string[], name: string) => {
      const r = await run(cmd, [...BASE_FLAGS, ...extra, "-o", `${dir}/${name}.${LIB_EXT}`, src]);
      return r !== null && r.code === 0 ? `${dir}/${name}.${LIB_EXT}` : null;
    };
    let arch: string[] = [];
    for (const candidate of [["-march=native"], ["-mcpu=native"]]) {
      if (await attempt(candidate, "arch") !== null) {
        arch = candidate;
        break;
      }
    }
    if (await attempt(arch, "plain") === null) {
      const r = await run(cmd, [...BASE_FLAGS, ...arch, "-o", `${dir}/x.${LIB_EXT}`, src]);
      return `"${cmd.join(" ")}" cannot compile a shared library: ${r?.stderr.trim() ?? "?"}`;
    }
    let openmp = false;
    const lib = await attempt([...arch, "-fopenmp"], "omp");
    if (lib !== null) {
      try {
        const dl = Deno.dlopen(lib, { rb_probe: { parameters: [], result: "i32" } });
        openmp = dl.symbols.rb_probe() >= 1;
        // Never closed: unloading a library that started OpenMP threads is unsafe.
      } catch {
        openmp = false;
      }
    }
    return {
      command: cmd,
      version,
      flags: [...BASE_FLAGS, ...arch, ...(openmp ? ["-fopenmp"] : [])],
      openmp,
      simdFloats: cpuSimdFloats(),
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

let probed: Promise<CompilerProbe> | null = null;

/**
 * Finds a working C compiler (once per process): `$CC` if set, else `cc`, `gcc`, `clang`.
 *
 * @returns the compiler, or the reason none works
 * @example
 * ```ts
 * import { probeCCompiler } from "./compiler.ts";
 * const p = await probeCCompiler();
 * console.log(p.ok ? p.compiler.version : p.reason);
 * ```
 */
export function probeCCompiler(): Promise<CompilerProbe> {
  probed ??= (async (): Promise<CompilerProbe> => {
    const fromEnv = Deno.env.get("CC")?.trim();
    const candidates: string[][] = fromEnv ? [fromEnv.split(/\s+/)] : [["cc"], ["gcc"], ["clang"]];
    const why: string[] = [];
    for (const cmd of candidates) {
      const r = await tryCompiler(cmd);
      if (typeof r !== "string") return { ok: true, compiler: r };
      why.push(r);
    }
    return {
      ok: false,
      reason: `no working C compiler (${why.join("; ")}); install gcc or clang, or set CC`,
    };
  })();
  return probed;
}

/** The default cache directory: `cacheDir("native")` (the repository's `.cache/native`). */
export function defaultCacheDir(): string {
  return cacheDir("native");
}

/** Options of {@linkcode compileSharedLibrary}. */
export interface CompileOptions {
  /** The compiler (from {@linkcode probeCCompiler}). */
  readonly compiler: CCompiler;
  /** Cache directory. @default defaultCacheDir() */
  readonly cacheDir?: string;
  /** What is being compiled, for messages (e.g. "lstm E=64 H=8 L=25"). */
  readonly label?: string;
  /** Receives the warning when a damaged cache entry is rebuilt. @default console.error */
  readonly log?: (line: string) => void;
}

/** A compiled (or cached) shared library. */
export interface CompiledLibrary {
  /** Path of the shared library. */
  readonly path: string;
  /** Path of the source it was built from. */
  readonly sourcePath: string;
  /** The cache key. */
  readonly hash: string;
  /** Whether it came from the cache. */
  readonly cached: boolean;
  /** Seconds spent compiling (0 when cached). */
  readonly compileSeconds: number;
}

/** Hex SHA-256 of a text (cache keys). */
export async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Compiles C source into a shared library, or returns the cached one. The cache key is
 * a SHA-256 of the source, the flags, the compiler's version and the CPU model.
 *
 * @param source C source
 * @param opts compiler and cache directory
 * @returns where the library is
 * @throws Error with the compiler's message and the path of the kept source when the
 *   compile fails (no cache entry is left behind)
 */
export async function compileSharedLibrary(
  source: string,
  opts: CompileOptions,
): Promise<CompiledLibrary> {
  const { compiler } = opts;
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const hash = (await sha256(
    [source, compiler.flags.join(" "), compiler.command.join(" "), compiler.version, cpuModel()]
      .join("\0"),
  )).slice(0, 32);
  const dir = `${cacheDir}/${hash}`;
  const lib = `${dir}/lib.${LIB_EXT}`;
  const files = ["source.c", `lib.${LIB_EXT}`];
  const found = await checkEntry(dir, files);
  if (found === "ok") {
    return { path: lib, sourcePath: `${dir}/source.c`, hash, cached: true, compileSeconds: 0 };
  }
  if (found !== "missing") {
    (opts.log ?? console.error)(
      `Warning: the cached native library "${lib}" cannot be used: ${found.damaged}; rebuilding it`,
    );
    await discardEntry(dir);
  }
  const build = await startEntry(cacheDir, hash);
  const tmp = build.path;
  const t0 = performance.now();
  try {
    const src = `${tmp}/source.c`;
    await Deno.writeTextFile(src, source);
    const r = await run(compiler.command, [...compiler.flags, "-o", `${tmp}/lib.${LIB_EXT}`, src]);
    if (r === null || r.code !== 0) {
      const failedDir = `${cacheDir}/failed`;
      await Deno.mkdir(failedDir, { recursive: true });
      const kept = `${failedDir}/${hash}.c`;
      await Deno.rename(src, kept);
      const what = opts.label ? ` (${opts.label})` : "";
      const cmd = [...compiler.command, ...compiler.flags].join(" ");
      const lines = (r?.stderr ?? "compiler not found").trim().split("\n");
      const shown = lines.length > 60
        ? [...lines.slice(0, 60), `… (${lines.length - 60} more lines)`]
        : lines;
      throw new Error(
        `Cannot compile generated C${what}: ${cmd} exited with code ${r?.code ?? "?"}\n` +
          `${shown.join("\n")}\nGenerated source kept at ${kept}`,
      );
    }
    await commitEntry(build, dir, files);
  } finally {
    await build.dispose();
  }
  return {
    path: lib,
    sourcePath: `${dir}/source.c`,
    hash,
    cached: false,
    compileSeconds: (performance.now() - t0) / 1000,
  };
}
