/**
 * `--cell FILE`: every bad cell file gets one line naming the file, the cell and the problem,
 * exits non-zero and writes nothing (each case runs `bench/main.ts` as a subprocess); a good
 * file's cells join the architectures of `bench`, `sweep` and `gpu-check`; `--resume` finds
 * the files again and refuses a missing or changed one.
 *
 * @module
 */
import { join } from "node:path";
import { cellNames, cellSpec } from "../models/cells.ts";
import { CellFileError, loadCellFiles } from "./cell_file.ts";
import { parseBenchArgs } from "./cli.ts";
import { availability } from "./engines/registry.ts";
import { runBench } from "./run.ts";
import { parseGpuCheckArgs } from "./tools/gpu_check.ts";
import { parseSweepArgs } from "./tools/sweep.ts";
import { InterruptedError } from "./train.ts";
import { cellFlagPaths } from "./util/shared_flags.ts";
import { memoryProgress } from "./util/progress.ts";

const script = (path: string) => new URL(path, import.meta.url).pathname;

/** A cell file's text: a plain exported object literal, no imports (as a user writes it). */
function cellText(name: string, over: { states?: string; weights?: string; step?: string } = {}) {
  return `export const ${/^\w+$/.test(name) ? name : "cell"} = {
  name: ${JSON.stringify(name)},
  states: ${over.states ?? '["h"]'},
  weights: ${over.weights ?? '{ W: "input", U: "hidden", b: "bias" }'},
  step: ${over.step ?? "(o, x, { h }, w) => ({ h: o.tanh(o.affine(x, w.W, h, w.U, w.b)) })"},
};
`;
}

/** A bad input: its files, which of them `--cell` names, and what the line must say. */
interface BadCase {
  readonly what: string;
  readonly files: Readonly<Record<string, string>>;
  readonly cell: readonly string[];
  /** The cell the line names, when the problem is one cell's. */
  readonly names: string | null;
  readonly problem: RegExp;
}

const BAD: readonly BadCase[] = [
  {
    what: "a file that does not exist",
    files: {},
    cell: ["missing.ts"],
    names: null,
    problem: /Cannot load cell file ".*missing\.ts": the file does not exist$/,
  },
  {
    what: "a file that cannot be imported (a syntax error)",
    files: { "syntax.ts": 'export const c = { name: "c" states: ["h"] };\n' },
    cell: ["syntax.ts"],
    names: null,
    problem: /Cannot load cell file ".*syntax\.ts": importing it failed: .*\(line 1, column \d+\)$/,
  },
  {
    what: "a file that exports no cell",
    files: { "none.ts": "export const answer = 42;\n" },
    cell: ["none.ts"],
    names: null,
    problem: /Cannot load cell file ".*none\.ts": it exports no cell .*it exports "answer"/,
  },
  {
    what: "a name that clashes with a built-in",
    files: { "builtin.ts": cellText("gru") },
    cell: ["builtin.ts"],
    names: "gru",
    problem: /a built-in cell has that name/,
  },
  {
    what: "a name that clashes with another loaded cell",
    files: { "first.ts": cellText("twin"), "second.ts": cellText("twin") },
    cell: ["first.ts", "second.ts"],
    names: "twin",
    problem: /from ".*second\.ts": the cell of ".*first\.ts" has that name/,
  },
  {
    what: "a name that is not an identifier",
    files: { "spaced.ts": cellText("my cell") },
    cell: ["spaced.ts"],
    names: "my cell",
    problem: /its name must be an identifier/,
  },
  {
    what: "a state declared but never written",
    files: { "unwritten.ts": cellText("unwritten", { states: '["h", "c"]' }) },
    cell: ["unwritten.ts"],
    names: "unwritten",
    problem: /state "c" is declared but never written$/,
  },
  {
    what: "a state written but not declared",
    files: {
      "undeclared_state.ts": cellText("extra", {
        step: "(o, x, { h }, w) => ({ h: o.tanh(o.affine(x, w.W, h, w.U, w.b)), c: h })",
      }),
    },
    cell: ["undeclared_state.ts"],
    names: "extra",
    problem: /state "c" is written but not declared$/,
  },
  {
    what: "a weight declared but unused",
    files: {
      "unused.ts": cellText("unused", {
        weights: '{ W: "input", U: "hidden", b: "bias", V: "hidden" }',
      }),
    },
    cell: ["unused.ts"],
    names: "unused",
    problem: /weight "V" is declared but unused$/,
  },
  {
    what: "a weight used but not declared",
    files: {
      "undeclared_weight.ts": cellText("loose", {
        step: "(o, x, { h }, w) => ({ h: o.tanh(o.affine(x, w.W, h, w.V, w.b)) })",
      }),
    },
    cell: ["undeclared_weight.ts"],
    names: "loose",
    problem: /weight "V" is used but not declared$/,
  },
  {
    what: "an op outside the set",
    files: {
      "foreign_op.ts": cellText("conv", {
        step: "(o, x, { h }, w) => ({ h: o.conv2d(o.affine(x, w.W, h, w.U, w.b)) })",
      }),
    },
    cell: ["foreign_op.ts"],
    names: "conv",
    problem: /op "conv2d" is not in the op set \(valid: .*\)$/,
  },
  {
    what: "a value of the wrong width",
    files: {
      "width.ts": cellText("wide", {
        step: "(o, x, { h }, w) => ({ h: o.add(x, o.tanh(o.affine(x, w.W, h, w.U, w.b))) })",
      }),
    },
    cell: ["width.ts"],
    names: "wide",
    problem: /add of values of different widths \(I and H\)$/,
  },
  {
    what: "a step function that throws",
    files: {
      "throws.ts": cellText("thrower", {
        step: '() => { throw new RangeError("no step today"); }',
      }),
    },
    cell: ["throws.ts"],
    names: "thrower",
    problem: /step\(\) threw: no step today$/,
  },
];

