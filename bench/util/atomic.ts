/**
 * Atomic file writes: the bytes go to a temporary file in the same folder, are flushed to
 * disk (fsync), and only then renamed over the target. A crash at any point leaves either
 * the previous file or the new one, never a truncated mix.
 *
 * @module
 */

/** Hooks for tests that inject a crash between the steps. */
export interface AtomicHooks {
  /** Called after the temporary file is written and synced, before the rename. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Writes `bytes` to `path` atomically.
 * @param path target file
 * @param bytes content, or its parts in order
 * @param hooks test hooks
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array | readonly Uint8Array[],
  hooks: AtomicHooks = {},
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) : ".";
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
    throw e;
  }
}
