import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  checkResults,
  collectResultsFiles,
  readResultsFile,
  ResultsFileError,
  writeResultsFile,
} from "./io.ts";
import type { ResultsFile } from "./types.ts";

const FIXTURE = new URL("../../fixtures/results/one-machine.json", import.meta.url);

async function fixture(): Promise<ResultsFile> {
  return JSON.parse(await Deno.readTextFile(FIXTURE));
}

/** Runs `body` in a fresh temporary directory and removes it afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-io-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function readError(path: string): Promise<ResultsFileError> {
  try {
    await readResultsFile(path);
  } catch (error) {
    assert(error instanceof ResultsFileError, `expected ResultsFileError, got ${error}`);
    return error;
  }
  throw new Error(`reading ${path} should have failed`);
}

Deno.test("writeResultsFile() then readResultsFile() round-trips a results file", async () => {
  await inTempDir(async (dir) => {
    const data = await fixture();
    const path = join(dir, "results.json");
    await writeResultsFile(path, data);
    assertEquals(await readResultsFile(path), data);
    // Atomic write: only the target remains, no temporary file.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assertEquals(names, ["results.json"]);
  });
});

Deno.test("writeResultsFile() replaces an existing file", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "results.json");
    await Deno.writeTextFile(path, "old");
    await writeResultsFile(path, await fixture());
    assertEquals((await readResultsFile(path)).runs.length, 12);
  });
});

Deno.test("writeResultsFile() validates first and writes nothing when invalid", async () => {
  await inTempDir(async (dir) => {
    const data = await fixture();
    data.runs[0]!.epochs[1]!.testAccuracy = 3;
    const path = join(dir, "bad.json");
    await rejects(writeResultsFile(path, data), (e: unknown) => {
      assert(e instanceof ResultsFileError);
      assert(e.message.startsWith(`Cannot write results file "${path}": `), e.message);
      assert(e.message.includes("runs[0].epochs[1].testAccuracy"), e.message);
      return true;
    });
    assertEquals([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("readResultsFile() names the file and says it is not JSON", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "broken.json");
    await Deno.writeTextFile(path, '{"schemaVersion": 1,');
    const error = await readError(path);
    assert(
      error.message.startsWith(`Cannot read results file "${path}": not JSON: `),
      error.message,
    );
    assertEquals(error.path, path);
  });
});

Deno.test("readResultsFile() asks to update rnnbench for a newer schema version", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "future.json");
    await Deno.writeTextFile(path, JSON.stringify({ ...(await fixture()), schemaVersion: 3 }));
    const error = await readError(path);
    assertEquals(
      error.message,
      `Cannot read results file "${path}": schema version 3 is newer than 1: update rnnbench`,
    );
  });
});

Deno.test("readResultsFile() rejects unknown and missing schema versions", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "odd.json");
    await Deno.writeTextFile(path, JSON.stringify({ ...(await fixture()), schemaVersion: "v1" }));
    assert((await readError(path)).reason.startsWith('unknown schema version "v1"'));
    await Deno.writeTextFile(path, JSON.stringify({ runs: [] }));
    assert((await readError(path)).reason.includes("no schemaVersion"));
    await Deno.writeTextFile(path, "[1, 2]");
    assert((await readError(path)).reason.includes("not an object"));
  });
});

Deno.test("readResultsFile() lists the first few validation issues with their paths", async () => {
  await inTempDir(async (dir) => {
    const data = await fixture();
    for (let i = 0; i < 7; i++) data.runs[i]!.epochs[1]!.testAccuracy = 2;
    const path = join(dir, "invalid.json");
    await Deno.writeTextFile(path, JSON.stringify(data));
    const error = await readError(path);
    assert(error.reason.startsWith("does not match schema version 1: "), error.reason);
    assert(error.reason.includes("runs[0].epochs[1].testAccuracy: "), error.reason);
    assert(error.reason.includes("runs[4].epochs[1].testAccuracy"), error.reason);
    assert(!error.reason.includes("runs[5]"), error.reason);
    assert(error.reason.endsWith("; and 2 more"), error.reason);
  });
});

Deno.test("readResultsFile() says when the file does not exist", async () => {
  const error = await readError("/nonexistent/results.json");
  assertEquals(error.reason, "no such file");
});

Deno.test("checkResults() accepts a valid value", async () => {
  const checked = checkResults(await fixture());
  assert(checked.ok);
});

Deno.test("collectResultsFiles() expands folders to their sorted *.json files", async () => {
  await inTempDir(async (dir) => {
    for (const name of ["b.json", "a.json", "notes.txt", ".hidden.json"]) {
      await Deno.writeTextFile(join(dir, name), "{}");
    }
    await Deno.mkdir(join(dir, "sub.json"));
    const single = join(dir, "notes.txt");
    assertEquals(await collectResultsFiles([dir, single, join(dir, "a.json")]), [
      join(dir, "a.json"),
      join(dir, "b.json"),
      single,
    ]);
  });
});

Deno.test("collectResultsFiles() names a path that does not exist", async () => {
  await rejects(
    collectResultsFiles(["/nonexistent/results"]),
    /Cannot read results: "\/nonexistent\/results" does not exist/,
  );
});
