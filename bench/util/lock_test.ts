import { withLock } from "./lock.ts";

/** The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function startTicks(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
}

/** A live process for a lock to name: `sleep`, or a deno that sleeps. */
function spawnSleeper(kind: "sleep" | "deno"): Deno.ChildProcess {
  const [cmd, args] = kind === "sleep"
    ? ["sleep", ["60"]]
    : [Deno.execPath(), ["eval", "setTimeout(() => {}, 60000)"]];
  return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).spawn();
}

async function withLockFile(
  content: (dir: string) => string | Promise<string>,
  check: (path: string) => Promise<void>,
  opts: { mtimeAgoMs?: number } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-lock-test-" });
  try {
    const path = `${dir}/x.bin.lock`;
    await Deno.writeTextFile(path, await content(dir));
    if (opts.mtimeAgoMs !== undefined) {
      const t = new Date(Date.now() - opts.mtimeAgoMs);
      await Deno.utime(path, t, t);
    }
    await check(path);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    if (left.length > 0) throw new Error(`left behind: ${left}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Takes the lock with a 5 s timeout and wants it at once, with a log line naming why. */
async function takesOverAtOnce(path: string, why: RegExp) {
  const lines: string[] = [];
  const t0 = performance.now();
  const got = await withLock(path, () => Promise.resolve("ran"), {
    timeoutMs: 5000,
    log: (l) => lines.push(l),
  });
  const ms = performance.now() - t0;
  if (got !== "ran" || ms > 3000) throw new Error(`took ${ms.toFixed(0)} ms: ${lines}`);
  if (!lines.some((l) => /stale/.test(l) && why.test(l) && l.includes(path))) {
    throw new Error(`no line saying why the lock was stale: ${JSON.stringify(lines)}`);
  }
}

const owner = (pid: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ pid, hostname: Deno.hostname(), since: new Date().toISOString(), ...extra });

Deno.test("a lock naming a live process that is not a bench (pid reused) is stale", async () => {
  const sleeper = spawnSleeper("sleep");
  try {
    await withLockFile(() => owner(sleeper.pid), (p) => takesOverAtOnce(p, /not a bench|sleep/));
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
});

Deno.test("a lock naming a live deno process that started after the lock's holder is stale", async () => {
  const sleeper = spawnSleeper("deno");
  try {
    await withLockFile(
      () => owner(sleeper.pid, { startTicks: String(Number(startTicks(sleeper.pid)) - 1) }),
      (p) => takesOverAtOnce(p, /another process/),
    );
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
});

Deno.test("an empty lock file, and one naming this very process, are stale", async () => {
  await withLockFile(() => "", (p) => takesOverAtOnce(p, /empty/), { mtimeAgoMs: 60_000 });
  await withLockFile(() => owner(Deno.pid), (p) => takesOverAtOnce(p, /this process/));
});

Deno.test("a lock held for days by a live bench is stale", async () => {
  const sleeper = spawnSleeper("deno");
  try {
    const since = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await withLockFile(
      () => owner(sleeper.pid, { startTicks: startTicks(sleeper.pid), since }),
      (p) => takesOverAtOnce(p, /ago/),
    );
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
});

Deno.test("while a live bench holds the lock, the wait names the holder and how to clear it", async () => {
  const sleeper = spawnSleeper("deno");
  try {
    await withLockFile(
      () => owner(sleeper.pid, { startTicks: startTicks(sleeper.pid) }),
      async (p) => {
        const lines: string[] = [];
        const err = await withLock(p, () => Promise.resolve(), {
          timeoutMs: 500,
          log: (l) => lines.push(l),
        }).then(() => null, (e: Error) => e.message);
        if (err === null) throw new Error("took a lock a live bench holds");
        for (const text of [lines.join("\n"), err]) {
          if (!text.includes(`pid ${sleeper.pid}`) || !/delete/.test(text) || !text.includes(p)) {
            throw new Error(`does not name the holder and how to clear it: ${text}`);
          }
        }
        await Deno.remove(p); // the holder's, not ours: withLock must not have removed it
      },
    );
  } finally {
    sleeper.kill("SIGKILL");
    await sleeper.status;
  }
});

Deno.test("two holders in one process take turns", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-lock-test-" });
  try {
    let inside = 0, most = 0;
    const work = () =>
      withLock(`${dir}/y.lock`, async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 50));
        inside--;
      });
    await Promise.all([work(), work(), work()]);
    if (most !== 1) throw new Error(`${most} holders at once`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
