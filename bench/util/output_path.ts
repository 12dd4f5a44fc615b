/**
 * Checking an output path before any work, so that a command refuses a bad `--out` or `--json`
 * at once rather than after minutes of work: that a folder can be written into (or created), or
 * that a file can be written. Whether a folder can be written is learnt by creating and removing
 * one empty hidden probe file in it — permission bits do not say it for root, nor for a read-only
 * mount. Each check returns what is wrong in one clause (for the caller to put after its own
 * "Cannot write …:" and before what to do), or null.
 *
 * @module
 */

import { dirname, join } from "node:path";

/**
 * The operating system's words for an error, without Deno's tail naming the call and path:
 * `"No space left on device (os error 28): writefile '/x'"` gives `"No space left on device"`.
 *
 * @param error Anything thrown.
 * @returns One short clause.
 */
export function osReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ \(os error \d+\).*$/s, "");
}

/** The nearest of `path` and its ancestors that exists, with whether it is a folder. */
async function nearestExisting(path: string): Promise<{ path: string; isDirectory: boolean }> {
  for (let p = path;; p = dirname(p)) {
    try {
      return { path: p, isDirectory: (await Deno.stat(p)).isDirectory };
    } catch (error) {
      const missing = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.NotADirectory;
      if (!missing || dirname(p) === p) throw error;
    }
  }
}

/** Why no file can be created in the existing folder `dir`, or null. */
async function unwritable(dir: string): Promise<string | null> {
  const probe = join(dir, `.rnnbench-probe-${crypto.randomUUID().slice(0, 8)}`);
  try {
    (await Deno.open(probe, { write: true, createNew: true })).close();
  } catch (error) {
    const code = error instanceof Error && "code" in error ? error.code : null;
    if (code === "EROFS") return `"${dir}" is read-only`;
    if (error instanceof Deno.errors.PermissionDenied) {
      return `"${dir}" is not writable (permission denied)`;
    }
    return `"${dir}" is not writable (${osReason(error)})`;
  }
  await Deno.remove(probe);
  return null;
}

/**
 * Checks that files can be written into the folder `dir`, creating it when missing.
 *
 * @param dir The folder; it need not exist.
 * @returns Null when it is (or can be created as) a writable folder; else why not, e.g.
 *   `"out" is a file, not a folder` or `"/mnt/ro" is read-only`.
 *
 * @example
 * ```ts
 * const problem = await outputDirProblem(".");
 * if (problem !== null) throw new Error(`Cannot write the report: ${problem}`);
 * ```
 */
export async function outputDirProblem(dir: string): Promise<string | null> {
  let found;
  try {
    found = await nearestExisting(dir);
  } catch (error) {
    return `"${dir}" cannot be reached (${osReason(error)})`;
  }
  if (!found.isDirectory) {
    return found.path === dir
      ? `"${dir}" is a file, not a folder`
      : `"${found.path}" is a file, so no folder can be made in it`;
  }
  return await unwritable(found.path);
}

/**
 * Checks that the file `path` can be written: its folder exists and is writable, and `path` is
 * not a folder. An existing file is fine (it would be replaced).
 *
 * @param path The file.
 * @returns Null when it can be written; else why not, e.g.
 *   `the folder "/missing/dir" does not exist`.
 *
 * @example
 * ```ts
 * const problem = await outputFileProblem("/no/such/dir/x.json");
 * console.assert(problem === `the folder "/no/such/dir" does not exist`);
 * ```
 */
export async function outputFileProblem(path: string): Promise<string | null> {
  let found;
  try {
    found = await nearestExisting(path);
  } catch (error) {
    return `"${path}" cannot be reached (${osReason(error)})`;
  }
  if (found.path === path) {
    if (found.isDirectory) return `"${path}" is a folder`;
    return await unwritable(dirname(path));
  }
  if (!found.isDirectory) return `"${found.path}" is a file, not a folder`;
  if (found.path !== dirname(path)) return `the folder "${dirname(path)}" does not exist`;
  return await unwritable(found.path);
}
