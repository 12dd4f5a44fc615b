/**
 * Tests of the CUDA emulator itself, on small planted kernels: that the thread and block
 * orders expose a missing barrier, that misused warp intrinsics fail the launch naming
 * what went wrong, and that a correct kernel gives the same bits in every order. (The
 * generated kernels are checked in every order in `cuda_test.ts`.)
 */
import { CudaContext, openDriver } from "../driver.ts";
import { emulatorTuning, emuTest } from "../../_testing.ts";
import type { LaunchRequest, LaunchResult, PlantedLaunch } from "./_launch_child.ts";
import { runChild } from "../../_child.ts";

/** Planted kernels; `sync` 0 leaves out the barrier a neighbour's read needs. */
const SOURCE = String.raw`
__global__ void block_neighbour(float *out, int sync) {
  __shared__ float sh[64];
  const int i = threadIdx.x;
  sh[i] = (float)(blockIdx.x * 64 + i);
  if (sync) __syncthreads();
  out[blockIdx.x * 64 + i] = sh[(i + 1) & 63];
}

__global__ void warp_neighbour(float *out, int sync) {
  __shared__ float sh[32];
  const int l = threadIdx.x;
  sh[l] = (float)(l + 1);
  if (sync) __syncwarp();
  out[l] = sh[(l + 1) & 31];
}

/* Thread 0 writes out[-mode] (mode > 0: before the buffer), or out[31 - mode] (mode <= 0). */
__global__ void outside(float *out, int mode) {
  if (threadIdx.x == 0) out[mode > 0 ? -mode : (int)(32 * gridDim.x) - 1 - mode] = 1.0f;
}

/* mode 1: even threads wait at one __syncthreads, odd ones at another. */
__global__ void split_barrier(float *out, int mode) {
  const int i = threadIdx.x;
  if (mode == 1 && (i & 1)) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[i] = (float)i;
}

/* Blocks that read what another block of the same launch writes. */
__global__ void across_blocks(float *out, int) {
  if (threadIdx.x != 0) return;
  const int b = blockIdx.x;
  out[b] = b == 0 ? 1.0f : out[b - 1] + 1.0f;
}

/* mode 0: a correct shuffle sum; 1: lane 0 at __syncwarp, the others at a shuffle; 2: lanes with
 * different masks; 3: a shuffle reading a lane that returned; 4: width 16. */
__global__ void warp_misuse(float *out, int mode) {
  const int l = threadIdx.x;
  float v = (float)(l + 1);
  if (mode == 0) {
    for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
    v = __shfl_sync(0xffffffffu, v, 0);
  } else if (mode == 1) {
    if (l == 0) __syncwarp();
    else v = __shfl_down_sync(0xffffffffu, v, 1);
  } else if (mode == 2) {
    v = __shfl_up_sync(l == 5 ? 0x0000ffffu : 0xffffffffu, v, 1);
  } else if (mode == 3) {
    if (l == 31) return;
    v = __shfl_down_sync(0xffffffffu, v, 1);
  } else {
    v = __shfl_down_sync(0xffffffffu, v, 1, 16);
  }
  out[l] = v;
}

extern "C" void rb_emu_k_block_neighbour(void **a) { block_neighbour(*(float **)a[0], *(int *)a[1]); }
extern "C" void rb_emu_k_warp_neighbour(void **a) { warp_neighbour(*(float **)a[0], *(int *)a[1]); }
extern "C" void rb_emu_k_outside(void **a) { outside(*(float **)a[0], *(int *)a[1]); }
extern "C" void rb_emu_k_split_barrier(void **a) { split_barrier(*(float **)a[0], *(int *)a[1]); }
extern "C" void rb_emu_k_across_blocks(void **a) { across_blocks(*(float **)a[0], *(int *)a[1]); }
extern "C" void rb_emu_k_warp_misuse(void **a) { warp_misuse(*(float **)a[0], *(int *)a[1]); }
`;

type Kernel =
  | "block_neighbour"
  | "warp_neighbour"
  | "across_blocks"
  | "warp_misuse"
  | "split_barrier"
  | "outside";

/** A launch of a planted kernel (`kernel`, `arg`, `grid`, `block`) in `order`, with `env` set. */
type Launch = PlantedLaunch & { readonly kernel: Kernel };

/** A launch's output, or the launch error's text. */
type Launched = { out: Float32Array } | { error: string };

/** The child process of {@linkcode launchAll}. */
const CHILD = new URL("./_launch_child.ts", import.meta.url);

