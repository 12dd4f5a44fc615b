/**
 * Every entry point, run as a user runs it (`deno run -A <file>`): `--help` exits 0 and lists
 * exactly its flags, each with its default; a bogus flag exits non-zero with one line on
 * stderr and no stack trace. The table below is the list of entry points and of their flags
 * (renaming a flag fails here), checked against the tree: a file that reads `Deno.args` is an
 * entry point and must be in it.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Each entry point and its flags (`--help` besides). */
const ENTRY_POINTS: Readonly<Record<string, readonly string[]>> = {
  "bench/main.ts": [
    ...["--profile", "--arch", "--cell", "--engine", "--epochs", "--labels", "--seed", "--seeds"],
    ...["--limit-batches", "--out", "--threads", "--device", "--machine", "--target-accuracy"],
    ...[
      "--onnx",
      "--batch-sizes",
      "--workers",
      "--lr",
      "--validation",
      "--validation-carve",
      "--reference",
    ],
    ...["--checkpoint-every", "--peers", "--peer-batches", "--shard", "--resume", "--id"],
  ],
  "reports/main.ts": ["--out", "--baseline", "--lang"],
  "bench/infer/main.ts": [
    ...["--batch-sizes", "--workers", "--providers", "--seq-len", "--vocab-size"],
    ...["--min-seconds", "--repeats", "--json"],
  ],
  "bench/tools/sweep.ts": [
    ...[
      "--validation",
      "--validation-carve",
      "--base",
      "--arch",
      "--cell",
      "--grid",
      "--variant",
      "--skip-base",
    ],
    "--set",
    ...["--epochs", "--seed", "--seeds", "--engine", "--threads", "--limit-batches", "--name"],
    "--out",
  ],
  "bench/tools/gpu_check.ts": [
    ...["--device", "--arch", "--cell", "--shapes", "--readout", "--skip-epochs", "--epochs"],
    "--peers",
    ...["--peer-batches", "--profile", "--out", "--precompile"],
  ],
  "bench/tools/device/pack.ts": ["--sm", "--profile"],
  "bench/dev/compare_forms.ts": ["--arch", "--batch", "--turns", "--old"],
  "bench/dev/cuda_edge_sweep.ts": [],
  "bench/dev/cuda_host_bench.ts": ["--arch", "--epochs", "--profile"],
  "bench/dev/measure_original.ts": [
    ...["--workers", "--batch-sizes", "--min-seconds", "--repeats", "--seed", "--cpu-seconds"],
    ...["--styles", "--scan", "--json"],
  ],
  "bench/dev/native_bench.ts": [
    ...["--arch", "--steps", "--warmup", "--threads", "--batch", "--max-len", "--vocab"],
    ...["--tfjs", "--tfjs-steps", "--ghz"],
  ],
  "bench/dev/tfjs_bench.ts": [
    ...["--arch", "--backend", "--steps", "--warmup", "--warmup-len", "--vocab", "--embed"],
    ...["--hidden", "--layers", "--max-len", "--batch", "--checkpoint", "--memory"],
  ],
  "bench/data/make_fixture.ts": [],
  "bench/peers/export_npy.ts": ["--profile", "--out"],
  "fixtures/results/make_fixtures.ts": [],
};

async function run(file: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", file, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** Runs `f` on every entry point, two at a time. */
async function eachEntryPoint(f: (file: string, flags: readonly string[]) => Promise<void>) {
  const queue = Object.entries(ENTRY_POINTS);
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) await f(...next);
  };
  await Promise.all([worker(), worker()]);
}

/** The help's option entries: each starts with its flags, continued on indented lines. */
function optionEntries(help: string): string[] {
  const section = help.split(/^Options:$/m)[1] ?? "";
  const entries: string[] = [];
  for (const line of section.split("\n")) {
    if (/^ {2}-/.test(line)) entries.push(line.trim());
    else if (/^ {3,}\S/.test(line) && entries.length > 0) {
      entries.push(`${entries.pop()} ${line.trim()}`);
    } else if (line.trim() !== "") break; // the text after the options
  }
  return entries;
}

Deno.test("every file that reads Deno.args is in the table of entry points", async () => {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(path);
        // bench/run.ts records the command line in the results; it parses nothing.
        if (/Deno\.args\b/.test(text) && !path.endsWith("bench/run.ts")) {
          found.push(relative(ROOT, path));
        }
      }
    }
  };
  for (const dir of ["bench", "reports", "models", "fixtures"]) await walk(join(ROOT, dir));
  assertEquals(found.sort(), Object.keys(ENTRY_POINTS).sort());
});

Deno.test("every entry point's --help exits 0 and lists exactly its flags, each with its default", async () => {
  await eachEntryPoint(async (file, flags) => {
    const r = await run(file, ["--help"]);
    assertEquals(r.code, 0, `${file} --help: exit ${r.code}\n${r.stderr}`);
    const entries = optionEntries(r.stdout);
    const listed = entries.map((e) => e.match(/--[a-z-]+/)?.[0]);
    assertEquals(listed, [...flags, "--help"], `${file} --help lists other flags:\n${r.stdout}`);
    for (const entry of entries.filter((e) => !e.includes("--help"))) {
      assert(/\((.*, )?default: |\(required\)/.test(entry), `${file}: no default in "${entry}"`);
    }
  });
});

Deno.test("every entry point rejects a bogus flag on one line, non-zero, with no stack trace", async () => {
  await eachEntryPoint(async (file) => {
    const r = await run(file, ["--bogus-flag"]);
    assert(r.code !== 0, `${file} --bogus-flag: exit 0`);
    assert(!/^ {4}at /m.test(r.stderr), `${file} --bogus-flag: a stack trace:\n${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, `${file} --bogus-flag: not one line:\n${r.stderr}`);
    assert(lines[0]!.includes("unknown option '--bogus-flag'"), `${file}: ${lines[0]}`);
    assertEquals(r.stdout, "", `${file} --bogus-flag wrote to stdout`);
  });
});
