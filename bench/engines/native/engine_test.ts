import { adamConfig, adamState, adamStep } from "../../../models/adam.ts";
import { type Arch, ARCHS } from "../../../models/cells.ts";
import { bceWithLogits, type ModelConfig, type ParamLayout } from "../../../models/classifier.ts";
import { referenceForward, referenceLossAndGrad } from "../../../models/reference.ts";
import {
  assertClose,
  tinyBatch,
  tinyConfig,
  tinyLayout,
  tinyParams,
} from "../../../models/_testing.ts";
import type { Batch, Engine } from "../engine.ts";
import { createNativeEngine, loadNative, nativeMath } from "./engine.ts";
import { compileSharedLibrary, probeCCompiler } from "./compiler.ts";

// The fixture of the issue: 3 layers, hidden 4, embed 5, vocab 11; seq 7, batch 5.
const B = 5, T = 7;

async function engineFor(
  layout: ParamLayout,
  over: { batchSize?: number; threads?: number; lr?: number; gradClip?: number | null } = {},
): Promise<Engine> {
  return await createNativeEngine({
    model: layout.config,
    layout,
    maxLen: T,
    batchSize: over.batchSize ?? B,
    optimizer: adamConfig(over.lr ?? 1e-2),
    gradClip: over.gradClip ?? null,
    threads: over.threads ?? 2,
  });
}

function fixture(
  arch: Arch,
  size = B,
  over: Partial<ModelConfig> = {},
  scale?: number,
): { layout: ParamLayout; params: Float64Array; batch: Batch } {
  const layout = tinyLayout(arch, over);
  const { ids, labels } = tinyBatch(size, T, layout.config.vocabSize);
  return {
    layout,
    params: tinyParams(layout, 7, scale),
    batch: { ids, labels: Float32Array.from(labels), size },
  };
}

/** Every tensor of a gradient within 1e-4 relative (plus 1e-5 of the tensor's largest value). */
function assertGradClose(name: string, layout: ParamLayout, got: Float32Array, want: Float64Array) {
  for (const t of layout.tensors) {
    const w = want.subarray(t.offset, t.offset + t.size);
    const scale = w.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assertClose(`${name} d/d${t.name}`, got.subarray(t.offset, t.offset + t.size), w, {
      atol: 1e-5 * scale,
      rtol: 1e-4,
    });
  }
}

for (const arch of ARCHS) {
  Deno.test(`native forward logits of ${arch} match the float64 reference within 1e-5`, async () => {
    const { layout, params, batch } = fixture(arch);
    const engine = await engineFor(layout);
    try {
      engine.setParams(params);
      const got = await engine.predict(batch.ids, B);
      const want = referenceForward(layout, params, batch.ids, B, T).logits;
      assertClose(`${arch} logits`, got, want, { atol: 1e-5, rtol: 0 });
    } finally {
      engine.dispose();
    }
  });

  Deno.test(`native gradient of ${arch} matches the float64 reference on every tensor`, async () => {
    const { layout, params, batch } = fixture(arch);
    const engine = await engineFor(layout);
    try {
      engine.setParams(params);
      const { loss, grad } = await engine.lossAndGrad(batch);
      const ref = referenceLossAndGrad(layout, params, batch.ids, batch.labels, T);
      assertClose(`${arch} loss`, [loss], [ref.loss], { atol: 1e-6, rtol: 0 });
      assertGradClose(arch, layout, grad, ref.grad);
    } finally {
      engine.dispose();
    }
  });

  Deno.test(`three native Adam steps of ${arch} give the reference losses within 1e-4`, async () => {
    const { layout, params, batch } = fixture(arch);
    const engine = await engineFor(layout, { lr: 1e-2 });
    try {
      engine.setParams(params);
      const cfg = adamConfig(1e-2);
      const state = adamState(layout.total);
      const p = params.slice();
      for (let step = 0; step < 3; step++) {
        const ref = referenceLossAndGrad(layout, p, batch.ids, batch.labels, T);
        const logits = await engine.trainStep(batch);
        const got = bceWithLogits(logits, batch.labels).loss;
        assertClose(`${arch} loss at step ${step + 1}`, [got], [ref.loss], { atol: 1e-4, rtol: 0 });
        adamStep(p, ref.grad, state, cfg);
      }
      // The steps moved the loss: the comparison is not of three identical numbers.
      const end = referenceLossAndGrad(layout, p, batch.ids, batch.labels, T).loss;
      const start = referenceLossAndGrad(layout, params, batch.ids, batch.labels, T).loss;
      if (!(Math.abs(end - start) > 1e-3)) throw new Error(`loss barely moved: ${start} → ${end}`);
      if (engine.getOptimizerState().step !== 3) throw new Error("step count is not 3");
    } finally {
      engine.dispose();
    }
  });
}