/**
 * Runs the launches in one child process (`_launch_child.ts`): the order and `env` are
 * variables the emulator reads on every call, and emulated tests of other files run in this
 * process at the same time (`deno test --parallel`). A child costs a few tenths of a
 * second: batch the launches of a test.
 */
async function launchAll(launches: readonly Launch[]): Promise<Launched[]> {
  const t = await emulatorTuning();
  const request: LaunchRequest = {
    driverPath: t.emulator.driverPath,
    headerPath: t.emulator.headerPath,
    cacheDir: t.cacheDir,
    source: SOURCE,
    launches,
  };
  const { results } = await runChild<{ results?: LaunchResult[] }>(CHILD, request);
  if (!Array.isArray(results) || results.length !== launches.length) {
    throw new Error(`the launch child gave no results: ${JSON.stringify(results)}`);
  }
  return results.map((r) =>
    "error" in r ? { error: r.error } : { out: new Float32Array(Uint32Array.from(r.bits).buffer) }
  );
}

const ORDERS = ["forward", "reverse", "shuffle:1", "shuffle:2"];

/**
 * The outputs of each kernel (`[kernel, arg, grid, block]`) in every order, by kernel then
 * order, from one child; throws if any launch fails.
 */
async function inEveryOrder(
  kernels: readonly (readonly [Kernel, number, number, number])[],
): Promise<Float32Array[][]> {
  const rs = await launchAll(
    kernels.flatMap(([kernel, arg, grid, block]) =>
      ORDERS.map((order) => ({ kernel, arg, grid, block, order }))
    ),
  );
  return kernels.map(([k], i) =>
    ORDERS.map((order, j) => {
      const r = rs[i * ORDERS.length + j]!;
      if ("error" in r) throw new Error(`${k} failed in order ${order}: ${r.error}`);
      return r.out;
    })
  );
}

function firstDifference(a: Float32Array, b: Float32Array): number {
  return a.findIndex((v, i) => !Object.is(v, b[i]));
}

emuTest("a kernel with its barriers gives the same bits in every emulator order", async () => {
  const kernels = [["block_neighbour", 3, 64], ["warp_neighbour", 1, 32]] as const;
  const outs = await inEveryOrder(kernels.map(([k, grid, block]) => [k, 1, grid, block] as const));
  kernels.forEach(([k, grid, block], c) => {
    const want = Float32Array.from(
      { length: grid * block },
      (_, i) => k === "block_neighbour" ? i - (i % 64) + ((i + 1) % 64) : ((i + 1) % 32) + 1,
    );
    outs[c]!.forEach((o, j) => {
      const i = firstDifference(o, want);
      if (i >= 0) throw new Error(`${k} in order ${ORDERS[j]}: [${i}] = ${o[i]}, want ${want[i]}`);
    });
  });
});

emuTest("a missing __syncthreads or __syncwarp changes the results between orders", async () => {
  const kernels = [["block_neighbour", 3, 64], ["warp_neighbour", 1, 32]] as const;
  const outs = await inEveryOrder(kernels.map(([k, grid, block]) => [k, 0, grid, block] as const));
  kernels.forEach(([k], c) => {
    if (outs[c]!.slice(1).every((o) => firstDifference(o, outs[c]![0]!) < 0)) {
      throw new Error(`${k} without its barrier gave the same bits in every order: race not seen`);
    }
  });
});

emuTest("blocks that depend on each other give different results in reverse order", async () => {
  const [forward, reverse] = (await inEveryOrder([["across_blocks", 0, 8, 32]]))[0]!;
  if (firstDifference(forward!, reverse!) < 0) {
    throw new Error(`same results in both orders: ${forward!.slice(0, 8)}`);
  }
});

