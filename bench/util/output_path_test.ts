import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join } from "node:path";
import { ignorableTest } from "../../models/_testing.ts";
import { mountUnavailable, withTmpfs } from "./_testing_mounts.ts";
import { osReason, outputDirProblem, outputFileProblem } from "./output_path.ts";

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-output-path-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("outputDirProblem() accepts a writable or creatable folder, creating nothing", async () => {
  await inTempDir(async (dir) => {
    assertEquals(await outputDirProblem(dir), null);
    assertEquals(await outputDirProblem(join(dir, "new", "deeper")), null);
    assertEquals(names(dir), [], "the probe or the folder was left behind");
  });
});

Deno.test("outputDirProblem() names a file in the way", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "f");
    await Deno.writeTextFile(file, "");
    assertEquals(await outputDirProblem(file), `"${file}" is a file, not a folder`);
    assertEquals(
      await outputDirProblem(join(file, "a", "b")),
      `"${file}" is a file, so no folder can be made in it`,
    );
  });
});

Deno.test("outputFileProblem() accepts a new or existing file in a writable folder", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "x.json");
    assertEquals(await outputFileProblem(file), null);
    assertEquals(names(dir), [], "the probe or the file was left behind");
    await Deno.writeTextFile(file, "old");
    assertEquals(await outputFileProblem(file), null);
    assertEquals(await Deno.readTextFile(file), "old");
  });
});

Deno.test("outputFileProblem() names a missing folder, a folder, and a file in the way", async () => {
  await inTempDir(async (dir) => {
    const missing = join(dir, "missing", "dir");
    assertEquals(
      await outputFileProblem(join(missing, "x.json")),
      `the folder "${missing}" does not exist`,
    );
    assertEquals(await outputFileProblem(dir), `"${dir}" is a folder`);
    const file = join(dir, "f");
    await Deno.writeTextFile(file, "");
    assertEquals(
      await outputFileProblem(join(file, "x.json")),
      `"${file}" is a file, not a folder`,
    );
  });
});

ignorableTest({
  name: "outputDirProblem() and outputFileProblem() name a read-only folder",
  ignore: mountUnavailable,
  fn: () =>
    withTmpfs({ sizeKiB: 64, readOnly: true }, async (ro) => {
      assertEquals(await outputDirProblem(ro), `"${ro}" is read-only`);
      assertEquals(await outputDirProblem(join(ro, "sub")), `"${ro}" is read-only`);
      assertEquals(await outputFileProblem(join(ro, "x.json")), `"${ro}" is read-only`);
    }),
});

Deno.test("osReason() keeps the operating system's words and drops the call and path", () => {
  try {
    Deno.readFileSync("/rnnbench/no/such/file");
  } catch (e) {
    assertEquals(osReason(e), "No such file or directory");
    return;
  }
  throw new Error("the file exists");
});
