/**
 * Tests of the CUDA engine that need no GPU: the generated kernels and the whole host side
 * run on the CPU emulator (`emulator/emulator.ts`: a fake libcuda, the kernels compiled by
 * g++ with fibers for threads): the engine contract (`../conformance.ts`) on every cell, and
 * what only this engine has: the kernels' edge shapes, the resident split, every emulator
 * order, driver and module errors; availability messages, the registry's fallback, launch
 * arithmetic, argument packing and the token sorter are checked directly. Tests that need
 * what this machine lacks (g++, cuda.h, NVRTC, a real libcuda) are reported as ignored,
 * saying why. The same numerical checks run on a real GPU in `bench/tools/gpu_check.ts`.
 */
import { ARCHS } from "../../../models/cells.ts";
import type { ParamLayout } from "../../../models/classifier.ts";
import {
  CUDA_KERNELS,
  cudaLayoutFor,
  cudaShapeProblem,
  generateCuda,
} from "../../../models/codegen/cuda.ts";
import { referenceForward, referenceLossAndGrad } from "../../../models/reference.ts";
import {
  assertClose,
  ignorableTest,
  tinyBatch,
  tinyLayout,
  tinyParams,
} from "../../../models/_testing.ts";
import { cudaIncludeDir } from "./emulator/emulator.ts";
import { engineConformance, TOLERANCES } from "../conformance.ts";
import {
  assertCloseAll,
  assertGradClose,
  assertSameBits,
  EMULATOR_MISSING,
  emulatorTuning as tuning,
  emuTest,
  engineFixture,
  engineOptions,
  FIXTURE,
  type OptionChanges,
} from "../_testing.ts";
import { createCudaEngine } from "./engine.ts";
import type { FaultedStep } from "./_fault_child.ts";
import { denoJson, runChild } from "../_child.ts";
import type { StepsRequest, StepsResult } from "./_steps_child.ts";
import type { BenchOutcome } from "./_bench_child.ts";
import type { Run } from "../../results/types.ts";
import { cudaAvailability } from "./probe.ts";
import { deviceBuffers, launchPlan } from "./launch_plan.ts";
import { moduleLoadHint } from "./module_load_hint.ts";
import { packArgs } from "./pack_args.ts";
import { TokenSorter } from "./token_sorter.ts";
import { nvrtcToolchain, openNvrtc } from "./compiler.ts";
import { CU, openDriver } from "./driver.ts";
import { type Engine, predictBatch } from "../engine.ts";
import { availability, resolveEngine } from "../registry.ts";

const T = FIXTURE.T;

engineConformance("cuda (emulated)", async (o) => createCudaEngine(o, 0, await tuning()), {
  ignore: EMULATOR_MISSING,
  wording: { batchSize: /Batch size 6 / },
});

async function engineFor(layout: ParamLayout, over: OptionChanges = {}): Promise<Engine> {
  return await createCudaEngine(engineOptions(layout, over), 0, await tuning());
}

/** Runs `code` in a fresh `deno eval` and returns the JSON of the last line it prints. */
function evalJson<T>(code: string, env: Record<string, string>): Promise<T> {
  return denoJson<T>(["eval", code], env);
}

/**
 * What `step` throws on the emulator when its driver call `fail` fails
 * (`RNNBENCH_EMU_FAIL=<call>[:<kernel>]`), or "" when nothing throws. It runs in a child
 * process (`_fault_child.ts`), the only one whose environment has the fault: emulated
 * tests of other files run in this process at the same time (`deno test --parallel`).
 */
async function faultMessage(fail: string, step: Omit<FaultedStep, "tuning">): Promise<string> {
  const s: FaultedStep = { ...step, tuning: await tuning() };
  const r = await runChild<{ message: string | null }>(
    new URL("./_fault_child.ts", import.meta.url),
    s,
    { RNNBENCH_EMU_FAIL: fail },
  );
  return r.message ?? "";
}