emuTest("a correct shuffle reduction works, and misused warp intrinsics fail by name", async () => {
  const cases: [number, RegExp][] = [
    [1, /lane 0 is at __syncwarp .* while lane 1 is at __shfl_down_sync/],
    [
      2,
      /lane 0 is at __shfl_up_sync \(mask ffffffff\) while lane 5 is at __shfl_up_sync \(mask 0000ffff\)/,
    ],
    [3, /thread 30 of block \(0,0,0\): a shuffle reads a lane that has exited/],
    [4, /width other than 32/],
  ];
  const [[sums], misused] = await Promise.all([
    inEveryOrder([["warp_misuse", 0, 1, 32]]),
    launchAll(
      cases.map(([mode]) => ({
        kernel: "warp_misuse",
        arg: mode,
        grid: 1,
        block: 32,
        order: "forward",
      })),
    ),
  ]);
  for (const out of sums!) {
    if (out.some((v) => v !== 528)) throw new Error(`shuffle sum: ${out.slice(0, 4)}…, want 528`);
  }
  cases.forEach(([mode, want], c) => {
    const r = misused[c]!;
    if (!("error" in r)) throw new Error(`mode ${mode}: the launch succeeded`);
    if (
      !/cuLaunchKernel failed with CUDA_ERROR_LAUNCH_FAILED/.test(r.error) || !want.test(r.error)
    ) {
      throw new Error(`mode ${mode}: unexpected message: ${r.error}`);
    }
  });
});

emuTest("a bad RNNBENCH_EMU_ORDER fails the launch, saying what it accepts", async () => {
  const orders = ["sideways", "shuffle:x"];
  const rs = await launchAll(
    orders.map((order) => ({ kernel: "warp_neighbour", arg: 1, grid: 1, block: 32, order })),
  );
  orders.forEach((order, c) => {
    const r = rs[c]!;
    if (!("error" in r) || !r.error.includes(`RNNBENCH_EMU_ORDER=${order}:`)) {
      throw new Error(`order ${order}: ${JSON.stringify(r)}`);
    }
  });
});

emuTest("RNNBENCH_EMU_SKIP skips one kernel, or with * every kernel and memset", async () => {
  const bits = (o: Float32Array) => new Uint32Array(o.buffer);
  const skipping = (skip: string): Launch => ({
    kernel: "warp_neighbour",
    arg: 1,
    grid: 1,
    block: 32,
    order: "forward",
    env: { RNNBENCH_EMU_SKIP: skip },
  });
  const [one, other, all] = await launchAll(
    [skipping("warp_neighbour"), skipping("block_neighbour"), skipping("*")],
  );
  if (!one || !("out" in one) || bits(one.out).some((b) => b !== 0)) {
    throw new Error(`a skipped kernel wrote, or the memset did not run: ${JSON.stringify(one)}`);
  }
  if (!other || !("out" in other) || other.out[0] !== 2) {
    throw new Error(`skipping another kernel changed this one: ${JSON.stringify(other)}`);
  }
  if (!all || !("out" in all) || bits(all.out).some((b) => b !== 0xffffffff)) {
    throw new Error(`with * a kernel or the memset ran: ${JSON.stringify(all)}`);
  }
});

emuTest(
  "threads of a block waiting at different __syncthreads fail the launch, naming both",
  async () => {
    const [ok, r] = await launchAll(
      [0, 1].map((arg) => ({ kernel: "split_barrier", arg, grid: 1, block: 64, order: "forward" })),
    );
    if (!ok || !("out" in ok) || ok.out[63] !== 63) {
      throw new Error(`one barrier: ${JSON.stringify(ok)}`);
    }
    if (
      !r || !("error" in r) ||
      !/thread 0 waits at the __syncthreads of line \d+, thread 1 at the one of line \d+/.test(
        r.error,
      )
    ) {
      throw new Error(`two barriers: ${JSON.stringify(r)}`);
    }
  },
);

emuTest("a kernel that writes outside its buffer fails the launch, saying where", async () => {
  // 32 floats (128 bytes): mode -1 writes out[32], at byte 128; mode 2 writes out[-2], at -8;
  // mode 0 writes out[31], the last float.
  const cases = [[-1, "at byte 128"], [2, "at byte -8"]] as const;
  const rs = await launchAll(
    [...cases.map(([mode]) => mode), 0].map((arg) => ({
      kernel: "outside",
      arg,
      grid: 1,
      block: 32,
      order: "forward",
    })),
  );
  cases.forEach(([mode, want], c) => {
    const r = rs[c]!;
    if (
      !("error" in r) || !r.error.includes(`wrote outside a device buffer of 128 bytes, ${want}`)
    ) {
      throw new Error(`mode ${mode}: ${JSON.stringify(r)}`);
    }
  });
  const inside = rs[cases.length]!;
  if (!("out" in inside) || inside.out[31] !== 1) throw new Error(JSON.stringify(inside));
});

