import { formatTable, parseInferArgs } from "./main.ts";
import { tinyOnnxFile } from "./_testing.ts";
import { ignorableTest } from "../../models/_testing.ts";
import { fillDisk, mountUnavailable, withTmpfs } from "../util/_testing_mounts.ts";

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = new URL("./main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", main, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("parseInferArgs() reads lists and defaults", () => {
  const a = parseInferArgs([
    "m.onnx",
    "--batch-sizes",
    "1,64",
    "--workers",
    "1,2",
    "--providers",
    "cpu",
  ]);
  if (
    a.models.join() !== "m.onnx" || a.batchSizes.join() !== "1,64" || a.workers.join() !== "1,2"
  ) {
    throw new Error(JSON.stringify(a));
  }
  if (a.providers.join() !== "cpu" || a.seqLen !== null || a.json !== null || a.repeats !== 3) {
    throw new Error(JSON.stringify(a));
  }
  const d = parseInferArgs(["m.onnx"]);
  if (d.batchSizes.join() !== "1,64,1000" || d.providers.join() !== "cpu,cuda") {
    throw new Error(JSON.stringify(d));
  }
});

Deno.test("infer exits non-zero on a bad flag and lists the valid values", async () => {
  const p = await cli("m.onnx", "--providers", "tpu");
  if (p.code === 0 || !/valid values are cpu, cuda/.test(p.stderr)) throw new Error(p.stderr);
  const b = await cli("m.onnx", "--batch-sizes", "1,x");
  if (b.code === 0 || !/every batch size must be an integer/.test(b.stderr)) {
    throw new Error(b.stderr);
  }
});

Deno.test("infer benchmarks a model file, prints a table and writes JSON", async () => {
  const m = await tinyOnnxFile();
  try {
    const json = `${m.dir}/out.json`;
    const r = await cli(
      m.path,
      "--batch-sizes",
      "1,4",
      "--workers",
      "1",
      "--providers",
      "cpu",
      "--min-seconds",
      "0.05",
      "--repeats",
      "1",
      "--json",
      json,
    );
    if (r.code !== 0 || !/seq\/s/.test(r.stdout)) throw new Error(r.stderr);
    const out = JSON.parse(await Deno.readTextFile(json));
    if (out.models[0].inference.length !== 2 || out.models[0].metadata.architecture !== "lstm") {
      throw new Error(JSON.stringify(out));
    }
    const missing = await cli(`${m.dir}/missing.onnx`, "--providers", "cpu");
    if (missing.code === 0 || !/missing\.onnx.*does not exist/.test(missing.stderr)) {
      throw new Error(missing.stderr);
    }
  } finally {
    await m.cleanup();
  }
});

Deno.test("formatTable() aligns results and shows why a provider is unavailable", () => {
  const t = formatTable([
    {
      model: "a.onnx",
      result: {
        provider: "cpu",
        batchSize: 1,
        workers: 2,
        sequencesPerSecond: 1234.5,
        latencyMs: { p50: 1, p95: 2, p99: 3 },
        unavailable: null,
      },
    },
    {
      model: "a.onnx",
      result: {
        provider: "cuda",
        batchSize: 1,
        workers: 2,
        sequencesPerSecond: null,
        latencyMs: null,
        unavailable: "no library",
      },
    },
  ]);
  const lines = t.split("\n");
  if (
    lines.length !== 3 || !lines[1]!.includes("1235") ||
    !lines[2]!.includes("unavailable: no library")
  ) {
    throw new Error(t);
  }
});

/** The flags of a quick benchmark of the tiny model. */
const QUICK = ["--batch-sizes", "1", "--workers", "1", "--providers", "cpu"];

/** Throws unless `stderr` is one line, with no stack trace, matching every pattern. */
function assertOneLine(stderr: string, ...patterns: RegExp[]): void {
  const lines = stderr.trim().split("\n");
  if (lines.length !== 1) throw new Error(`expected one line, got:\n${stderr}`);
  for (const p of patterns) if (!p.test(stderr)) throw new Error(`${p} not in:\n${stderr}`);
}

Deno.test("infer checks the --json path before it benchmarks anything", async () => {
  const m = await tinyOnnxFile();
  try {
    const cases: [string, RegExp][] = [
      [`${m.dir}/missing/dir/x.json`, /folder ".*\/missing\/dir" does not exist/],
      [m.dir, /is a folder/],
      [`${m.path}/x.json`, /is a file/],
      [m.path, /is one of the models/],
    ];
    for (const [json, why] of cases) {
      const r = await cli(m.path, ...QUICK, "--json", json);
      if (r.code === 0) throw new Error(`--json ${json} was accepted`);
      assertOneLine(r.stderr, /--json/, why); // one line: no progress line, so nothing ran
      if (r.stdout !== "") throw new Error(r.stdout);
    }
    if ((await Deno.stat(m.path)).size !== m.bytes.length) throw new Error("the model changed");
  } finally {
    await m.cleanup();
  }
});

ignorableTest({
  name: "infer --json in a read-only folder is refused before the benchmark",
  ignore: mountUnavailable,
  fn: () =>
    withTmpfs({ sizeKiB: 64, readOnly: true }, async (ro) => {
      const m = await tinyOnnxFile();
      try {
        const r = await cli(m.path, ...QUICK, "--json", `${ro}/x.json`);
        if (r.code === 0) throw new Error("accepted");
        assertOneLine(r.stderr, new RegExp(`"${ro}" is read-only`));
      } finally {
        await m.cleanup();
      }
    }),
});

ignorableTest({
  name: "infer --json on a full disk prints the table, keeps the old file and says why in one line",
  ignore: mountUnavailable,
  fn: () =>
    withTmpfs({ sizeKiB: 256 }, async (disk) => {
      const m = await tinyOnnxFile();
      try {
        const json = `${disk}/x.json`;
        await Deno.writeTextFile(json, "old");
        await fillDisk(disk);
        // 16 batch sizes: JSON over 4 KiB, more than the page the old file frees when
        // overwritten in place.
        const sizes = Array.from({ length: 16 }, (_, i) => i + 1).join();
        const r = await cli(
          m.path,
          ...QUICK,
          "--batch-sizes",
          sizes,
          "--min-seconds",
          "0.02",
          "--repeats",
          "1",
          "--json",
          json,
        );
        if (r.code === 0) throw new Error("a full disk was not noticed");
        if (!/seq\/s/.test(r.stdout)) throw new Error(`the figures were lost:\n${r.stdout}`);
        const last = r.stderr.trim().split("\n").pop()!;
        if (
          !/No space left on device/.test(last) || !last.includes(json) || /^\s+at /m.test(r.stderr)
        ) {
          throw new Error(r.stderr);
        }
        if (await Deno.readTextFile(json) !== "old") throw new Error("the old file changed");
        const names = [...Deno.readDirSync(disk)].map((e) => e.name);
        if (names.some((n) => n.endsWith(".tmp"))) throw new Error(`left behind: ${names}`);
      } finally {
        await m.cleanup();
      }
    }),
});