emuTest(
  "cuda (emulated) matches the reference at the edges: 32 layers, 1 layer, hidden 1 and 16, B 1 × T 1",
  async () => {
    // Every lane a layer (32), a lone lane (1), the narrowest and widest states, one sequence
    // of one step, and a last block of one warp (33 = 8 × 4 + 1).
    const cases = [
      { arch: "gru", layers: 32, hiddenSize: 1, embedDim: 1, B: 33, t: 3 },
      { arch: "lstm", layers: 1, hiddenSize: 16, embedDim: 9, B: 1, t: 1 },
      { arch: "rnn", layers: 32, hiddenSize: 16, embedDim: 9, B: 33, t: 3 },
    ] as const;
    for (const { arch, B: n, t, ...over } of cases) {
      const what = `${arch} L=${over.layers} H=${over.hiddenSize} E=${over.embedDim} B=${n} T=${t}`;
      const layout = tinyLayout(arch, { ...over, vocabSize: 13 });
      const params = tinyParams(layout, 7, 1.0);
      const { ids, labels } = tinyBatch(n, t, 13);
      const engine = await engineFor(layout, { batchSize: n, maxLen: t });
      try {
        engine.setParams(params);
        const got = await engine.predict(ids, n);
        const want = referenceForward(layout, params, ids, n, t).logits;
        assertCloseAll(`${what} logits`, got, want, TOLERANCES.logits);
        const g = await engine.lossAndGrad({ ids, labels: Float32Array.from(labels), size: n });
        // 32 layers of hidden 1 make some gradients vanish (1e-32): tolerances are relative
        // to the whole gradient's largest value, not each tensor's.
        const grad = referenceLossAndGrad(layout, params, ids, labels, t).grad;
        assertCloseAll(`${what} gradient`, g.grad, grad, TOLERANCES.wholeGradient);
      } finally {
        engine.dispose();
      }
    }
  },
);

emuTest(
  "cuda (emulated) at the original depth (25 layers, E 64, H 8) matches the reference",
  async () => {
    const t = 4;
    const { layout, params, batch, labels } = engineFixture("lstm", {
      size: 3,
      maxLen: t,
      model: { layers: 25, embedDim: 64, hiddenSize: 8, vocabSize: 40 },
    });
    const engine = await engineFor(layout, { batchSize: 3, maxLen: t });
    try {
      engine.setParams(params);
      const logits = await engine.predict(batch.ids, 3);
      const want = referenceForward(layout, params, batch.ids, 3, t).logits;
      assertCloseAll("25-layer logits", logits, want, TOLERANCES.logits);
      const { grad } = await engine.lossAndGrad(batch);
      const ref = referenceLossAndGrad(layout, params, batch.ids, labels, t).grad;
      assertGradClose("25-layer", layout, grad, ref, TOLERANCES.gradient);
    } finally {
      engine.dispose();
    }
  },
);

emuTest(
  "cuda (emulated) training on a resident split, read by rows only, gives the same bits as on gathered ids",
  async () => {
    // (The suite checks that two runs on gathered ids give the same bits.)
    const layout = tinyLayout("gru");
    const n = 13;
    const { ids: splitIds, labels } = tinyBatch(n, T, layout.config.vocabSize, 5);
    const split = { ids: splitIds, n };
    const rows = Uint32Array.of(4, 11, 0, 7, 7, 2, 12, 9);
    const ids = new Int32Array(rows.length * T);
    rows.forEach((r, b) => ids.set(splitIds.subarray(r * T, (r + 1) * T), b * T));
    const lab = Float32Array.from(rows, (r) => labels[r]!);
    const params = tinyParams(layout);
    const run = async (resident: boolean) => {
      const engine = await engineFor(layout, { batchSize: 8, gradClip: 0.5 });
      try {
        engine.setParams(params);
        const out: Float32Array[] = [];
        // A resident batch whose gathered ids would throw if read: the engine reads the split.
        const byRows = {
          get ids(): Int32Array {
            throw new Error("the engine read the gathered ids of a resident batch");
          },
          labels: lab,
          size: rows.length,
          source: { split, rows },
        };
        for (let i = 0; i < 3; i++) {
          out.push(
            await engine.trainStep(resident ? byRows : { ids, labels: lab, size: rows.length }),
          );
        }
        out.push(await engine.predict(ids, rows.length, resident ? { split, rows } : undefined));
        if (resident) out.push(await predictBatch(engine, byRows));
        else out.push(await engine.predict(ids, rows.length));
        return { params: engine.getParams(), out };
      } finally {
        engine.dispose();
      }
    };
    const a = await run(false), c = await run(true);
    assertSameBits("parameters on the resident split", c.params, a.params);
    a.out.forEach((l, i) =>
      assertSameBits(`logits of call ${i + 1} on the resident split`, c.out[i]!, l)
    );
  },
);

