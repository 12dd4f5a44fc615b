import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { DEVICE_FILES, DEVICE_NPM } from "./pack.ts";

Deno.test("the device kit carries every npm package the GPU check imports, and no other", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "bench/tools/gpu_check.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { kind?: string; npmPackage?: string }[];
  };
  const imported = [
    ...new Set(
      info.modules.filter((m) => m.kind === "npm").map((m) => m.npmPackage!.replace(/@[^@]*$/, "")),
    ),
  ].sort();
  assertEquals(imported, [...DEVICE_NPM].sort());
});

Deno.test("bench/tools/device/run.sh stops, naming the missing file and what to do, without a kit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-device-test-" });
  try {
    // A copy of the script in a tree of its own, with no .device folder.
    await Deno.mkdir(`${dir}/bench/tools/device`, { recursive: true });
    await Deno.copyFile("bench/tools/device/run.sh", `${dir}/bench/tools/device/run.sh`);
    const out = await new Deno.Command("bash", {
      args: [`${dir}/bench/tools/device/run.sh`],
      env: { OUT: `${dir}/out` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 1);
    const err = new TextDecoder().decode(out.stderr);
    assert(err.includes(`.device/${DEVICE_FILES[0]} is missing`), err);
    assert(err.includes("deno task device-pack"), err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The flags run.sh gives Deno on the GPU machine. */
const RUN_FLAGS = "-A --cached-only --node-modules-dir=manual";

Deno.test("the GPU check loads with run.sh's flags from a tree whose node_modules holds only the kit's packages", async () => {
  // What the GPU machine has: the tracked tree, node_modules with DEVICE_NPM only, an empty
  // Deno cache and no network. With nodeModulesDir "auto", --cached-only alone tried to
  // install every package of deno.json and stopped (the first run on the H200, 2026-12-04).
  const script = await Deno.readTextFile("bench/tools/device/run.sh");
  assert(script.includes(`"$bin/deno" run ${RUN_FLAGS} bench/tools/gpu_check.ts`), script);
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-device-tree-" });
  try {
    const ls = await new Deno.Command("git", { args: ["ls-files", "-z"], stdout: "piped" })
      .output();
    for (const f of new TextDecoder().decode(ls.stdout).split("\0").filter((f) => f !== "")) {
      await Deno.mkdir(`${dir}/${f.replace(/[^/]*$/, "")}`, { recursive: true });
      await Deno.copyFile(f, `${dir}/${f}`);
    }
    const pkgs = DEVICE_NPM.flatMap((name) => [
      `node_modules/${name}`,
      ...[...Deno.readDirSync("node_modules/.deno")].filter((e) => e.name.startsWith(`${name}@`))
        .map((e) => `node_modules/.deno/${e.name}`),
    ]);
    const cp = await new Deno.Command("cp", { args: ["-a", "--parents", ...pkgs, dir] }).output();
    assert(cp.success, "cannot copy the kit's packages");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...RUN_FLAGS.split(" "), "bench/tools/gpu_check.ts", "--help"],
      cwd: dir,
      env: { DENO_DIR: `${dir}/.deno_dir`, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assert(text.includes("Usage: gpu-check"), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A stand-in kit: a "deno" that prints its arguments, and two small archives. */
async function fakeKit(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/bench/tools/device`, { recursive: true });
  await Deno.copyFile("bench/tools/device/run.sh", `${dir}/bench/tools/device/run.sh`);
  await Deno.mkdir(`${dir}/.device`);
  const make = String.raw`
import io, lzma, sys, tarfile
d = sys.argv[1]
with lzma.open(d + "/.device/deno.xz", "wb") as f:
    f.write(b"#!/bin/sh\necho \"fake deno: $*\"\nexit 0\n")
for name, member in (("cache", ".cache/data/marker"), ("node_modules", "node_modules/commander/marker")):
    with tarfile.open(d + "/.device/" + name + ".tar.xz", "w:xz") as t:
        data = member.encode()
        info = tarfile.TarInfo(member)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
`;
  const out = await new Deno.Command("python3", { args: ["-c", make, dir], stderr: "piped" })
    .output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("bench/tools/device/run.sh unpacks the kit with xz, or with Python's lzma where xz is missing", async () => {
  // Where xz is missing: a PATH of every command but xz.
  const noXz = await Deno.makeTempDir({ prefix: "rnnbench-noxz-" });
  for await (const e of Deno.readDir("/usr/bin")) {
    if (!/^(un)?xz|^xzcat$/.test(e.name)) {
      await Deno.symlink(`/usr/bin/${e.name}`, `${noXz}/${e.name}`);
    }
  }
  try {
    for (const [what, path] of [["xz", "/usr/bin:/bin"], ["lzma", noXz]] as const) {
      const dir = await Deno.makeTempDir({ prefix: "rnnbench-device-test-" });
      try {
        await fakeKit(dir);
        const out = await new Deno.Command("bash", {
          args: [`${dir}/bench/tools/device/run.sh`, "--arch", "lstm"],
          env: { OUT: `${dir}/out`, PATH: path },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assertEquals(out.code, 0, `${what}: ${text}`);
        assert(
          text.includes(`fake deno: run ${RUN_FLAGS} bench/tools/gpu_check.ts --out`) &&
            text.includes("--arch lstm"),
          `${what}: ${text}`,
        );
        for (
          const f of [".cache/data/marker", "node_modules/commander/marker", "out/gpu_check.log"]
        ) {
          await Deno.stat(`${dir}/${f}`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  } finally {
    await Deno.remove(noXz, { recursive: true });
  }
});
