/**
 * The machine fingerprint recorded in every results file: CPU, cores, memory, OS, GPU,
 * runtime and package versions, compiler, git revision.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import type { Gpu, Machine } from "../results/types.ts";

/** The GPU as `nvidia-smi` (or the CUDA driver) reports it: the results file's `Gpu`. */
export type GpuInfo = Gpu;

/** What `results.machine` holds: the results file's `Machine`. */
export type MachineInfo = Machine;

/** Runs a command; returns trimmed stdout, or null if it is missing or fails. */
export async function tryCommand(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

async function cpuModel(): Promise<string> {
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    const m = info.match(/^model name\s*:\s*(.+)$/m);
    if (m?.[1]) return m[1].trim();
  } catch { /* not Linux */ }
  return (await tryCommand("sysctl", ["-n", "machdep.cpu.brand_string"])) ?? "unknown";
}

/**
 * Queries `nvidia-smi`, else (a container without it) the CUDA driver itself, which knows
 * the name, memory and CUDA version but not the driver's version; null when there is no
 * NVIDIA GPU or driver.
 */
export async function gpuInfo(device = 0): Promise<GpuInfo | null> {
  const out = await tryCommand("nvidia-smi", [
    `--id=${device}`,
    "--query-gpu=name,memory.total,driver_version",
    "--format=csv,noheader,nounits",
  ]);
  if (out === null || out === "") return await gpuFromDriver(device);
  const [name, mem, driver] = out.split("\n")[0]!.split(",").map((s) => s.trim());
  const smi = await tryCommand("nvidia-smi", []);
  const cuda = smi?.match(/CUDA Version:\s*([\d.]+)/)?.[1] ?? null;
  const memMiB = Number(mem);
  return {
    name: name ?? "unknown",
    memoryBytes: Number.isFinite(memMiB) ? memMiB * 1024 * 1024 : null,
    driverVersion: driver ?? null,
    cudaVersion: cuda,
  };
}

/** The device as the CUDA driver (`RNNBENCH_LIBCUDA` or libcuda.so.1) describes it, or null. */
async function gpuFromDriver(device: number): Promise<GpuInfo | null> {
  try {
    // Never prompt for the permission: without it there is simply no GPU to record.
    if ((await Deno.permissions.query({ name: "ffi" })).state !== "granted") return null;
    const { openDriver } = await import("../engines/cuda/driver.ts");
    const opened = openDriver();
    if (!opened.ok || opened.driver.deviceCount() <= device) return null;
    const d = opened.driver.deviceInfo(device);
    return {
      name: d.name,
      memoryBytes: d.memoryBytes,
      driverVersion: null,
      cudaVersion: d.driverCudaVersion,
    };
  } catch {
    return null; // no FFI permission, no device, a driver that fails: no GPU to record
  }
}

/** Versions of the npm packages the suite imports, from deno.json's pinned specifiers. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(denoJson.imports as Record<string, string>)) {
    const m = spec.match(/^npm:(?:@[^/]+\/)?[^@]+@(.+)$/);
    if (m?.[1]) out[name] = m[1];
  }
  return out;
}

/**
 * Collects the fingerprint of this machine.
 * @param name a label for the machine (default: the hostname)
 * @param device the CUDA device whose GPU is recorded (`--device`)
 */
export async function machineInfo(name?: string, device = 0): Promise<MachineInfo> {
  const compiler = (await tryCommand("cc", ["--version"]))?.split("\n")[0] ?? null;
  let os: string = Deno.build.os;
  try {
    os = `${Deno.build.os} ${Deno.osRelease()}`;
  } catch { /* permission */ }
  return {
    name: name ?? Deno.hostname(),
    cpuModel: await cpuModel(),
    cores: navigator.hardwareConcurrency,
    memoryBytes: Deno.systemMemoryInfo().total,
    os,
    arch: Deno.build.arch,
    gpu: await gpuInfo(device),
    denoVersion: Deno.version.deno,
    v8Version: Deno.version.v8,
    typescriptVersion: Deno.version.typescript,
    packages: packageVersions(),
    compiler,
  };
}

/** The git revision of the suite (with "-dirty" if the tree has changes), or null. */
export async function gitRevision(): Promise<string | null> {
  const dir = new URL("../../", import.meta.url).pathname;
  const rev = await tryCommand("git", ["-C", dir, "rev-parse", "HEAD"]);
  if (rev === null) return null;
  const status = await tryCommand("git", [
    "-C",
    dir,
    "status",
    "--porcelain",
    "--untracked-files=no",
  ]);
  return status ? `${rev}-dirty` : rev;
}
