import { InvocationBusyError, lockInvocation } from "./invocation_lock.ts";

const lockModule = new URL("./invocation_lock.ts", import.meta.url).href;

async function refused(out: string, id: string): Promise<InvocationBusyError> {
  try {
    const l = await lockInvocation(out, id);
    await l.release();
  } catch (e) {
    if (e instanceof InvocationBusyError) return e;
    throw e;
  }
  throw new Error("the lock was taken twice");
}

Deno.test("lockInvocation() refuses a second holder in the same process until the first releases", async () => {
  const out = await Deno.makeTempDir();
  try {
    const a = await lockInvocation(out, "inv1");
    const e = await refused(out, "inv1");
    if (!e.message.includes(`pid ${Deno.pid}`) || !e.message.includes(a.path)) {
      throw new Error(`the refusal does not name the holder and the lock: ${e.message}`);
    }
    const other = await lockInvocation(out, "inv2"); // another invocation is independent
    await other.release();
    await a.release();
    await a.release(); // twice is harmless
    const b = await lockInvocation(out, "inv1");
    await b.release();
    if ([...Deno.readDirSync(out)].length !== 0) throw new Error("left files or .state/ behind");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("lockInvocation() refuses while another process holds the lock, and takes it once that process is SIGKILLed", async () => {
  const out = await Deno.makeTempDir();
  try {
    const code = `import { lockInvocation } from ${JSON.stringify(lockModule)};
      await lockInvocation(${JSON.stringify(out)}, "inv");
      console.log("held");
      await new Promise((r) => setTimeout(r, 60_000));`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = await reader.read();
    if (!new TextDecoder().decode(first.value).includes("held")) throw new Error("child failed");
    try {
      const e = await refused(out, "inv");
      if (e.holder?.pid !== child.pid) {
        throw new Error(`the refusal names ${JSON.stringify(e.holder)}, want pid ${child.pid}`);
      }
    } finally {
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel();
    }
    // The lock file is still there, naming a dead pid: the kernel dropped the lock with it.
    await Deno.stat(`${out}/.state/inv.lock`);
    const l = await lockInvocation(out, "inv");
    await l.release();
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
