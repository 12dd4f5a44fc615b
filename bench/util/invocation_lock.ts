/**
 * The lock on one `bench` invocation's state (`<out>/.state/<id>.lock`), held for as long as
 * a process runs that invocation, so a second process on the same invocation (a `--resume`
 * while the first still runs, a requeued cluster task whose first instance is still alive)
 * is refused instead of training beside it and overwriting its files.
 *
 * The lock is an advisory `flock` on the file, not the file's existence: the kernel drops it
 * when its holder exits in any way (SIGKILL included), so a lock left by a dead process is
 * stale by construction, whatever pid is written in it. On NFS, Linux maps `flock` to POSIX
 * locks, so holders on other machines are seen too, and a dead machine's lock lapses with its
 * lease. The file holds the holder's pid, host, start time and Slurm job id, only to name the
 * holder in the refusal. A file system that cannot lock at all (some parallel file systems
 * mounted without `flock`) gets a warning and no lock.
 *
 * @module
 */

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  since: string;
  /** `SLURM_JOB_ID` of the holder, or null outside Slurm. */
  slurmJobId: string | null;
}

/** Thrown when another live process holds the lock of the invocation. */
export class InvocationBusyError extends Error {
  /**
   * @param id the invocation id
   * @param path the lock file
   * @param holder what the lock file says about its holder (null: unreadable)
   */
  constructor(
    readonly id: string,
    readonly path: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder === null ? "another process" : `pid ${holder.pid} on ${holder.hostname}` +
      (holder.slurmJobId === null ? "" : ` (Slurm job ${holder.slurmJobId})`) +
      ` since ${holder.since}`;
    super(
      `Cannot run invocation ${id}: it is being run by ${who}; wait for that process to end ` +
        `(the lock "${path}" is released when it exits, however it exits)`,
    );
    this.name = "InvocationBusyError";
  }
}

/** A held lock; `release` removes the lock file (and `.state/` if that leaves it empty). */
export interface InvocationLock {
  /** The lock file. */
  readonly path: string;
  /** Releases the lock; safe to call twice. */
  release(): Promise<void>;
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const h = JSON.parse(await Deno.readTextFile(path)) as LockHolder;
    return typeof h.pid === "number" && typeof h.hostname === "string" ? h : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of invocation `id` in `out`, creating `<out>/.state/` if needed.
 * @param out the results folder
 * @param id the invocation id
 * @param warn receives one line when the file system cannot lock
 * @returns the held lock
 * @throws InvocationBusyError when a live process holds it
 */
export async function lockInvocation(
  out: string,
  id: string,
  warn: (line: string) => void = () => {},
): Promise<InvocationLock> {
  const path = `${out}/.state/${id}.lock`;
  for (;;) {
    await Deno.mkdir(`${out}/.state`, { recursive: true });
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: true, create: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // another release removed .state/
      throw e;
    }
    let locked: boolean;
    try {
      locked = await file.tryLock(true);
    } catch (e) {
      file.close();
      warn(
        `Cannot lock "${path}" (${(e as Error).message}): this file system has no locks, so a ` +
          `second process on invocation ${id} would not be detected`,
      );
      return { path, release: () => Promise.resolve() };
    }
    if (!locked) {
      file.close();
      throw new InvocationBusyError(id, path, await readHolder(path));
    }
    // The previous holder may have removed the file between our open and our lock: then we
    // hold a lock on a deleted file that nobody else can see. Start again on the new path.
    const same = await Deno.stat(path).then(
      async (s) => s.ino === (await file.stat()).ino,
      () => false,
    );
    if (!same) {
      file.close();
      continue;
    }
    const holder: LockHolder = {
      pid: Deno.pid,
      hostname: Deno.hostname(),
      since: new Date().toISOString(),
      slurmJobId: Deno.env.get("SLURM_JOB_ID") ?? null,
    };
    await file.truncate(0);
    const bytes = new TextEncoder().encode(JSON.stringify(holder) + "\n");
    for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    let held = true;
    return {
      path,
      release: async () => {
        if (!held) return;
        held = false;
        await Deno.remove(path).catch(() => {}); // before unlocking: see the inode check above
        file.close();
        await Deno.remove(`${out}/.state`).catch(() => {}); // only if nothing else is in it
      },
    };
  }
}
