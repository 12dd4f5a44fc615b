import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { DEVICE_FILES, DEVICE_NPM } from "./pack.ts";

Deno.test("the device kit carries every npm package the GPU check imports, and no other", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "bench/gpu_check.ts"],
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

Deno.test("bench/device/run.sh stops, naming the missing file and what to do, without a kit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-device-test-" });
  try {
    // A copy of the script in a tree of its own, with no .device folder.
    await Deno.mkdir(`${dir}/bench/device`, { recursive: true });
    await Deno.copyFile("bench/device/run.sh", `${dir}/bench/device/run.sh`);
    const out = await new Deno.Command("bash", {
      args: [`${dir}/bench/device/run.sh`],
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
