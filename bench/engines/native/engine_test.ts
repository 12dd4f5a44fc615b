/**
 * Tests of the native C engine: the engine contract (`../conformance.ts`) on every cell, and
 * what only this engine has: saved forward values, the wide (array) code path, thread
 * counts, the compile cache, the vectorised math and the missing-compiler message.
 *
 * @module
 */
import { ARCHS } from "../../../models/cells.ts";
import { referenceForward, referenceLossAndGrad } from "../../../models/reference.ts";
import { tinyConfig } from "../../../models/_testing.ts";
import { engineConformance, TOLERANCES } from "../conformance.ts";
import {
  assertCloseAll,
  assertGradClose,
  assertSameBits,
  engineFixture,
  engineOptions,
  FIXTURE,
  withEngine,
} from "../_testing.ts";
import { createNativeEngine, loadNative, nativeMath } from "./engine.ts";
import { compileSharedLibrary, probeCCompiler } from "./compiler.ts";

const T = FIXTURE.T;

engineConformance("native", (o) => createNativeEngine(o), {
  threads: 2,
  wording: { batchSize: /Batch size 6 / },
});

Deno.test("native gradient with saved (not recomputed) forward values matches the reference", async () => {
  for (const arch of ARCHS) {
    const { layout, params, batch, labels } = engineFixture(arch, { size: 13 });
    const opts = engineOptions(layout, { batchSize: 13, threads: 2 });
    await withEngine(() => createNativeEngine(opts, { saveForward: true }), async (e) => {
      e.setParams(params);
      const { loss, grad } = await e.lossAndGrad(batch);
      const ref = referenceLossAndGrad(layout, params, batch.ids, labels, T);
      assertCloseAll(`${arch} saved-forward loss`, [loss], [ref.loss], TOLERANCES.loss);
      assertGradClose(`${arch} saved-forward`, layout, grad, ref.grad, TOLERANCES.gradient);
    });
  }
});

Deno.test("native forward and gradient of a wide hidden size (H = 20 > REG_MAX) match the reference", async () => {
  // H = 20 puts every value in arrays and makes the matmul blocks 8 + 8 + 4 wide; E = 5 < H
  // and 2 layers exercise both cell functions (I = 5 and I = 20) in wide mode; the readout
  // max once more with one layer (best's shape: the top layer reads the embedding).
  const shapes = ARCHS.flatMap((arch) => [
    { arch, model: { hiddenSize: 20, layers: 2 } },
    { arch, model: { hiddenSize: 20, layers: 2, readout: "max" as const } },
    { arch, model: { hiddenSize: 20, layers: 1, readout: "max" as const } },
  ]);
  for (const { arch: cell, model } of shapes) {
    const f = engineFixture(cell, { size: 11, model, scale: 0.5 });
    const arch = `${cell} L=${model.layers}${"readout" in model ? " max" : ""}`;
    const { layout, params, batch, labels } = f;
    const opts = engineOptions(layout, { batchSize: 11, threads: 2 });
    await withEngine(() => createNativeEngine(opts), async (e) => {
      e.setParams(params);
      const got = await e.predict(batch.ids, 11);
      const want = referenceForward(layout, params, batch.ids, 11, T).logits;
      assertCloseAll(`${arch} H=20 logits`, got, want, TOLERANCES.logits);
      const spread = Math.max(...want) - Math.min(...want);
      if (!(spread > 1e-3)) throw new Error(`${arch} H=20 logits barely differ: spread ${spread}`);
      const { loss, grad } = await e.lossAndGrad(batch);
      const ref = referenceLossAndGrad(layout, params, batch.ids, labels, T);
      assertCloseAll(`${arch} H=20 loss`, [loss], [ref.loss], TOLERANCES.loss);
      assertGradClose(`${arch} H=20`, layout, grad, ref.grad, TOLERANCES.gradient);
    });
  }
});

Deno.test("native training on one thread is bitwise identical to two threads", async () => {
  // The suite checks two runs on the same thread count; here the count changes.
  const { layout, params, batch } = engineFixture("gru", { size: 21 });
  const run = (threads: number) =>
    withEngine(
      () => createNativeEngine(engineOptions(layout, { batchSize: 21, threads, gradClip: 0.5 })),
      async (e) => {
        e.setParams(params);
        const logits: Float32Array[] = [];
        for (let i = 0; i < 3; i++) logits.push(await e.trainStep(batch));
        return { params: e.getParams(), logits };
      },
    );
  const two = await run(2), one = await run(1);
  assertSameBits("parameters on one thread", one.params, two.params);
  two.logits.forEach((l, i) =>
    assertSameBits(`logits of step ${i + 1} on one thread`, one.logits[i]!, l)
  );
});

