// The native compile cache under damage and kills: a truncated, emptied or zero-filled
// library is rebuilt, and a compile cut short by an exit or a SIGKILL leaves no temporary
// folder and no compiler running.
import { compileSharedLibrary, probeCCompiler } from "./compiler.ts";

const compilerUrl = new URL("./compiler.ts", import.meta.url).href;

async function compiler() {
  const probe = await probeCCompiler();
  if (!probe.ok) throw new Error(probe.reason);
  return probe.compiler;
}

async function withCache(f: (cacheDir: string) => Promise<void>) {
  const cacheDir = await Deno.makeTempDir({ prefix: "rnnbench-native-cache-test-" });
  try {
    await f(cacheDir);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
}

Deno.test("a truncated, empty or zero-filled cached library is reported and rebuilt, never loaded", async () => {
  const cc = await compiler();
  await withCache(async (cacheDir) => {
    const damages: [string, (b: Uint8Array) => Uint8Array][] = [
      ["truncated", (b) => b.subarray(0, Math.floor(b.length / 2))],
      ["empty", () => new Uint8Array(0)],
      ["zero-filled", (b) => new Uint8Array(b.length)],
    ];
    for (const [i, [what, damage]] of damages.entries()) {
      const source = `int rb_answer(void) { return ${40 + i}; }\n`;
      const first = await compileSharedLibrary(source, { compiler: cc, cacheDir });
      await Deno.writeFile(first.path, damage(await Deno.readFile(first.path)));
      const lines: string[] = [];
      const opts = { compiler: cc, cacheDir, log: (l: string) => lines.push(l) };
      const again = await compileSharedLibrary(source, opts);
      if (again.cached) throw new Error(`${what}: the damaged library was used from the cache`);
      if (!lines.some((l) => l.includes(first.path) && /rebuild/.test(l))) {
        throw new Error(`${what}: no warning naming the library: ${JSON.stringify(lines)}`);
      }
      const lib = Deno.dlopen(again.path, { rb_answer: { parameters: [], result: "i32" } });
      if (lib.symbols.rb_answer() !== 40 + i) throw new Error(`${what}: wrong library`);
      const third = await compileSharedLibrary(source, opts);
      if (!third.cached) throw new Error(`${what}: the rebuilt library is not reused`);
    }
  });
});

/** C that keeps the compiler busy for seconds. */
function slowSource(): string {
  const fns: string[] = [];
  for (let i = 0; i < 200; i++) {
    fns.push(
      `void f${i}(float *restrict a, const float *restrict b, int n) {\n` +
        `  for (int k = 0; k < 8; k++) for (int j = 0; j < n; j++)\n` +
        `    a[j] = a[j] * b[(j + ${i}) % n] + __builtin_tanhf(a[j] * ${i}.5f + k);\n}`,
    );
  }
  return fns.join("\n");
}

/** Pids of the processes whose command line names `path`. */
function processesNaming(path: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(path)) pids.push(pid);
    } catch { /* gone */ }
  }
  return pids;
}

const temps = (cacheDir: string) =>
  [...Deno.readDirSync(cacheDir)].filter((e) => e.name.startsWith(".tmp-")).map((e) =>
    `${cacheDir}/${e.name}`
  );

/**
 * Starts a deno process compiling the slow source into `cacheDir`; resolves once a compiler
 * is at work in a temporary folder, with that folder. `exitMidway`: the process itself exits
 * (`Deno.exit`, as on a second Ctrl-C) once its compiler runs.
 */
async function compileInChild(cacheDir: string, exitMidway: boolean) {
  const script = `${cacheDir}/../child-${crypto.randomUUID().slice(0, 6)}.ts`;
  await Deno.writeTextFile(
    script,
    `import { compileSharedLibrary, probeCCompiler } from ${JSON.stringify(compilerUrl)};
const probe = await probeCCompiler();
if (!probe.ok) throw new Error(probe.reason);
const cacheDir = ${JSON.stringify(cacheDir)};
const done = compileSharedLibrary(${
      JSON.stringify(slowSource())
    }, { compiler: probe.compiler, cacheDir });
if (${exitMidway}) {
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const tmp = [...Deno.readDirSync(cacheDir)].find((e) => e.name.startsWith(".tmp-"));
    if (tmp === undefined) continue;
    const path = cacheDir + "/" + tmp.name;
    const busy = [...Deno.readDirSync("/proc")].some((e) => {
      try {
        return Number(e.name) !== Deno.pid && Deno.readTextFileSync("/proc/" + e.name + "/cmdline").includes(path);
      } catch { return false; }
    });
    if (busy) {
      console.log(path); // the parent learns the folder from here: it may be gone by then
      Deno.exit(130);
    }
  }
}
await done;
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tmp: string | undefined;
  // A child that exits by itself names its folder on stdout; one the parent kills is watched.
  for (let i = 0; i < 3000 && tmp === undefined && !exitMidway; i++) {
    await new Promise((r) => setTimeout(r, 10));
    tmp = temps(cacheDir).find((t) => processesNaming(t).length > 0);
  }
  return { child, tmp, script };
}

async function noCompilerLeft(tmp: string) {
  for (let i = 0; i < 200 && processesNaming(tmp).length > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const left = processesNaming(tmp);
  if (left.length > 0) {
    const cmds = left.map((p) => Deno.readTextFileSync(`/proc/${p}/cmdline`).split("\0")[0]);
    for (const p of left) Deno.kill(p, "SIGKILL");
    throw new Error(`compilers left running in ${tmp}: ${cmds}`);
  }
}

Deno.test({
  name:
    "a process that exits mid-compile (a second Ctrl-C) leaves no temporary folder and no compiler",
  ignore: Deno.build.os !== "linux",
  fn: () =>
    withCache(async (cacheDir) => {
      const { child, script } = await compileInChild(cacheDir, true);
      const out = await child.output();
      await Deno.remove(script);
      const tmp = new TextDecoder().decode(out.stdout).trim();
      if (tmp === "") throw new Error(new TextDecoder().decode(out.stderr));
      if (out.code !== 130) throw new Error(`exit code ${out.code}`);
      await noCompilerLeft(tmp);
      if (temps(cacheDir).length > 0) throw new Error(`left behind: ${temps(cacheDir)}`);
    }),
});

Deno.test({
  name:
    "the compile of a process killed with SIGKILL is swept by the next build: its folder and compiler",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const cc = await compiler();
    await withCache(async (cacheDir) => {
      const { child, tmp, script } = await compileInChild(cacheDir, false);
      child.kill("SIGKILL");
      const out = await child.output();
      await Deno.remove(script);
      if (tmp === undefined) throw new Error(new TextDecoder().decode(out.stderr));
      await compileSharedLibrary("int rb_other(void) { return 7; }\n", { compiler: cc, cacheDir });
      await noCompilerLeft(tmp);
      if (temps(cacheDir).length > 0) throw new Error(`left behind: ${temps(cacheDir)}`);
    });
  },
});
