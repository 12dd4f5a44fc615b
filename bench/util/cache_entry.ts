/**
 * One entry of a compile cache: a folder `<cacheDir>/<hash>/` holding what a compiler made
 * (a shared library, a cubin), complete or absent, and checked before it is used.
 *
 * - Built in a temporary folder `<cacheDir>/.tmp-<hash>-<pid>-<random>/`
 *   ({@linkcode startEntry}); if this process exits meanwhile (a second Ctrl-C), the
 *   compilers still writing there are killed and the folder removed; one left by a process
 *   killed outright (SIGKILL) is swept, its compilers killed, by the next build in that cache.
 * - Sealed ({@linkcode commitEntry}): a manifest `entry.json` records each file's size and
 *   SHA-256, every file and the folder are flushed to disk, and the folder is renamed into
 *   place, so the entry survives a power cut whole or not at all.
 * - Checked ({@linkcode checkEntry}) on every use against its manifest: a truncated, emptied,
 *   zero-filled or unsealed entry is reported and rebuilt ({@linkcode discardEntry}), never
 *   used.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { syncDir, writeFileAtomic } from "./atomic.ts";

/** The manifest's name inside an entry. */
export const ENTRY_MANIFEST = "entry.json";

/** What `entry.json` holds. */
interface Manifest {
  version: 1;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** A stale temporary folder of a process that is gone is swept; one of unknown owner after this. */
const ORPHAN_AGE_MS = 3_600_000;

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Whether the entry at `dir` is there and intact.
 * @param dir the entry's folder
 * @param files the files that must be in it (e.g. `["lib.so"]`)
 * @returns `"missing"`, `"ok"`, or why it cannot be used
 */
export async function checkEntry(
  dir: string,
  files: readonly string[],
): Promise<"missing" | "ok" | { damaged: string }> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${dir}/${ENTRY_MANIFEST}`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      try {
        await Deno.stat(dir);
      } catch (e2) {
        if (e2 instanceof Deno.errors.NotFound) return "missing";
      }
      return { damaged: `it has no ${ENTRY_MANIFEST} with checksums (an older or torn build)` };
    }
    return { damaged: `its ${ENTRY_MANIFEST} cannot be read (${(e as Error).message})` };
  }
  for (const name of files) {
    const want = manifest?.files?.[name];
    if (want === undefined) return { damaged: `its ${ENTRY_MANIFEST} does not list ${name}` };
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${dir}/${name}`);
    } catch (e) {
      return { damaged: `${name} cannot be read (${(e as Error).message})` };
    }
    if (bytes.length !== want.bytes) {
      return { damaged: `${name} is ${bytes.length} bytes, it was built as ${want.bytes}` };
    }
    if (sha256Hex(bytes) !== want.sha256) {
      return { damaged: `${name} does not match its SHA-256 checksum` };
    }
  }
  return "ok";
}

/**
 * Removes an entry that cannot be used (first renamed aside, so no one sees it half gone).
 * @param dir the entry's folder
 */
export async function discardEntry(dir: string): Promise<void> {
  const slash = dir.lastIndexOf("/");
  const aside = `${dir.slice(0, slash)}/.tmp-discarded-${Deno.pid}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  try {
    await Deno.rename(dir, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return; // another process did it
    throw e;
  }
  await Deno.remove(aside, { recursive: true }).catch(() => {});
}

/**
 * Kills (SIGKILL) every process whose command line names `path`: the compilers writing into
 * a temporary folder (the driver, `cc1`, the linker). Linux only; a no-op elsewhere.
 * @param path a temporary folder
 */
export function killProcessesNaming(path: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc")];
  } catch {
    return;
  }
  for (const e of entries) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
      if (cmd.includes(path)) Deno.kill(pid, "SIGKILL");
    } catch { /* gone meanwhile, or not ours to read */ }
  }
}

function isAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}

/**
 * Sweeps the temporary folders of builds whose process is gone (killed outright): kills the
 * compilers still writing there and removes them.
 * @param cacheDir the cache
 */
async function sweepOrphans(cacheDir: string): Promise<void> {
  let names: string[];
  try {
    names = [...Deno.readDirSync(cacheDir)].map((e) => e.name).filter((n) => n.startsWith(".tmp-"));
  } catch {
    return;
  }
  for (const name of names) {
    const path = `${cacheDir}/${name}`;
    const pid = Number(/^\.tmp-[a-z0-9]+-(\d+)-/.exec(name)?.[1]);
    let orphan: boolean;
    if (Number.isInteger(pid)) orphan = pid !== Deno.pid && !isAlive(pid);
    else {
      const mtime = await Deno.stat(path).then((s) => s.mtime?.getTime() ?? 0, () => null);
      orphan = mtime !== null && Date.now() - mtime > ORPHAN_AGE_MS;
    }
    if (!orphan) continue;
    killProcessesNaming(path);
    await Deno.remove(path, { recursive: true }).catch(() => {});
  }
}

/** A temporary folder being filled with a new entry. */
export interface EntryBuild {
  /** The temporary folder. */
  readonly path: string;
  /** Removes the folder (if still there) and stops watching for exit. */
  dispose(): Promise<void>;
}

/**
 * Starts building an entry: sweeps orphans of killed builds, then makes a temporary folder
 * that is cleaned up (its compilers killed, the folder removed) should this process exit
 * before {@linkcode EntryBuild.dispose}.
 * @param cacheDir the cache (created when missing)
 * @param hash the entry's key
 * @returns the temporary folder
 */
export async function startEntry(cacheDir: string, hash: string): Promise<EntryBuild> {
  await Deno.mkdir(cacheDir, { recursive: true });
  await sweepOrphans(cacheDir);
  const path = await Deno.makeTempDir({
    dir: cacheDir,
    prefix: `.tmp-${hash.slice(0, 8)}-${Deno.pid}-`,
  });
  const onExit = () => {
    killProcessesNaming(path);
    try {
      Deno.removeSync(path, { recursive: true });
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", onExit);
  return {
    path,
    async dispose() {
      globalThis.removeEventListener("unload", onExit);
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Seals a built entry and moves it into place: writes its manifest, flushes every file and
 * the folders, renames. When another process put an intact entry there first, that one
 * stays.
 * @param build the temporary folder, holding `files`
 * @param dir the entry's final folder
 * @param files the files the manifest covers
 * @throws Error when the entry can be neither put in place nor found intact there
 */
export async function commitEntry(
  build: EntryBuild,
  dir: string,
  files: readonly string[],
): Promise<void> {
  const manifest: Manifest = { version: 1, files: {} };
  for (const name of files) {
    const path = `${build.path}/${name}`;
    const bytes = await Deno.readFile(path);
    manifest.files[name] = { bytes: bytes.length, sha256: sha256Hex(bytes) };
    const f = await Deno.open(path, { read: true }); // fsync needs no write access
    try {
      await f.sync();
    } finally {
      f.close();
    }
  }
  await writeFileAtomic(
    `${build.path}/${ENTRY_MANIFEST}`,
    new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"),
    { what: "cache manifest" },
  );
  try {
    await Deno.rename(build.path, dir);
  } catch (e) {
    if ((await checkEntry(dir, files)) !== "ok") throw e; // else another process was first
    return;
  }
  await syncDir(dir.slice(0, dir.lastIndexOf("/")) || "/");
}
