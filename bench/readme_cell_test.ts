/**
 * The README's "Your own cell" example from a fresh clone: its cell file (the section's
 * ```ts block, which has no imports) is written to a temporary folder outside the
 * repository, the committed tree is cloned into another, `deno install` sets up its npm
 * packages (from Deno's package cache, as on any machine that ran it once), and
 * `deno task bench --profile smoke --cell FILE` and `deno task report` run there. Nothing
 * outside the clone and the temporary folders is read but the package cache; the clone's
 * tree is left unchanged.
 *
 * @module
 */
import { ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readResultsFile } from "./results/io.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECTION = "## Your own cell";

/** The blocks of a README section: `{ ts, sh }`, the code of its first block of each. */
function sectionBlocks(readme: string): { ts: string; sh: string } {
  const at = readme.indexOf(`\n${SECTION}\n`);
  if (at < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const next = readme.indexOf("\n## ", at + 1);
  const section = readme.slice(at, next < 0 ? undefined : next);
  const block = (lang: string) => {
    const m = section.match(new RegExp("\\n```" + lang + "\\n([\\s\\S]*?)\\n```\\n"));
    if (m === null) throw new Error(`"${SECTION}" has no \`\`\`${lang} block`);
    return m[1]! + "\n";
  };
  return { ts: block("ts"), sh: block("sh") };
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  const text = d.decode(out.stdout) + d.decode(out.stderr);
  if (!out.success) throw new Error(`\`${cmd} ${args.join(" ")}\` exited ${out.code}:\n${text}`);
  return text;
}

Deno.test("the README's own-cell example is complete in at most 20 lines, with no imports", async () => {
  const { ts, sh } = sectionBlocks(await Deno.readTextFile(join(ROOT, "README.md")));
  const lines = ts.trimEnd().split("\n").length + sh.trimEnd().split("\n").length;
  assert(lines <= 20, `the example has ${lines} lines`);
  assert(!/^\s*import\b/m.test(ts), "the cell file imports something");
  const commands = sh.trimEnd().split("\n");
  assert(/^deno task bench .*--cell \S+/.test(commands[0]!), `first command: ${commands[0]}`);
  assert(/^deno task report /.test(commands[1] ?? ""), `second command: ${commands[1]}`);
});

Deno.test("the README's cell file, outside the repository, trains and reports from a fresh clone", async () => {
  const { ts } = sectionBlocks(await Deno.readTextFile(join(ROOT, "README.md")));
  const name = ts.match(/name: "(\w+)"/)?.[1];
  if (name === undefined) throw new Error("the README's cell has no name");
  const tmp = await Deno.makeTempDir({ prefix: "rnnbench-own-cell-" });
  try {
    const cell = join(tmp, "cell", `${name}.ts`);
    await Deno.mkdir(join(tmp, "cell"));
    await Deno.writeTextFile(cell, ts);
    const clone = join(tmp, "clone");
    const head = (await run("git", ["rev-parse", "HEAD"], ROOT)).trim();
    await run("git", ["clone", "--quiet", "--no-checkout", ROOT, clone], tmp);
    await run("git", ["checkout", "--quiet", "--detach", head], clone);
    await run(Deno.execPath(), ["install"], clone);
    const results = join(tmp, "results"), report = join(tmp, "report");
    await run(Deno.execPath(), [
      ...["task", "bench", "--profile", "smoke", "--cell", cell, "--epochs", "1"],
      ...["--limit-batches", "2", "--out", results],
    ], clone);
    const [file] = [...Deno.readDirSync(results)].filter((e) => e.name.endsWith(".json"));
    const written = await readResultsFile(join(results, file!.name));
    const r = written.runs[0];
    assert(written.runs.length === 1 && r?.arch === name && r.status === "ok", "no ok run");
    assert(r.cell?.source === cell, `recorded source ${JSON.stringify(r.cell)}`);
    assert(r.onnx !== null && r.onnx.maxAbsDiff <= 1e-4, `ONNX parity ${JSON.stringify(r.onnx)}`);
    await run(Deno.execPath(), ["task", "report", results, "--out", report], clone);
    const markdown = await Deno.readTextFile(join(report, "report.md"));
    assert(markdown.includes(`| ${name.toUpperCase()} `), `the report has no ${name} rows`);
    const status = await run("git", ["status", "--porcelain"], clone);
    assert(status.trim() === "", `the clone's tree changed:\n${status}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