Deno.test("a compile failure shows the compiler's message and the kept source, and caches nothing", async () => {
  const probe = await probeCCompiler();
  if (!probe.ok) throw new Error(probe.reason);
  const cacheDir = await Deno.makeTempDir({ prefix: "rnnbench-native-test-" });
  try {
    let msg = "";
    await compileSharedLibrary("int broken(void) { return undeclared_name; }\n", {
      compiler: probe.compiler,
      cacheDir,
      label: "test",
    }).catch((e) => (msg = String(e)));
    if (!msg.includes("undeclared_name")) throw new Error(`no compiler message in: ${msg}`);
    const kept = /Generated source kept at (\S+)/.exec(msg)?.[1];
    if (kept === undefined) throw new Error(`no source path in: ${msg}`);
    if (!(await Deno.readTextFile(kept)).includes("undeclared_name")) {
      throw new Error("the kept source is not the generated one");
    }
    const entries = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
    if (entries.join(",") !== "failed") {
      throw new Error(`cache holds more than failed/: ${entries}`);
    }
    // A good source compiles into the same directory, and the second time comes from the cache.
    const ok = await compileSharedLibrary("int fine(void) { return 1; }\n", {
      compiler: probe.compiler,
      cacheDir,
    });
    const again = await compileSharedLibrary("int fine(void) { return 1; }\n", {
      compiler: probe.compiler,
      cacheDir,
    });
    if (ok.cached || !again.cached || again.path !== ok.path) throw new Error("cache not reused");
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("vectorised exp, sigmoid and tanh match libm within 2e-7 relative, 3e-7 for tanh", async () => {
  const loaded = await loadNative(tinyConfig("rnn"));
  const xs: number[] = [];
  for (let x = -90; x <= 90; x += 1e-3) xs.push(x);
  xs.push(0, 1e-30, -1e-30, 1e-8, -1e-8);
  const x = new Float32Array(xs);
  const check = (
    fn: "exp" | "sigmoid" | "tanh",
    ref: (v: number) => number,
    lo: number,
    hi: number,
    maxRel: number,
  ) => {
    const y = nativeMath(loaded, fn, x);
    let worst = 0, at = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v < lo || v > hi) continue;
      const r = ref(v), d = Math.abs(y[i]! - r);
      const rel = r === 0 ? d : d / Math.abs(r);
      if (!(rel <= worst)) [worst, at] = [rel, v];
    }
    if (!(worst <= maxRel)) {
      throw new Error(`${fn}: max relative error ${worst.toExponential(3)} at x=${at} > ${maxRel}`);
    }
  };
  // Measured here: exp 8.1e-8, sigmoid 1.4e-7 (relative) and 8.8e-8 (absolute), tanh 2.6e-7.
  check("exp", Math.exp, -87, 88, 2e-7);
  check("sigmoid", (v) => 1 / (1 + Math.exp(-v)), -87, 90, 2e-7);
  check("tanh", Math.tanh, -90, 90, 3e-7);
  // Below -87.3 sigmoid flushes towards 0 (e^88 is the largest exponential computed).
  const far = nativeMath(loaded, "sigmoid", Float32Array.of(-100, 100));
  if (!(far[0]! >= 0 && far[0]! < 1e-37 && far[1] === 1)) throw new Error(`sigmoid(±100) = ${far}`);
});

Deno.test("without a C compiler the native engine is unavailable and says what to do", async () => {
  const url = new URL("./engine.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { nativeAvailability } from "${url}";` +
      `console.log(JSON.stringify(await nativeAvailability()));`,
    ],
    env: { CC: "rnnbench-no-such-compiler" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const a = JSON.parse(text) as { ok: boolean; reason?: string };
  if (
    a.ok || !/no working C compiler.*not found.*install gcc or clang, or set CC/.test(a.reason!)
  ) {
    throw new Error(`unexpected availability: ${text} ${new TextDecoder().decode(out.stderr)}`);
  }
});
