/**
 * Test helpers that mount small file systems, for tests of what a command does when its output
 * cannot be written: a tmpfs of a given size (a disk that fills up), optionally read-only (which
 * stops root, where `chmod` does not). Mounting needs Linux, root and the right to mount (a
 * container may lack it); {@linkcode mountUnavailable} says why not, for a test's `ignore`.
 *
 * @module
 */

/** Why this process cannot mount a tmpfs, or null when it can (probed once, at import). */
export const mountUnavailable: string | null = probeMount();

function probeMount(): string | null {
  if (Deno.build.os !== "linux") return "mounting a tmpfs needs Linux";
  if (Deno.uid() !== 0) return "mounting a tmpfs needs root";
  const dir = Deno.makeTempDirSync({ prefix: "rnnbench-mount-probe-" });
  try {
    const mount = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (!mount.success) {
      return `cannot mount a tmpfs here: ${new TextDecoder().decode(mount.stderr).trim()}`;
    }
    new Deno.Command("umount", { args: [dir] }).outputSync();
    return null;
  } catch (e) {
    return `cannot mount a tmpfs here: ${e instanceof Error ? e.message : e}`;
  } finally {
    Deno.removeSync(dir);
  }
}

async function run(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Options of {@linkcode withTmpfs}. */
export interface TmpfsOptions {
  /** Size of the file system in KiB. */
  readonly sizeKiB: number;
  /**
   * Fills the mount before it is made read-only (with `readOnly`), or before `body` runs.
   * @default {nothing}
   */
  readonly setup?: (dir: string) => Promise<void>;
  /** Remount read-only after `setup`. @default {false} */
  readonly readOnly?: boolean;
}

/**
 * Runs `body` with a fresh tmpfs mounted on a temporary folder, then unmounts and removes it.
 *
 * @param options Size, setup, read-only.
 * @param body Gets the mount point.
 */
export async function withTmpfs(
  options: TmpfsOptions,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  if (mountUnavailable !== null) throw new Error(mountUnavailable);
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-tmpfs-" });
  try {
    await run("mount", "-t", "tmpfs", "-o", `size=${options.sizeKiB}k`, "tmpfs", dir);
    try {
      await options.setup?.(dir);
      if (options.readOnly) await run("mount", "-o", "remount,ro", dir);
      await body(dir);
    } finally {
      await run("umount", dir);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Fills the file system holding `dir` with 4 KiB files named `.fill-N` in `dir`, until a write
 * fails for lack of space.
 *
 * @param dir A folder on the file system to fill.
 * @returns A function that frees `kib` KiB again (rounded up to 4 KiB), removing fill files.
 */
export async function fillDisk(dir: string): Promise<(kib: number) => Promise<void>> {
  const chunk = new Uint8Array(4096).fill(1);
  const names: string[] = [];
  for (let i = 0;; i++) {
    const path = `${dir}/.fill-${i}`;
    try {
      await Deno.writeFile(path, chunk);
    } catch (e) {
      if (!(e instanceof Error && "code" in e && e.code === "ENOSPC")) throw e;
      await Deno.remove(path).catch(() => {});
      break;
    }
    names.push(path);
  }
  return async (kib: number) => {
    for (let freed = 0; freed < kib && names.length > 0; freed += 4) {
      await Deno.remove(names.pop()!);
    }
  };
}
