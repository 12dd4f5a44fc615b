import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ignorableTest } from "../models/_testing.ts";
import { parseBenchArgs } from "../bench/cli.ts";
import { writeInferJson } from "../bench/infer/infer_json.ts";
import { benchPeers } from "../bench/peers/bench_peers.ts";
import { readResultsFile } from "../bench/results/io.ts";
import { fillDisk, mountUnavailable, withTmpfs } from "../bench/util/_testing_mounts.ts";
import type { MachineInfo } from "../bench/util/machine.ts";
import { inTempDir, ROOT } from "./_test_util.ts";

const CWD = fileURLToPath(ROOT);
const FIXTURE = join(CWD, "fixtures/results/one-machine.json");

/** Runs `deno task report`'s entry point with `args`; returns status and output. */
async function report(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "reports/main.ts", ...args],
    cwd: CWD,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("report exits non-zero naming every bad file and why, and writes nothing", async () => {
  await inTempDir(async (dir) => {
    const fixture = JSON.parse(await Deno.readTextFile(FIXTURE));
    const malformed = join(dir, "malformed.json");
    const newer = join(dir, "newer.json");
    const invalid = join(dir, "invalid.json");
    await Deno.writeTextFile(malformed, '{"schemaVersion": 1, "runs": [');
    await Deno.writeTextFile(newer, JSON.stringify({ ...fixture, schemaVersion: 3 }));
    fixture.runs[0].epochs[1].testAccuracy = 1.5;
    await Deno.writeTextFile(invalid, JSON.stringify(fixture));
    const out = join(dir, "out");

    const { code, stderr } = await report(FIXTURE, malformed, newer, invalid, "--out", out);
    assertEquals(code, 1);
    assert(stderr.includes(`Cannot read results file "${malformed}": not JSON`), stderr);
    assert(
      stderr.includes(
        `Cannot read results file "${newer}": schema version 3 is newer than 1: update rnnbench`,
      ),
      stderr,
    );
    assert(
      stderr.includes(`Cannot read results file "${invalid}": does not match schema version 1: `) &&
        stderr.includes("runs[0].epochs[1].testAccuracy"),
      stderr,
    );
    assert(!stderr.includes(FIXTURE), "the valid file is not reported as bad");
    assert(!(await exists(out)), "the output folder was created");
  });
});

Deno.test("report writes nothing into an existing output folder when an input is bad", async () => {
  await inTempDir(async (dir) => {
    const bad = join(dir, "bad.json");
    await Deno.writeTextFile(bad, "not json");
    const { code, stderr } = await report(bad, "--out", dir);
    assertEquals(code, 1);
    assert(stderr.includes(`"${bad}": not JSON`), stderr);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["bad.json"]);
  });
});

Deno.test("report names missing inputs and an empty folder", async () => {
  await inTempDir(async (dir) => {
    const missing = join(dir, "nope");
    let r = await report(missing, "--out", join(dir, "out"));
    assertEquals(r.code, 1);
    assert(r.stderr.includes(`"${missing}" does not exist`), r.stderr);
    r = await report(dir, "--out", join(dir, "out"));
    assertEquals(r.code, 1);
    assert(r.stderr.includes(`No results files in "${dir}"`), r.stderr);
    assert(!(await exists(join(dir, "out"))));
  });
});

Deno.test("report refuses an unknown baseline, listing the machines", async () => {
  await inTempDir(async (dir) => {
    const out = join(dir, "out");
    const { code, stderr } = await report(FIXTURE, "--baseline", "nope", "--out", out);
    assertEquals(code, 1);
    assert(stderr.includes(`baseline "nope" is not among the machines`), stderr);
    assert(stderr.includes(`"ref-2core"`), stderr);
    assert(!(await exists(out)));
  });
});

Deno.test("report writes report.md, report.html and the charts", async () => {
  await inTempDir(async (dir) => {
    const out = join(dir, "out");
    const { code, stdout, stderr } = await report(FIXTURE, "--out", out, "--lang", "ru");
    assertEquals(code, 0, stderr);
    assert(stdout.includes("Wrote"), stdout);
    const md = await Deno.readTextFile(join(out, "report.md"));
    const charts = [...md.matchAll(/\]\((charts\/[^)]+\.png)\)/g)].map((m) => m[1]!);
    // the ladder; per profile (4): accuracy and loss per epoch, accuracy against time
    assertEquals(charts.length, 13);
    for (const chart of charts) {
      const png = await Deno.readFile(join(out, chart));
      assertEquals([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    }
    const html = await Deno.readTextFile(join(out, "report.html"));
    assertEquals(html.match(/<img src="data:image\/png;base64,/g)?.length, 13);
    assert(html.includes("Графики зависимости точности моделей от выбранной архитектуры"));
  });
});

Deno.test("report --help lists every flag with its default", async () => {
  const { code, stdout } = await report("--help");
  assertEquals(code, 0);
  for (
    const text of [
      "--out <dir>",
      `(default: "report")`,
      "--baseline <machine>",
      "first machine name",
      "--lang <lang>",
      `default: "en"`,
      `(default: ["results/"])`,
    ]
  ) {
    assert(stdout.includes(text), `help lacks ${text}:\n${stdout}`);
  }
});

/** Asserts that `stderr` is one line, with no stack trace, and matches every pattern. */
function assertOneLine(stderr: string, ...patterns: RegExp[]): void {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, `expected one line, got:\n${stderr}`);
  for (const p of patterns) assert(p.test(stderr), `${p} not in:\n${stderr}`);
}

/** Every file under `dir` (hidden ones included) with its bytes, by relative path. */
async function tree(dir: string, prefix = ""): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = join(prefix, e.name);
    if (e.isDirectory) { for (const [k, v] of await tree(dir, rel)) files.set(k, v); }
    else files.set(rel, Array.from(await Deno.readFile(join(dir, rel))).join());
  }
  return files;
}

