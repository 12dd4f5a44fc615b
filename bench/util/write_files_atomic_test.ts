import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { writeFilesAtomic, WriteFilesError } from "./write_files_atomic.ts";

const text = (s: string) => new TextEncoder().encode(s);

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-write-files-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeFilesAtomic() replaces every file and leaves nothing else", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a"), "old a");
    await writeFilesAtomic([
      { path: join(dir, "a"), bytes: text("new a") },
      { path: join(dir, "b"), bytes: text("new b") },
    ]);
    assertEquals(await Deno.readTextFile(join(dir, "a")), "new a");
    assertEquals(await Deno.readTextFile(join(dir, "b")), "new b");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a", "b"]);
  });
});

Deno.test("writeFilesAtomic() changes no file when a later one cannot be written", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a"), "old a");
    const bad = join(dir, "missing", "b");
    let error: unknown = null;
    try {
      await writeFilesAtomic([
        { path: join(dir, "a"), bytes: text("new a") },
        { path: bad, bytes: text("new b") },
      ]);
    } catch (e) {
      error = e;
    }
    assert(error instanceof WriteFilesError, String(error));
    assertEquals(error.path, bad);
    assertEquals(error.message, `Cannot write "${bad}": No such file or directory`);
    assertEquals(await Deno.readTextFile(join(dir, "a")), "old a");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["a"], "a staged file was left");
  });
});

Deno.test("writeFilesAtomic() names a target it cannot replace, and leaves no staged file", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "b"));
    await Deno.writeFile(join(dir, "b", "inside"), text("keep the folder non-empty"));
    let error: unknown = null;
    try {
      await writeFilesAtomic([
        { path: join(dir, "a"), bytes: text("new a") },
        { path: join(dir, "b"), bytes: text("new b") },
      ]);
    } catch (e) {
      error = e;
    }
    assert(error instanceof WriteFilesError && error.path === join(dir, "b"), String(error));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a", "b"]);
  });
});
