// The CUDA kernel cache under damage: a cached module that was truncated or emptied is
// reported and rebuilt, never loaded (on the CPU emulator's toolchain, whose cache is the
// same code as nvcc's and NVRTC's).
import { emulatorToolchain } from "./compiler.ts";
import { emulatorTuning, emuTest } from "../_testing.ts";

emuTest("a truncated or emptied cached kernel module is rebuilt, then reused", async () => {
  const t = await emulatorTuning();
  const cacheDir = await Deno.makeTempDir({ prefix: "rnnbench-cuda-cache-test-" });
  try {
    const tc = emulatorToolchain(t.emulator.headerPath, cacheDir);
    const source = "__global__ void rb_fill(float *out) { out[threadIdx.x] = 1.0f; }\n";
    const first = await tc.build(source, "cache test");
    const good = await Deno.readFile(first.path);
    for (const damaged of [good.subarray(0, good.length >> 1), new Uint8Array(0)]) {
      await Deno.writeFile(first.path, damaged);
      const again = await tc.build(source, "cache test");
      if (again.cached) throw new Error(`a ${damaged.length}-byte module was used from the cache`);
      if ((await Deno.readFile(again.path)).length !== good.length) throw new Error("not rebuilt");
      if (!(await tc.build(source, "cache test")).cached) throw new Error("rebuilt one not reused");
    }
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