async function command(args: string[], cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Writes a case's files into a fresh folder, and removes it afterwards. */
async function withCase<T>(c: BadCase, f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-bad-cell-" });
  try {
    for (const [name, text] of Object.entries(c.files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    return await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Checks the one line of a refused bad case: file, cell, problem, no stack trace. */
function checkLine(c: BadCase, dir: string, program: string, code: number, stderr: string): void {
  const where = `${program} with ${c.what}`;
  if (code === 0) throw new Error(`${where}: exit code 0`);
  const text = stderr.trimEnd();
  if (text.includes("\n") || text.includes("    at ")) {
    throw new Error(`${where}: not one line, or a stack trace:\n${stderr}`);
  }
  const file = join(dir, c.cell.at(-1)!);
  if (!text.startsWith(`${program}: `) || !text.includes(`"${file}"`)) {
    throw new Error(`${where}: the line does not name ${file}:\n${text}`);
  }
  if (c.names !== null && !text.includes(`cell "${c.names}"`)) {
    throw new Error(`${where}: the line does not name cell "${c.names}":\n${text}`);
  }
  if (!c.problem.test(text)) throw new Error(`${where}: the line lacks ${c.problem}:\n${text}`);
}

for (const c of BAD) {
  Deno.test(`bench --cell with ${c.what}: one line naming file, cell and problem; nothing written`, async () => {
    await withCase(c, async (dir) => {
      const before = [...Deno.readDirSync(dir)].map((e) => e.name).sort().join();
      const r = await command(
        ["run", "-A", script("./main.ts"), "--cell", c.cell.join(","), "--out", join(dir, "out")],
        dir,
      );
      checkLine(c, dir, "bench", r.code, r.stderr);
      const after = [...Deno.readDirSync(dir)].map((e) => e.name).sort().join();
      if (after !== before) throw new Error(`${c.what}: wrote into ${dir}: ${after}`);
    });
  });
}

Deno.test("sweep and gpu-check refuse a bad cell file with the same one line", async () => {
  for (
    const [program, path, extra] of [
      ["sweep", "./tools/sweep.ts", ["--validation", "0.2"]],
      ["gpu-check", "./tools/gpu_check.ts", []],
    ] as const
  ) {
    for (const c of [BAD[2]!, BAD[6]!]) {
      await withCase(c, async (dir) => {
        const r = await command(
          ["run", "-A", script(path), ...extra, "--cell", c.cell.join(","), "--out", dir],
          dir,
        );
        checkLine(c, dir, program, r.code, r.stderr);
      });
    }
  }
});

/** Good cell files in a fresh folder: `good.ts` (cell "cellfile_a", exported twice). */
async function goodFiles(dir: string): Promise<string> {
  const path = join(dir, "good.ts");
  await Deno.writeTextFile(path, `${cellText("cellfile_a")}export default cellfile_a;\n`);
  return path;
}

Deno.test("a cell file's cells join the architectures of bench, sweep and gpu-check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-cell-file-" });
  try {
    const path = await goodFiles(dir);
    const argv = ["--cell", path];
    if (cellFlagPaths(["--cell=a.ts,b.ts", "--cell", "c.ts"]).join() !== "a.ts,b.ts,c.ts") {
      throw new Error("cellFlagPaths misread the flag's forms");
    }
    const cells = await loadCellFiles(cellFlagPaths(argv));
    if (cells.length !== 1 || cells[0]!.names.join() !== "cellfile_a") {
      throw new Error(`loaded ${JSON.stringify(cells)} (one cell exported twice is one cell)`);
    }
    const bytes = await Deno.readFile(path);
    const hex = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    if (cells[0]!.sha256 !== hex || cells[0]!.path !== path) {
      throw new Error(`recorded ${cells[0]!.path} ${cells[0]!.sha256}, file ${path} ${hex}`);
    }
    if (!cellNames().includes("cellfile_a")) throw new Error(`not registered: ${cellNames()}`);
    const only = parseBenchArgs(argv, cells);
    if (only.archs.join() !== "cellfile_a") throw new Error(`no --arch gave ${only.archs}`);
    const mixed = parseBenchArgs([...argv, "--arch", "lstm,cellfile_a"], cells);
    if (mixed.archs.join() !== "lstm,cellfile_a") throw new Error(`--arch gave ${mixed.archs}`);
    if (parseBenchArgs([], []).archs.join() !== "rnn,lstm,gru") throw new Error("default archs");
    const sweep = parseSweepArgs(["--validation", "0.2", ...argv], cells);
    if (sweep.bench.archs.join() !== "cellfile_a" || sweep.bench.cells?.length !== 1) {
      throw new Error(`sweep runs ${sweep.bench.archs}`);
    }
    if (parseGpuCheckArgs(argv, cells).archs.join() !== "cellfile_a") {
      throw new Error("gpu-check does not check the loaded cell");
    }
    // Loading the same file again (a resume in the same process) is the same cell.
    const spec = cellSpec("cellfile_a");
    const again = await loadCellFiles([path]);
    if (cellSpec("cellfile_a") !== spec || again[0]!.sha256 !== hex) {
      throw new Error("loading a file twice changed its cell");
    }
    try {
      parseBenchArgs(["--cell", join(dir, "other.ts")], cells);
      throw new Error("parsed a --cell file that was not loaded");
    } catch (e) {
      if (!String(e).includes("load the --cell files first")) throw e;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const native = await availability("native", { device: 0 });

Deno.test({
  name: "--resume loads the cell files again, and refuses one that is missing or changed" +
    (native.ok ? "" : ` (ignored: ${native.reason})`),
  ignore: !native.ok,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rnnbench-cell-resume-" });
    try {
      const path = join(dir, "resumed.ts");
      const text = cellText("cellfile_resumed");
      await Deno.writeTextFile(path, text);
      const argv = [
        ...["--cell", path, "--profile", "smoke", "--engine", "native", "--threads", "2"],
        ...["--epochs", "1", "--limit-batches", "1", "--onnx", "none", "--out", join(dir, "out")],
      ];
      const args = parseBenchArgs(argv, await loadCellFiles([path]));
      let id = "";
      await runBench(args, memoryProgress(), { shouldStop: () => true }).then(
        () => {
          throw new Error("the run was not interrupted");
        },
        (e) => {
          if (!(e instanceof InterruptedError)) throw e;
        },
      );
      for await (const e of Deno.readDir(join(dir, "out", ".state"))) id = e.name;
      const resume = () => runBench({ ...args, cells: [], resume: id }, memoryProgress());
      const refused = async (want: RegExp) => {
        const e = await resume().then(() => null, (e) => e);
        if (!(e instanceof CellFileError) || !want.test(e.message) || e.message.includes("\n")) {
          throw new Error(`resume should be refused with ${want}, got: ${e}`);
        }
      };
      await Deno.writeTextFile(path, text.replace("o.tanh(", "o.sigmoid("));
      await refused(new RegExp(`^Cannot resume "${id}": cell file "${path}" has changed`));
      await Deno.remove(path);
      await refused(new RegExp(`^Cannot resume "${id}": cell file "${path}": .*does not exist`));
      await Deno.writeTextFile(path, text);
      const done = await resume();
      const run = done.results.runs[0];
      if (!done.ok || run?.arch !== "cellfile_resumed" || run.cell?.source !== path) {
        throw new Error(`resumed run: ${JSON.stringify(run?.failure ?? run?.cell)}`);
      }
      if (run.cell.sha256 !== args.cells?.[0]?.sha256) throw new Error("hash not recorded");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
