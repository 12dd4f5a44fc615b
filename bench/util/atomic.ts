/**
 * Atomic, durable file writes: the bytes go to a temporary file in the same folder, are
 * flushed to disk (fsync), renamed over the target, and the folder is flushed so the rename
 * itself survives a power cut. A crash at any point leaves either the previous file or the
 * new one, never a truncated mix. A failure (a full disk, say) removes the temporary file
 * and throws a {@linkcode WriteError} naming the file.
 *
 * @module
 */

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicHooks {
  /** What the file is, for messages (e.g. "checkpoint"). @default "file" */
  what?: string;
  /** Test hook: called after the temporary file is written and synced, before the rename. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/** A file could not be written: names it and why ("No space left on device (os error 28)"). */
export class WriteError extends Error {
  /** The file that could not be written. */
  readonly path: string;
  /** Why, without the file name. */
  readonly reason: string;

  /**
   * @param what what the file is ("checkpoint", "file")
   * @param path the file
   * @param cause the error of the failed step
   */
  constructor(what: string, path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Cannot write ${what} "${path}": ${reason}`, { cause });
    this.name = "WriteError";
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Flushes a folder's entries (a rename in it) to disk; a no-op where folders cannot be
 * opened (Windows).
 * @param dir the folder
 */
export async function syncDir(dir: string): Promise<void> {
  let d: Deno.FsFile;
  try {
    d = await Deno.open(dir, { read: true });
  } catch {
    return;
  }
  try {
    await d.sync();
  } catch {
    /* some file systems cannot sync a folder: the file itself is synced */
  } finally {
    d.close();
  }
}

/**
 * Writes `bytes` to `path` atomically and durably.
 * @param path target file
 * @param bytes content, or its parts in order
 * @param hooks what the file is, and test hooks
 * @throws WriteError naming the file and why, when any step fails (the target is unchanged)
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array | readonly Uint8Array[],
  hooks: AtomicHooks = {},
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const base = slash >= 0 ? path.slice(slash + 1) : path;
  const temp = `${dir}/.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    try {
      for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) {
        let written = 0;
        while (written < part.length) written += await file.write(part.subarray(written));
      }
      await file.sync();
    } finally {
      file.close();
    }
    await hooks.beforeRename?.(temp);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw new WriteError(hooks.what ?? "file", path, e);
  }
  await syncDir(dir);
}
