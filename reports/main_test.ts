import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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
    assertEquals(charts.length, 8);
    for (const chart of charts) {
      const png = await Deno.readFile(join(out, chart));
      assertEquals([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    }
    const html = await Deno.readTextFile(join(out, "report.html"));
    assertEquals(html.match(/<img src="data:image\/png;base64,/g)?.length, 8);
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