ignorableTest({
  name: "report --out on a full disk keeps the old report whole and says why in one line",
  ignore: mountUnavailable,
  fn: () =>
    withTmpfs({ sizeKiB: 4096 }, async (disk) => {
      const out = join(disk, "report");
      const first = await report(FIXTURE, "--out", out);
      assertEquals(first.code, 0, first.stderr);
      const before = await tree(out);
      const free = await fillDisk(disk);
      // No room at all, then room for the new report.md but not for report.html.
      for (const room of [0, 128]) {
        await free(room);
        const { code, stderr } = await report(FIXTURE, "--lang", "ru", "--out", out);
        assertEquals(code, 1, stderr);
        assertOneLine(stderr, /No space left on device/, new RegExp(out));
        assertEquals(await tree(out), before, `with ${room} KiB free the old report changed`);
      }
    }),
});

Deno.test("report --out naming a file, or a folder under a file, says so in one line", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "file.txt");
    await Deno.writeTextFile(file, "mine");
    for (const out of [file, join(file, "sub")]) {
      const { code, stderr } = await report(FIXTURE, "--out", out);
      assertEquals(code, 1, stderr);
      assertOneLine(stderr, new RegExp(`"${file}" is a file`));
    }
    assertEquals(await Deno.readTextFile(file), "mine");
    // An output folder whose charts/ is a file: refused before anything is written.
    const out = join(dir, "out");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, "charts"), "mine");
    const { code, stderr } = await report(FIXTURE, "--out", out);
    assertEquals(code, 1, stderr);
    assertOneLine(stderr, new RegExp(`"${join(out, "charts")}" is a file`));
    assertEquals([...Deno.readDirSync(out)].map((e) => e.name), ["charts"]);
  });
});

ignorableTest({
  name: "report --out naming a read-only folder, or a new folder in one, says so in one line",
  ignore: mountUnavailable,
  fn: () =>
    withTmpfs({ sizeKiB: 64, readOnly: true }, async (ro) => {
      for (const out of [ro, join(ro, "sub")]) {
        const { code, stderr } = await report(FIXTURE, "--out", out);
        assertEquals(code, 1, stderr);
        assertOneLine(stderr, new RegExp(`"${ro}" is read-only`));
      }
    }),
});

Deno.test("report reads a folder that bench --peers torch, gpu-check and infer --json wrote into", async () => {
  await inTempDir(async (dir) => {
    const id = "2025-01-01T00-00-00-ref";
    const results = await readResultsFile(FIXTURE);
    await Deno.copyFile(FIXTURE, join(dir, `${id}.json`));
    // The sidecar bench --peers torch writes when torch is missing.
    const args = parseBenchArgs(["--profile", "smoke", "--peers", "torch", "--out", dir]);
    const sidecar = await benchPeers(results, args, id, () => {}, "rnnbench-no-such-python");
    // What gpu-check --out and infer --json write.
    const gpuCheck = join(dir, "gpu-check-20250101T000000000Z.json");
    await Deno.writeTextFile(
      gpuCheck,
      JSON.stringify({ createdAt: "2025-01-01T00:00:00.000Z", cuda: "emulated", machine: {} }),
    );
    const infer = join(dir, "infer.json");
    await writeInferJson(infer, {
      date: "2025-01-01T00:00:00.000Z",
      command: "deno task infer m.onnx",
      machine: results.machine as MachineInfo,
      models: [],
    });

    const out = join(dir, "report");
    let r = await report(dir, "--out", out);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.includes("from 1 results file"), r.stdout);
    for (const skipped of [sidecar, gpuCheck, infer]) {
      assert(r.stdout.includes(skipped), `${skipped} not named as skipped:\n${r.stdout}`);
    }
    // Named one by one, as a shell glob names them: the same.
    r = await report(join(dir, `${id}.json`), sidecar, "--out", out);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.includes(sidecar), r.stdout);
    // Only files that are not results: no results files, and it says what it skipped.
    await Deno.remove(join(dir, `${id}.json`));
    r = await report(dir, "--out", out);
    assertEquals(r.code, 1);
    assertOneLine(r.stderr, /No results files in/, new RegExp(sidecar));
  });
});
