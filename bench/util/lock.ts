/**
 * A lock file around work on a shared file (the dataset cache), so two `bench` processes on
 * one machine never build the same entry at once. The lock is created complete (its content
 * written to a temporary file, then hard-linked to the lock's name, which fails if it
 * exists) and names its holder: pid, host, the process's start time, when it was taken.
 *
 * Callers in one process take turns before touching the file. A lock is stale, and taken
 * over with a line saying why, when on this host its pid is gone, is now another process
 * (another start time, or no `deno` in its command line for a lock that does not record
 * one), or is this very process (so not in use: its callers take turns); when it is empty
 * or unreadable (after a short grace); or when it was taken longer ago than any build takes.
 * While waiting for a live holder, one line names it and how to clear the lock.
 *
 * @module
 */

/** Options of {@linkcode withLock}. */
export interface LockOptions {
  /** Give up after waiting this long. @default 600_000 (10 minutes) */
  timeoutMs?: number;
  /** A lock taken longer ago than this is stale, whoever holds it. @default 3_600_000 (1 hour) */
  staleAfterMs?: number;
  /** Receives one line when the lock is busy or was stale. */
  log?: (line: string) => void;
}

/** What a lock file holds. */
interface Owner {
  pid: number;
  hostname: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The holder's start time in clock ticks since boot (Linux), telling a reused pid apart. */
  startTicks?: string;
}

/** An empty or unreadable lock younger than this may still be being written (older writers). */
const EMPTY_GRACE_MS = 2000;

/**
 * Per lock path, the end of this process's queue for it: callers in one process take turns
 * before touching the file, so a lock file naming this process is never one of ours in use.
 */
const QUEUES = new Map<string, Promise<void>>();

/** Field 22 of `/proc/<pid>/stat`, or null where there is no such file. */
function startTicks(pid: number): string | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** The command line of a process, or null when it cannot be read. */
function commandLine(pid: number): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch {
    return null;
  }
}

/** Whether a process exists; true when that cannot be told. */
function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound);
  }
}

function parseOwner(text: string): Owner | null {
  try {
    const o = JSON.parse(text) as Owner;
    return Number.isSafeInteger(o?.pid) && typeof o.hostname === "string" &&
        typeof o.since === "string"
      ? o
      : null;
  } catch {
    return null;
  }
}

const describe = (o: Owner) => `pid ${o.pid} on ${o.hostname} since ${o.since}`;

/**
 * Why the lock at `path` (content `text`, modified at `mtime`) is stale, or null when its
 * holder may be at work.
 */
function staleness(text: string, mtime: Date | null, staleAfterMs: number) {
  const owner = parseOwner(text);
  const now = Date.now();
  if (owner === null) {
    const age = mtime === null ? Infinity : now - mtime.getTime();
    return age < EMPTY_GRACE_MS ? null : `it is ${text === "" ? "empty" : "not a lock we wrote"}`;
  }
  if (owner.hostname === Deno.hostname()) {
    if (owner.pid === Deno.pid) {
      return `it names this process (pid ${owner.pid}), which does not hold it`;
    } else if (!alive(owner.pid)) {
      return `pid ${owner.pid} is no longer running`;
    } else {
      const ticks = startTicks(owner.pid);
      if (owner.startTicks !== undefined) {
        if (ticks !== null && ticks !== owner.startTicks) {
          return `pid ${owner.pid} is now another process (started after the lock was taken)`;
        }
      } else {
        const cmd = commandLine(owner.pid);
        if (cmd !== null && !/\bdeno\b/.test(cmd)) {
          return `pid ${owner.pid} is not a bench (it runs "${cmd.slice(0, 60)}")`;
        }
      }
    }
  }
  const since = Date.parse(owner.since);
  if (Number.isFinite(since) && now - since > staleAfterMs) {
    return `it was taken ${Math.round((now - since) / 60_000)} min ago (${describe(owner)}), ` +
      `longer than any build takes`;
  }
  return null;
}

/** Creates the lock complete: true when taken, false when it exists, null when it cannot be. */
async function create(path: string): Promise<boolean | null> {
  const ticks = startTicks(Deno.pid);
  const owner: Owner = {
    pid: Deno.pid,
    hostname: Deno.hostname(),
    since: new Date().toISOString(),
    ...(ticks === null ? {} : { startTicks: ticks }),
  };
  const text = JSON.stringify(owner);
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(temp, text, { createNew: true });
  } catch {
    return null; // the folder cannot hold a lock (read-only, say)
  }
  try {
    await Deno.link(temp, path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    // No hard links here: create it in place (empty for a moment; see EMPTY_GRACE_MS).
    try {
      await Deno.writeTextFile(path, text, { createNew: true });
      return true;
    } catch (e2) {
      return e2 instanceof Deno.errors.AlreadyExists ? false : null;
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/**
 * Runs `fn` while holding the lock file `path`. If the folder cannot hold a lock file
 * (read-only), runs `fn` without one: every shared file is also written atomically.
 *
 * @param path the lock file, e.g. `<cache>/<entry>.lock`
 * @param fn the work
 * @param opts timeout, staleness age and where lines go
 * @returns what `fn` returns
 * @throws Error naming the lock, its holder and how to clear it when it stays busy past
 *   the timeout
 * @example
 * ```ts ignore
 * await withLock(".cache/data/x.bin.lock", () => buildX(), { log: console.error });
 * ```
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const before = QUEUES.get(path) ?? Promise.resolve();
  let done = () => {};
  const mine = before.then(() => new Promise<void>((resolve) => (done = resolve)));
  QUEUES.set(path, mine);
  await before;
  try {
    return await withLockFile(path, fn, opts);
  } finally {
    done();
    if (QUEUES.get(path) === mine) QUEUES.delete(path);
  }
}

/** {@linkcode withLock} once this process's earlier callers for `path` are done. */
async function withLockFile<T>(
  path: string,
  fn: () => Promise<T>,
  opts: LockOptions,
): Promise<T> {
  const { timeoutMs = 600_000, staleAfterMs = 3_600_000, log = () => {} } = opts;
  const start = Date.now();
  let said = false;
  for (;;) {
    const taken = await create(path);
    if (taken === null) return await fn();
    if (taken) break;
    let text = "", mtime: Date | null = null;
    try {
      text = await Deno.readTextFile(path);
      mtime = (await Deno.stat(path)).mtime;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // released meanwhile
    }
    const why = staleness(text, mtime, staleAfterMs);
    if (why !== null) {
      // Remove it only if it is still the lock judged stale (another waiter may have
      // taken it over since); a lost race here costs one duplicated build, not a file.
      const now = await Deno.readTextFile(path).catch(() => null);
      if (now === text) {
        log(`Taking over the stale lock "${path}": ${why}`);
        await Deno.remove(path).catch(() => {});
      }
      continue;
    }
    const owner = parseOwner(text);
    const holder = owner === null ? "a process that is still writing it" : describe(owner);
    const clear = `if no bench is running there, delete "${path}"`;
    if (Date.now() - start > timeoutMs) {
      throw new Error(
        `Cannot lock "${path}": held by ${holder} for over ${
          Math.round(timeoutMs / 1000)
        } s; ${clear}`,
      );
    }
    if (!said) {
      log(`Waiting for the lock "${path}", held by ${holder} (${clear})`);
      said = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    return await fn();
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
