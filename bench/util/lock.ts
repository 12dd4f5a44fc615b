/**
 * A lock file around work on a shared file (the dataset cache, the native compile cache),
 * so two `bench` processes on one machine never build the same entry at once. The lock is
 * a file created with O_EXCL holding the owner's pid; a lock whose owner is gone (crash,
 * SIGKILL) is taken over.
 *
 * @module
 */

/** Options of {@linkcode withLock}. */
export interface LockOptions {
  /** Give up after waiting this long. @default 600_000 (10 minutes) */
  timeoutMs?: number;
  /** Receives one line when the lock is busy or was stale. */
  log?: (line: string) => void;
}

interface Owner {
  pid: number;
  hostname: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    return true; // cannot tell: assume alive
  }
}

async function readOwner(path: string): Promise<Owner | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as Owner;
  } catch {
    return null;
  }
}

/**
 * Runs `fn` while holding the lock file `path`. If the folder cannot hold a lock file
 * (read-only), runs `fn` without one: every shared file is also written atomically.
 *
 * @throws Error naming the lock and its owner when it stays busy past the timeout
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const { timeoutMs = 600_000, log = () => {} } = opts;
  const start = Date.now();
  let said = false;
  for (;;) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { write: true, createNew: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) return await fn(); // cannot lock here
      const owner = await readOwner(path);
      const host = Deno.hostname();
      if (owner !== null && owner.hostname === host && !alive(owner.pid)) {
        log(`Taking over stale lock "${path}" of pid ${owner.pid} (no longer running)`);
        await Deno.remove(path).catch(() => {});
        continue;
      }
      if (Date.now() - start > timeoutMs) {
        throw new Error(
          `Cannot lock "${path}": held by ${
            owner ? `pid ${owner.pid} on ${owner.hostname} since ${owner.since}` : "another process"
          } for over ${Math.round(timeoutMs / 1000)} s; remove the file if no bench is running`,
        );
      }
      if (!said) {
        log(`Waiting for "${path}" (another bench process is building it)`);
        said = true;
      }
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      const owner: Owner = {
        pid: Deno.pid,
        hostname: Deno.hostname(),
        since: new Date().toISOString(),
      };
      await file.write(new TextEncoder().encode(JSON.stringify(owner)));
      file.close();
      return await fn();
    } finally {
      await Deno.remove(path).catch(() => {});
    }
  }
}