emuTest(
  "cuda (emulated) kernels give the same bits whatever order the emulator runs threads and blocks in",
  async () => {
    // A race (a missing barrier, a block reading another's output) would make the numbers
    // depend on the order: reverse and shuffled orders of every launch must match forward.
    // 21 sequences: 6 blocks of 4 warps, the last short. The clip is small enough to act, and
    // the last case has more parameters (78k) than the norm's 256 × 256 threads, so that
    // every thread of its reduction tree holds a value.
    const cases = [
      ...ARCHS.map((arch) => ({ arch, over: {} })),
      { arch: "gru" as const, over: { vocabSize: 300, embedDim: 256 } },
    ];
    // Each order in a child process (`_steps_child.ts`), the only one whose environment has
    // it: emulated tests of other files run in this process at the same time.
    const script = new URL("./_steps_child.ts", import.meta.url);
    const request: StepsRequest = {
      tuning: await tuning(),
      runs: cases.map(({ arch, over }) => ({
        cell: arch,
        size: 21,
        model: over,
        options: { batchSize: 24, gradClip: 1e-3 },
        trainSteps: 2,
      })),
    };
    const floats = (bits: number[]) => new Float32Array(Uint32Array.from(bits).buffer);
    const orders = ["forward", "reverse", "shuffle:1"];
    const [want, ...got] = await Promise.all(orders.map(async (order) => {
      const r = await runChild<{ runs: StepsResult[] }>(script, request, {
        RNNBENCH_EMU_ORDER: order,
      });
      return r.runs.map((run) => ({ params: floats(run.params), out: run.out.map(floats) }));
    }));
    cases.forEach(({ arch, over }, c) => {
      const { layout } = engineFixture(arch, { size: 21, model: over });
      const w = want![c]!;
      orders.slice(1).forEach((order, o) => {
        const g = got[o]![c]!;
        const what = `${arch} (P=${layout.total})`;
        assertSameBits(`${what} parameters in order ${order}`, g.params, w.params);
        g.out.forEach((l, i) =>
          assertSameBits(`${what} logits of call ${i + 1} in order ${order}`, l, w.out[i]!)
        );
      });
    });
  },
);

emuTest("a failing driver call names the call, the kernel and the CUDA error", async () => {
  const [launch, copy] = await Promise.all([
    faultMessage("cuLaunchKernel:rb_train", { cell: "rnn", step: "trainStep" }),
    // An asynchronous fault reported at the copy names the kernels launched before it.
    faultMessage("cuMemcpyDtoH", { cell: "rnn", step: "predict" }),
  ]);
  const want =
    /Cannot launch kernel rb_train \(grid 2, block 128, .*\): cuLaunchKernel failed with CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES \(too many resources requested for launch\)/;
  if (!want.test(launch)) throw new Error(`unexpected message: ${launch}`);
  if (
    !/cuMemcpyDtoH_v2 failed with CUDA_ERROR_LAUNCH_FAILED.*after kernels rb_pre0, rb_forward/
      .test(copy)
  ) {
    throw new Error(`unexpected message: ${copy}`);
  }
});

emuTest(
  "a module the driver refuses names the compiler and the driver's CUDA version",
  async () => {
    // (A fresh process: its context has loaded no module yet.)
    const model = { hiddenSize: 3 };
    const msg = await faultMessage("cuModuleLoadData", { cell: "gru", model, step: "create" });
    const want = new RegExp(
      "Cannot load the gru E=\\d+ H=3 L=\\d+ kernels .*cuModuleLoadData failed with " +
        "CUDA_ERROR_INVALID_IMAGE .*compiled by g\\+\\+ .* the driver supports CUDA 13\\.0",
    );
    if (!want.test(msg)) throw new Error(`unexpected message: ${msg}`);
    (await engineFor(tinyLayout("gru", model))).dispose(); // and it loads once the driver takes it
  },
);