Deno.test("native gradient over several groups and threads matches the reference", async () => {
  for (const arch of ["lstm", "gru"] as const) {
    const { layout, params, batch } = fixture(arch, 21); // 3 groups of 8, the last one short
    const engine = await engineFor(layout, { batchSize: 24, threads: 2 });
    try {
      engine.setParams(params);
      const { loss, grad } = await engine.lossAndGrad(batch);
      const ref = referenceLossAndGrad(layout, params, batch.ids, batch.labels, T);
      assertClose(`${arch} B=21 loss`, [loss], [ref.loss], { atol: 1e-6, rtol: 0 });
      assertGradClose(`${arch} B=21`, layout, grad, ref.grad);
    } finally {
      engine.dispose();
    }
  }
});

Deno.test("native gradient with saved (not recomputed) forward values matches the reference", async () => {
  for (const arch of ARCHS) {
    const { layout, params, batch } = fixture(arch, 13);
    const engine = await createNativeEngine({
      model: layout.config,
      layout,
      maxLen: T,
      batchSize: 13,
      optimizer: adamConfig(1e-2),
      gradClip: null,
      threads: 2,
    }, { saveForward: true });
    try {
      engine.setParams(params);
      const { loss, grad } = await engine.lossAndGrad(batch);
      const ref = referenceLossAndGrad(layout, params, batch.ids, batch.labels, T);
      assertClose(`${arch} saved-forward loss`, [loss], [ref.loss], { atol: 1e-6, rtol: 0 });
      assertGradClose(`${arch} saved-forward`, layout, grad, ref.grad);
    } finally {
      engine.dispose();
    }
  }
});

Deno.test("native forward and gradient of a wide hidden size (H = 20 > REG_MAX) match the reference", async () => {
  // H = 20 puts every value in arrays and makes the matmul blocks 8 + 8 + 4 wide; E = 5 < H
  // and 2 layers exercise both cell functions (I = 5 and I = 20) in wide mode.
  for (const arch of ARCHS) {
    const { layout, params, batch } = fixture(arch, 11, { hiddenSize: 20, layers: 2 }, 0.5);
    const { ids, labels } = batch;
    const engine = await engineFor(layout, { batchSize: 11 });
    try {
      engine.setParams(params);
      const got = await engine.predict(ids, 11);
      const want = referenceForward(layout, params, ids, 11, T).logits;
      assertClose(`${arch} H=20 logits`, got, want, { atol: 1e-5, rtol: 0 });
      const spread = Math.max(...want) - Math.min(...want);
      if (!(spread > 1e-3)) throw new Error(`${arch} H=20 logits barely differ: spread ${spread}`);
      const { loss, grad } = await engine.lossAndGrad(batch);
      const ref = referenceLossAndGrad(layout, params, ids, labels, T);
      assertClose(`${arch} H=20 loss`, [loss], [ref.loss], { atol: 1e-6, rtol: 0 });
      assertGradClose(`${arch} H=20`, layout, grad, ref.grad);
    } finally {
      engine.dispose();
    }
  }
});

