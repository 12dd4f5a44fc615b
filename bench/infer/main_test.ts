import { formatTable, parseInferArgs } from "./main.ts";
import { tinyOnnxFile } from "./_testing.ts";

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