Deno.test("a refused module's hint says when the compiler is newer than the driver", () => {
  const newer = moduleLoadHint("CUDA_ERROR_INVALID_IMAGE", "12.4", "nvcc 13.0.88");
  if (!newer?.includes("the compiler is newer than the driver") || !newer.includes("12.4")) {
    throw new Error(`unexpected: ${newer}`);
  }
  const same = moduleLoadHint("CUDA_ERROR_NO_BINARY_FOR_GPU", "13.0", "nvcc 13.0.88");
  if (!same?.includes("not newer than the driver") || !same.includes(".cache/cuda")) {
    throw new Error(`unexpected: ${same}`);
  }
  const unknown = moduleLoadHint("CUDA_ERROR_INVALID_PTX", "?", "nvcc");
  if (!unknown?.includes("If the compiler is newer")) throw new Error(`unexpected: ${unknown}`);
  if (moduleLoadHint("CUDA_ERROR_OUT_OF_MEMORY", "12.4", "nvcc 13.0.88") !== null) {
    throw new Error("a hint for an error that is not about the image");
  }
});

emuTest(
  "cuda availability names the missing device, and the compiler when there is none",
  async () => {
    const t = await tuning();
    const url = new URL("./probe.ts", import.meta.url).href;
    const probe = (env: Record<string, string>, device: number) =>
      evalJson<{ ok: boolean; reason?: string; detail?: string }>(
        `import { cudaAvailability } from "${url}";` +
          `console.log(JSON.stringify(await cudaAvailability(${device}, ${JSON.stringify(t)})));`,
        env,
      );
    const ok = await probe({}, 0);
    if (!ok.ok || !/rnnbench CUDA emulator \(CPU\) \(sm_90, .*driver CUDA 13\.0/.test(ok.detail!)) {
      throw new Error(`emulated device not available: ${JSON.stringify(ok)}`);
    }
    const none = await probe({ RNNBENCH_EMU_DEVICES: "0" }, 0);
    if (none.ok || none.reason !== "no CUDA device (the driver reports none)") {
      throw new Error(`unexpected: ${JSON.stringify(none)}`);
    }
    const third = await probe({}, 3);
    if (third.ok || third.reason !== "no CUDA device 3 (the driver reports 1: use --device 0)") {
      throw new Error(`unexpected: ${JSON.stringify(third)}`);
    }
    const init = await probe({ RNNBENCH_EMU_FAIL: "cuInit" }, 0);
    if (init.ok || !init.reason!.startsWith("no CUDA device (cuInit:")) {
      throw new Error(`unexpected: ${JSON.stringify(init)}`);
    }
  },
);

Deno.test("without a driver or a compiler, --engine cuda fails naming both, and auto falls back", async () => {
  const url = new URL("../registry.ts", import.meta.url).href;
  const r = await evalJson<{ auto: { kind: string; reason: string }; msg: string }>(
    `import { resolveEngine } from "${url}";` +
      `const auto = await resolveEngine("auto", { device: 0 });` +
      `let msg = ""; try { await resolveEngine("cuda", { device: 0 }); } catch (e) { msg = e.message; }` +
      `console.log(JSON.stringify({ auto, msg }));`,
    {
      RNNBENCH_LIBCUDA: "libcuda-rnnbench-absent.so.1",
      RNNBENCH_LIBNVRTC: "libnvrtc-rnnbench-absent.so",
      NVCC: "rnnbench-no-such-nvcc",
      PATH: "/usr/bin:/bin",
    },
  );
  const want =
    "Cannot use engine cuda: no NVIDIA driver (libcuda-rnnbench-absent.so.1 not found); " +
    "no CUDA compiler (nvcc is not on the PATH) and no NVRTC (libnvrtc-rnnbench-absent.so not found)";
  if (!r.msg.startsWith(want)) throw new Error(`unexpected message: ${r.msg}`);
  if (r.auto.kind === "cuda" || !r.auto.reason.includes("cuda unavailable: no NVIDIA driver")) {
    throw new Error(`auto did not fall back quietly: ${JSON.stringify(r.auto)}`);
  }
});

Deno.test("on this machine --engine cuda either works or names what is missing; auto agrees", async () => {
  const a = await cudaAvailability(0);
  const auto = await resolveEngine("auto", { device: 0 });
  if (a.ok) {
    if (auto.kind !== "cuda") throw new Error(`auto picked ${auto.kind} although cuda works`);
    return;
  }
  if (!/no NVIDIA driver|no CUDA device|no CUDA compiler|needs --allow/.test(a.reason)) {
    throw new Error(`unclear reason: ${a.reason}`);
  }
  let msg = "";
  await resolveEngine("cuda", { device: 0 }).catch((e) => (msg = String(e)));
  if (!msg.includes(`Cannot use engine cuda: ${a.reason}`)) throw new Error(msg);
  if (auto.kind === "cuda") throw new Error("auto picked an unavailable cuda");
});

Deno.test("cuda refuses shapes its kernels cannot run (H > 16, L > 32), naming the limit", async () => {
  const wide = await availability("cuda", { device: 0, shapes: [{ hiddenSize: 64, layers: 1 }] });
  if (wide.ok || !wide.reason.includes("hidden size 64") || !wide.reason.includes("at most 16")) {
    throw new Error(`unexpected: ${JSON.stringify(wide)}`);
  }
  const deep = cudaShapeProblem({ hiddenSize: 8, layers: 33 });
  if (deep === null || !deep.includes("at most 32")) throw new Error(`unexpected: ${deep}`);
  if (cudaShapeProblem({ hiddenSize: 16, layers: 32 }) !== null) throw new Error("16 × 32 refused");
  // auto falls back for such a shape whatever this machine has.
  const auto = await resolveEngine("auto", { device: 0, shapes: [{ hiddenSize: 64, layers: 1 }] });
  if (auto.kind === "cuda") throw new Error("auto picked cuda for hidden size 64");
  let msg = "";
  await resolveEngine("cuda", { device: 0, shapes: [{ hiddenSize: 64, layers: 1 }] })
    .catch((e) => (msg = String(e)));
  if (!msg.includes("Cannot use engine cuda: the CUDA kernels cannot run hidden size 64")) {
    throw new Error(`unexpected message: ${msg}`);
  }
});

Deno.test("launch geometry of the original shape fits an H100/H200 and covers every item", () => {
  const lay = cudaLayoutFor({
    arch: "lstm",
    vocabSize: 121_000,
    embedDim: 64,
    hiddenSize: 8,
    layers: 25,
  });
  const P = 121_000 * 64 + lay.NREST;
  const plan = launchPlan(lay, 1000, 200, P);
  // One warp per sequence, four per block; the weights of all layers in shared memory.
  if (plan.train.grid !== 250 || plan.train.block !== 128) {
    throw new Error(JSON.stringify(plan.train));
  }
  if (lay.WS % 2 !== 1 || lay.WS < lay.PN) throw new Error(`stride ${lay.WS} for ${lay.PN} words`);
  if (plan.train.sharedBytes !== 25 * lay.WS * 4 || plan.train.sharedBytes > 227 * 1024) {
    throw new Error(`shared memory ${plan.train.sharedBytes}`);
  }
  if (lay.PN !== 4 * (64 + 64 + 8) || lay.PH !== 32 || lay.stashStride !== 48) {
    throw new Error(`layout ${JSON.stringify(lay)}`);
  }
  const covers = (c: { grid: number; block: number }, n: number) =>
    c.grid * c.block >= n && (c.grid - 1) * c.block < n;
  if (!covers(plan.pre0, 200_000) || !covers(plan.dx0, 200_000)) {
    throw new Error("per-token kernels");
  }
  if (!covers(plan.adam, P) || !covers(plan.reduce, lay.PN * 32 + 9)) {
    throw new Error("flat kernels");
  }
  if (plan.dw0.grid !== Math.ceil(200_000 / 256)) throw new Error("dw0 chunks");
  if (!covers(plan.embSeg(3000), 3000 * 64) || plan.embRows(1).grid !== 1) throw new Error("emb");
  const total = Object.values(deviceBuffers(lay, 1000, 200, P)).reduce((s, x) => s + x, 0);
  if (!(total > 0.5e9 && total < 2e9)) throw new Error(`device memory ${total}`);
});

Deno.test("kernel arguments are packed in declaration order, one 8-byte slot each", () => {
  const buf = packArgs("rb_adam", {
    p: 0x1000n,
    g: 0x2000n,
    m: 0x3000n,
    v: 0x4000n,
    n: 77,
    scale: 0x5000n,
    beta1: 0.9,
    beta2: 0.999,
    omb1: 0.1,
    omb2: 0.001,
    eps: 1e-8,
    stepSize: 0.5,
    sqrtBc2: 0.25,
  });
  const d = new DataView(buf);
  if (buf.byteLength !== 13 * 8) throw new Error(`size ${buf.byteLength}`);
  if (d.getBigUint64(8, true) !== 0x2000n || d.getInt32(32, true) !== 77) throw new Error("order");
  if (d.getFloat32(96, true) !== 0.25 || Math.fround(0.9) !== d.getFloat32(48, true)) {
    throw new Error("floats");
  }
  let msg = "";
  try {
    packArgs("rb_dw0_reduce", { part: 1n, nchunks: 2.5, grest: 3n });
  } catch (e) {
    msg = String(e);
  }
  if (!msg.includes("nchunks = 2.5 is not a 32-bit int")) throw new Error(msg);
});

Deno.test("the token sorter groups positions by token, stably, in runs of at most 64", () => {
  const N = 1000, V = 7;
  const ids = new Int32Array(N);
  for (let i = 0; i < N; i++) ids[i] = i % 3 === 0 ? 0 : (i * 7919) % V;
  const s = new TokenSorter(V, N);
  s.count(ids, N);
  const ix = s.finish(ids);
  const buf = s.buffer;
  const order = [...buf.subarray(0, N)];
  if ([...order].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new Error("not a permutation");
  }
  const seen = new Set<number>();
  for (let u = 0; u < ix.nu; u++) {
    const tok = buf[ix.uniqRow + u]!;
    seen.add(tok);
    for (let sg = buf[ix.uniqSeg + u]!; sg < buf[ix.uniqSeg + u + 1]!; sg++) {
      const a = buf[ix.segStart + sg]!, b = buf[ix.segStart + sg + 1]!;
      if (b - a < 1 || b - a > 64) throw new Error(`run of ${b - a}`);
      for (let k = a; k < b; k++) {
        if (ids[order[k]!] !== tok) throw new Error("a run mixes tokens");
        if (k > a && order[k]! <= order[k - 1]!) throw new Error("not stable");
      }
    }
  }
  if (seen.size !== new Set(ids).size || buf[ix.segStart + ix.nseg] !== N) throw new Error("cover");
});

Deno.test("the token sorter reading a split by rows writes the index of the gathered batch", () => {
  const n = 40, T = 25, V = 11;
  const split = Int32Array.from({ length: n * T }, (_, i) => (i * 7919 + (i >> 3)) % V);
  const rows = Uint32Array.of(3, 39, 0, 17, 17, 8, 22, 5);
  const gathered = new Int32Array(rows.length * T);
  rows.forEach((r, b) => gathered.set(split.subarray(r * T, (r + 1) * T), b * T));
  const N = gathered.length;
  const a = new TokenSorter(V, N), b = new TokenSorter(V, N);
  a.count(gathered, N);
  const ia = a.finish(gathered);
  b.count(split, N, { rows, T });
  const ib = b.finish(split);
  if (JSON.stringify(ia) !== JSON.stringify(ib)) {
    throw new Error(`offsets ${JSON.stringify([ia, ib])}`);
  }
  const i = a.buffer.subarray(0, ia.length).findIndex((v, k) => v !== b.buffer[k]);
  if (i >= 0) throw new Error(`index [${i}]: ${b.buffer[i]}, want ${a.buffer[i]}`);
  // and a bad id in the rows is refused, leaving nothing counted
  const bad = split.slice();
  bad[17 * T + 3] = V;
  let msg = "";
  try {
    b.count(bad, N, { rows, T });
  } catch (e) {
    msg = String(e);
  }
  if (!msg.includes(`Token id ${V} is outside [0, ${V})`)) throw new Error(`unexpected: ${msg}`);
  b.count(gathered, N);
  const again = b.finish(gathered);
  if (JSON.stringify(again) !== JSON.stringify(ia)) throw new Error("a refused count left state");
});

const CUDA_INCLUDE = await cudaIncludeDir();

ignorableTest({
  name: "the driver enum values match the toolkit's cuda.h",
  ignore: CUDA_INCLUDE === null ? "no cuda.h (CUDA toolkit not installed)" : null,
  fn: driverEnumsMatchCudaH,
});

async function driverEnumsMatchCudaH(): Promise<void> {
  const inc = CUDA_INCLUDE!;
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-cuh-" });
  try {
    const names = Object.keys(CU);
    await Deno.writeTextFile(
      `${dir}/e.c`,
      `#include <cuda.h>\n#include <stdio.h>\nint main(void) {\n${
        names.map((n) => `  printf("%d\\n", (int)CU_${n});`).join("\n")
      }\n  return 0;\n}\n`,
    );
    const cc = await new Deno.Command("cc", {
      args: [`-I${inc}`, "-o", `${dir}/e`, `${dir}/e.c`],
      stderr: "piped",
    }).output();
    if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
    const out = await new Deno.Command(`${dir}/e`, { stdout: "piped" }).output();
    const got = new TextDecoder().decode(out.stdout).trim().split("\n").map(Number);
    names.forEach((n, i) => {
      if (got[i] !== CU[n as keyof typeof CU]) throw new Error(`CU_${n} is ${got[i]} in cuda.h`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

emuTest(
  "bench --engine cuda (emulated) records the device and reproduces the native engine's losses",
  async () => {
    // The whole bench loop (shuffled batches, evaluation, results file) with the CUDA engine:
    // its epoch losses must match the native CPU engine's on the same seed and data.
    // Both in a child process (`_bench_child.ts`) in the project's directory (the data cache
    // lives in its .cache/), whose environment alone names the emulator: tests of other files
    // run in this process at the same time, with its working directory and environment.
    const t = await tuning();
    const root = new URL("../../../", import.meta.url).pathname;
    const script = new URL("./_bench_child.ts", import.meta.url);
    const dir = await Deno.makeTempDir();
    try {
      const engines = ["cuda", "native"];
      const argv = (engine: string) => [
        ...["--profile", "smoke", "--arch", "lstm", "--epochs", "2", "--limit-batches", "3"],
        ...["--engine", engine, "--threads", "2", "--onnx", "none", "--out", `${dir}/${engine}`],
      ];
      const { invocations } = await runChild<{ invocations: BenchOutcome[] }>(
        script,
        engines.map(argv),
        { RNNBENCH_CUDA_EMULATOR: t.emulator.dir },
        root,
      );
      const ran = (i: number): Run => {
        const r = invocations[i];
        if (!r?.ok || r.runs.length !== 1) throw new Error(`${engines[i]} bench failed`);
        return r.runs[0]!;
      };
      const cuda = ran(0), native = ran(1);
      if (
        cuda.engine !== "cuda" || !/rnnbench CUDA emulator \(CPU\) \(sm_90/.test(cuda.engineDetail)
      ) {
        throw new Error(`engine not recorded: ${cuda.engine}: ${cuda.engineDetail}`);
      }
      const losses = (r: Run) =>
        r.epochs.flatMap((e) => [e.trainLoss ?? 0, e.testLoss, e.testAccuracy]);
      assertClose("cuda vs native epoch losses and accuracies", losses(cuda), losses(native), {
        atol: 1e-6,
        rtol: 0,
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

// Runs (and fails on any compile error) wherever NVRTC loads.
ignorableTest({
  name: "NVRTC compiles the generated CUDA into an sm_90 cubin with every kernel",
  ignore: openNvrtc() === null ? "no libnvrtc here" : null,
  fn: nvrtcBuildsEveryKernel,
});

async function nvrtcBuildsEveryKernel(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-nvrtc-" });
  try {
    const tc = nvrtcToolchain("sm_90", dir);
    for (const arch of ARCHS) {
      const model = { arch, vocabSize: 50, embedDim: 16, hiddenSize: 8, layers: 3 };
      const built = await tc.build(generateCuda(model), `${arch} small`);
      const elf = new DataView(built.image.buffer, built.image.byteOffset, built.image.byteLength);
      const EM_CUDA = 190, flags = elf.getUint32(48, true);
      if (elf.getUint32(0) !== 0x7f454c46 || elf.getUint16(18, true) !== EM_CUDA) {
        throw new Error(`${arch}: ${built.path} is not a CUDA ELF image`);
      }
      // The SM is in the low byte of e_flags (older ABI) or the next one (CUDA 13's).
      if ((flags & 0xff) !== 90 && ((flags >> 8) & 0xff) !== 90) {
        throw new Error(`${arch}: e_flags 0x${flags.toString(16)} do not name sm_90`);
      }
      const text = new TextDecoder("latin1").decode(built.image);
      for (const k of Object.keys(CUDA_KERNELS)) {
        if (!text.includes(`\0${k}\0`)) throw new Error(`${arch}: no kernel ${k} in the cubin`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// RNNBENCH_TEST_LIBCUDA: a real libcuda.so.1, e.g. extracted from Debian's libcuda1 package
// (no GPU needed: the library loads and names its errors; cuInit then finds no device).
const REAL_LIBCUDA = Deno.env.get("RNNBENCH_TEST_LIBCUDA") || null;

emuTest(
  "a real NVIDIA driver library binds every symbol and names errors as the emulator does",
  async () => {
    const r = openDriver(REAL_LIBCUDA!);
    if (!r.ok) throw new Error(`the real driver did not load: ${r.reason}`);
    const e = openDriver((await tuning()).emulator.driverPath);
    if (!e.ok) throw new Error(e.reason);
    for (const code of [0, 1, 2, 3, 100, 101, 200, 400, 500, 701, 719]) {
      const want = [r.driver.errorName(code), r.driver.errorString(code)];
      const got = [e.driver.errorName(code), e.driver.errorString(code)];
      if (want.join() !== got.join()) {
        throw new Error(
          `error ${code}: the emulator says ${got.join(": ")}, the driver ${want.join(": ")}`,
        );
      }
    }
    if (!/^\d+\.\d$/.test(r.driver.driverVersion())) throw new Error("no driver version");
  },
  {
    ignore: REAL_LIBCUDA === null
      ? "set RNNBENCH_TEST_LIBCUDA to a real libcuda.so.1 to run this test"
      : null,
  },
);

emuTest(
  "without nvidia-smi the machine fingerprint takes the GPU from the CUDA driver",
  async () => {
    const t = await tuning();
    const url = new URL("../../util/machine.ts", import.meta.url).href;
    const probe = (env: Record<string, string>, device: number) =>
      evalJson<unknown>(
        `import { gpuInfo } from "${url}"; console.log(JSON.stringify(await gpuInfo(${device})));`,
        { PATH: "", RNNBENCH_LIBCUDA: t.emulator.driverPath, ...env }, // PATH "": no nvidia-smi
      );
    const got = await probe({}, 0);
    const want = {
      name: "rnnbench CUDA emulator (CPU)",
      memoryBytes: 4 * 2 ** 30,
      driverVersion: null,
      cudaVersion: "13.0",
    };
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`got ${JSON.stringify(got)}`);
    for (const [env, device] of [[{}, 1], [{ RNNBENCH_EMU_DEVICES: "0" }, 0]] as const) {
      const none = await probe(env, device);
      if (none !== null) {
        throw new Error(
          `device ${device} ${JSON.stringify(env)}: ${JSON.stringify(none)}`,
        );
      }
    }
  },
);

emuTest(
  "a shape whose weights overflow the device's shared memory: auto falls back, cuda says why",
  async () => {
    const t = await tuning();
    const url = new URL("../registry.ts", import.meta.url).href;
    const big = { arch: "lstm", embedDim: 5, hiddenSize: 16, layers: 32 }; // 264.1 KB > 227 KB
    const r = await evalJson<{
      fits: { ok: boolean };
      cuda: { ok: boolean; reason?: string };
      auto: { kind: string; reason: string };
    }>(
      `import { availability, resolveEngine } from "${url}";` +
        `const x = { device: 0, shapes: [${JSON.stringify(big)}] };` +
        `const fits = await availability("cuda", { device: 0, shapes: [{ ...${
          JSON.stringify(big)
        }, layers: 2 }] });` +
        `const cuda = await availability("cuda", x), auto = await resolveEngine("auto", x);` +
        `console.log(JSON.stringify({ fits, cuda, auto }));`,
      { RNNBENCH_CUDA_EMULATOR: t.emulator.dir },
    );
    const text = JSON.stringify(r);
    const why = "the 32-layer lstm weights (hidden 16) need 264.1 KB of shared memory per block, " +
      "rnnbench CUDA emulator (CPU) allows 227.0 KB";
    if (!r.fits.ok || r.cuda.ok || r.cuda.reason !== why) throw new Error(`unexpected: ${text}`);
    if (r.auto.kind === "cuda" || !r.auto.reason.includes(`cuda unavailable: ${why}`)) {
      throw new Error(`auto did not fall back saying why: ${text}`);
    }
  },
);