Deno.test("native training is bitwise identical across runs and thread counts", async () => {
  const { layout, params, batch } = fixture("gru", 21);
  const run = async (threads: number) => {
    const engine = await engineFor(layout, { batchSize: 21, threads, gradClip: 0.5 });
    try {
      engine.setParams(params);
      const logits: Float32Array[] = [];
      for (let i = 0; i < 3; i++) logits.push(await engine.trainStep(batch));
      return { params: engine.getParams(), logits };
    } finally {
      engine.dispose();
    }
  };
  const a = await run(2), b = await run(2), c = await run(1);
  for (const [name, other] of [["second run", b], ["one thread", c]] as const) {
    const same = (x: Float32Array, y: Float32Array) =>
      x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
    if (!same(a.params, other.params)) throw new Error(`parameters differ from the ${name}`);
    a.logits.forEach((l, i) => {
      if (!same(l, other.logits[i]!)) throw new Error(`logits of step ${i + 1} differ (${name})`);
    });
  }
});

Deno.test("gradient clipping scales the gradient to the clip norm before Adam", async () => {
  const { layout, params, batch } = fixture("rnn");
  const clip = 0.05;
  const engine = await engineFor(layout, { gradClip: clip });
  try {
    engine.setParams(params);
    const { grad } = await engine.lossAndGrad(batch);
    const norm = Math.sqrt(grad.reduce((s, g) => s + g * g, 0));
    if (!(norm > clip * 2)) throw new Error(`fixture gradient norm ${norm} is too small to clip`);
    await engine.trainStep(batch);
    // After one step m = (1 − β1) g_clipped with g_clipped = g · clip / (norm + 1e-6).
    const m = engine.getOptimizerState().m;
    const want = Array.from(grad, (g) => 0.1 * g * clip / (norm + 1e-6));
    assertClose("m after a clipped step", m, want, { atol: 1e-9, rtol: 1e-5 });
  } finally {
    engine.dispose();
  }
});

Deno.test("optimizer state round-trips, setParams resets it, the learning rate applies", async () => {
  const { layout, params, batch } = fixture("lstm");
  const engine = await engineFor(layout);
  try {
    engine.setParams(params);
    await engine.trainStep(batch);
    const s = engine.getOptimizerState();
    const p1 = engine.getParams();
    engine.setParams(params);
    const z = engine.getOptimizerState();
    if (z.step !== 0 || z.m.some((x) => x !== 0) || z.v.some((x) => x !== 0)) {
      throw new Error("setParams did not reset the optimizer state");
    }
    engine.setParams(p1);
    engine.setOptimizerState(s);
    const back = engine.getOptimizerState();
    if (back.step !== 1 || back.m.some((x, i) => x !== s.m[i])) throw new Error("state lost");
    // lr 0: a step changes nothing.
    engine.setLearningRate(0);
    await engine.trainStep(batch);
    if (engine.getParams().some((x, i) => x !== p1[i])) throw new Error("lr 0 changed parameters");
  } finally {
    engine.dispose();
  }
});

Deno.test("native engine rejects bad input and is unusable after dispose", async () => {
  const { layout, params, batch } = fixture("rnn");
  const engine = await engineFor(layout);
  engine.setParams(params);
  const bad = batch.ids.slice();
  bad[3] = layout.config.vocabSize;
  let msg = "";
  await engine.predict(bad, B).catch((e) => (msg = String(e)));
  if (!msg.includes("outside [0, 11)")) throw new Error(`want an id range error, got "${msg}"`);
  msg = "";
  await engine.predict(batch.ids, B + 1).catch((e) => (msg = String(e)));
  if (!msg.includes("Batch size 6")) throw new Error(`want a batch size error, got "${msg}"`);
  engine.dispose();
  engine.dispose();
  msg = "";
  await engine.predict(batch.ids, B).catch((e) => (msg = String(e)));
  if (!msg.includes("disposed")) throw new Error(`want a disposed error, got "${msg}"`);
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