emuTest(
  "copies and memsets that leave a device buffer are refused, as by the real driver",
  async () => {
    const t = await emulatorTuning();
    const opened = openDriver(t.emulator.driverPath);
    if (!opened.ok) throw new Error(opened.reason);
    const ctx = new CudaContext(opened.driver, 0);
    const ptr = ctx.alloc(16, "four floats");
    try {
      ctx.htod(ptr, new Float32Array(4), "four floats"); // fits
      ctx.htod(ptr + 4n, new Float32Array(3), "the last three"); // fits, at an offset
      const calls: [string, () => void][] = [
        ["cuMemcpyHtoD_v2", () => ctx.htod(ptr, new Float32Array(5), "five floats")],
        ["cuMemcpyHtoD_v2", () => ctx.htod(ptr + 8n, new Float32Array(3), "three at 8")],
        ["cuMemcpyDtoH_v2", () => ctx.dtoh(new Float32Array(5), ptr, "five floats")],
        ["cuMemsetD32_v2", () => ctx.memset32(ptr, 0, 5, "five words")],
      ];
      for (const [call, f] of calls) {
        let msg = "";
        try {
          f();
        } catch (e) {
          msg = String(e);
        }
        if (!msg.includes(`${call} failed with CUDA_ERROR_INVALID_VALUE`)) {
          throw new Error(`${call} outside the buffer: ${msg || "no error"}`);
        }
      }
    } finally {
      ctx.free(ptr);
    }
  },
);

emuTest(
  "under RNNBENCH_EMU_SANITIZE=1 the kernels of every cell train clean, and planted UB aborts",
  async () => {
    // In a subprocess: UBSan stops the whole process at its first finding.
    await emulatorTuning(); // builds the emulator once, here
    const here = new URL("../../", import.meta.url).href;
    const script = (body: string) =>
      `import { emulatorTuning } from "${here}_testing.ts";` +
      `import { emulatorToolchain } from "${here}cuda/compiler.ts";` +
      `import { CudaContext, openDriver } from "${here}cuda/driver.ts";` +
      `import { createCudaEngine } from "${here}cuda/engine.ts";` +
      `import { adamConfig } from "${here}../../models/adam.ts";` +
      `import { tinyBatch, tinyLayout, tinyParams } from "${here}../../models/_testing.ts";` +
      `const t = await emulatorTuning();` + body;
    const run = async (body: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", script(body)],
        env: { RNNBENCH_EMU_SANITIZE: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
    };
    const clean = await run(
      `for (const arch of ["rnn", "gru", "lstm"]) {` +
        `const layout = tinyLayout(arch); const { ids, labels } = tinyBatch(9, 6, 11);` +
        `const e = await createCudaEngine({ model: layout.config, layout, maxLen: 6, batchSize: 9,` +
        ` optimizer: adamConfig(1e-2), gradClip: 0.5, threads: null }, 0, t);` +
        `e.setParams(tinyParams(layout)); if (!e.detail.includes("UBSan")) throw new Error(e.detail);` +
        `await e.trainStep({ ids, labels: Float32Array.from(labels), size: 9 });` +
        `await e.predict(ids, 9); e.dispose(); }` +
        `console.log("clean");`,
    );
    if (clean.code !== 0 || !clean.text.includes("clean")) {
      throw new Error(`the kernels under UBSan: exit ${clean.code}\n${clean.text}`);
    }
    const planted = await run(
      `const src = String.raw\`__global__ void overflow(float *out, int big) {` +
        ` const int x = big + (int)threadIdx.x * big; out[threadIdx.x] = (float)x; }` +
        ` extern "C" void rb_emu_k_overflow(void **a) { overflow(*(float **)a[0], *(int *)a[1]); }\`;` +
        `const built = await emulatorToolchain(t.emulator.headerPath, t.cacheDir).build(src, "ub");` +
        `const o = openDriver(t.emulator.driverPath); if (!o.ok) throw new Error(o.reason);` +
        `const ctx = new CudaContext(o.driver, 0); const p = ctx.alloc(128, "out");` +
        `const fn = ctx.getFunction(ctx.loadModule(built.image, "ub"), "overflow");` +
        `const slots = new ArrayBuffer(16); new DataView(slots).setBigUint64(0, p, true);` +
        `new DataView(slots).setInt32(8, 2 ** 30, true);` +
        `ctx.launch(fn, "overflow", { grid: 1, block: 32, sharedBytes: 0 }, slots);` +
        `console.log("not caught");`,
    );
    if (planted.code === 0 || !/runtime error: signed integer overflow/.test(planted.text)) {
      throw new Error(`planted signed overflow: exit ${planted.code}\n${planted.text}`);
    }
  },
);
