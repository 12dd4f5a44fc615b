/**
 * The CUDA lowering: the generated source compiles with nvcc for sm_90 (Hopper) at a
 * small shape (both readouts) and at the original shape, for every architecture, whenever
 * nvcc exists (no GPU needed); the readout is compiled in; and the lowering refuses what it
 * cannot map, naming why.
 */
import { type Arch, ARCHS } from "../cells.ts";
import { type ModelConfig, readoutOf, READOUTS } from "../classifier.ts";
import { type CellGraph, type CellSpec, trace } from "../ir.ts";
import { backward } from "../grad.ts";
import { CUDA_KERNELS, cudaLayout, cudaLayoutFor, generateCuda, type KernelName } from "./cuda.ts";
import { LoweringError } from "./lowering_error.ts";
import { ignorableTest } from "../_testing.ts";

const nvcc = Deno.env.get("NVCC") ?? "nvcc";

async function nvccVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command(nvcc, { args: ["--version"], stdout: "piped" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim().split("\n").pop()! : null;
  } catch {
    return null;
  }
}

/** Compiles with nvcc for sm_90 into a fresh directory (no cache); returns ptxas' report. */
async function compile(model: ModelConfig): Promise<string> {
  const what = `${model.arch} (readout ${readoutOf(model)})`;
  const dir = await Deno.makeTempDir({ prefix: `rnnbench-nvcc-${model.arch}-` });
  try {
    await Deno.writeTextFile(`${dir}/k.cu`, generateCuda(model));
    const args = [
      "-cubin",
      "-arch=sm_90",
      "-O3",
      "--resource-usage",
      "-o",
      `${dir}/k.cubin`,
      `${dir}/k.cu`,
    ];
    const out = await new Deno.Command(nvcc, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) {
      throw new Error(`nvcc failed on the generated ${what} CUDA:\n${text.slice(0, 4000)}`);
    }
    if ((await Deno.stat(`${dir}/k.cubin`)).size < 1000) throw new Error("empty cubin");
    return text;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Registers of a kernel in ptxas' report. */
function registers(report: string, kernel: string): number {
  const at = report.indexOf(`Function properties for ${kernel}\n`);
  const m = /Used (\d+) registers/.exec(report.slice(at));
  if (at < 0 || !m) throw new Error(`no resource usage of ${kernel} in:\n${report.slice(0, 2000)}`);
  return Number(m[1]);
}

const small = (arch: Arch): ModelConfig => ({
  arch,
  vocabSize: 11,
  embedDim: 5,
  hiddenSize: 4,
  layers: 3,
});
const original = (arch: Arch): ModelConfig => ({
  arch,
  vocabSize: 121_000,
  embedDim: 64,
  hiddenSize: 8,
  layers: 25,
});

// Both run, and fail on any compile error, wherever nvcc exists.
const NVCC_MISSING = (await nvccVersion()) === null ? `${nvcc} not found` : null;

ignorableTest({
  name:
    "generated CUDA of rnn, gru and lstm at a small shape, readouts last and max, compiles with nvcc for sm_90",
  ignore: NVCC_MISSING,
  async fn() {
    const models = READOUTS.flatMap((readout) => ARCHS.map((a) => ({ ...small(a), readout })));
    const reports = await Promise.all(models.map(compile));
    for (const r of reports) {
      for (const k of Object.keys(CUDA_KERNELS)) registers(r, k);
    }
  },
});

ignorableTest({
  name:
    "generated CUDA of rnn, gru and lstm (and lstm with the readout max) at the original shape compiles with nvcc for sm_90",
  ignore: NVCC_MISSING,
  async fn() {
    const models: ModelConfig[] = [
      ...ARCHS.map(original),
      { ...original("lstm"), readout: "max" },
    ];
    const reports = await Promise.all(models.map(compile));
    reports.forEach((r, i) => {
      // 4 warps per block: 255 registers is the hardware's limit per thread.
      const regs = registers(r, "rb_train");
      const m = models[i]!;
      if (regs > 255) {
        throw new Error(`${m.arch} (readout ${readoutOf(m)}) rb_train uses ${regs} registers`);
      }
    });
  },
});

Deno.test("generated CUDA declares every kernel of the table with its parameters, and emulator wrappers", () => {
  const src = generateCuda(small("gru"));
  for (const [k, params] of Object.entries(CUDA_KERNELS) as [KernelName, readonly string[]][]) {
    const decl = `${k}(${params.join(", ")})`;
    if (!src.includes(`extern "C" __global__ void `) || !src.includes(decl)) {
      throw new Error(`no declaration ${decl}`);
    }
    if (!src.includes(`extern "C" void rb_emu_k_${k}(void **a)`)) {
      throw new Error(`no wrapper of ${k}`);
    }
  }
  // The op table and the flush are the shared ones: the same comments as the C target.
  for (const want of ["rb_flush_I4", "@ W_xz [4, 4]", "rb_cu_fwd", "rb_cu_bwd", "rb_cu_dx0"]) {
    if (!src.includes(want)) throw new Error(`no ${want}`);
  }
});

Deno.test("the readout is compiled in: last is the original code, max passes the argmax from forward to backward", () => {
  for (const arch of ARCHS) {
    const plain = generateCuda(small(arch));
    const last = generateCuda({ ...small(arch), readout: "last" });
    const max = generateCuda({ ...small(arch), readout: "max" });
    if (last !== plain) throw new Error(`${arch}: readout "last" is not the default program`);
    for (const src of [last, max]) {
      if (src.includes("{{") || src.includes("\u0000")) throw new Error(`${arch}: unfilled hole`);
    }
    // "last": the top layer's gradient enters at T − 1; nothing of the maximum.
    for (const want of ["(t == T - 1 ? dtop[j] : 0.0f)", "lane, tape, htop);"]) {
      if (!last.includes(want)) throw new Error(`${arch} last: no ${want}`);
    }
    for (const not of ["ttop", "mx[", "readout max"]) {
      if (last.includes(not)) throw new Error(`${arch} last: has ${not}`);
    }
    // "max": the running maximum and its first timestep, handed from forward to backward.
    for (
      const want of [
        "const bool up = t == 0 || o[j] > mx[j];",
        "for (int j = 0; j < RB_H; j++) s[j] = mx[j];",
        "ttop[j] = at[j];",
        "rb_wave_forward(Ws, rest, pre0, b, T, lane, tape, htop, ttop);",
        "rb_wave_forward(Ws, rest, pre0, b, T, lane, nullptr, nullptr, nullptr);",
        "rb_wave_backward(Ws, pre0, b, T, lane, tape, dtop, ttop, gpre0, partial);",
        "(t == ttop[j] ? dtop[j] : 0.0f)",
      ]
    ) {
      if (!max.includes(want)) throw new Error(`${arch} max: no ${want}`);
    }
    if (max.includes("t == T - 1 ? dtop")) throw new Error(`${arch} max: gradient at T − 1`);
  }
});

Deno.test("the CUDA lowering refuses more than 32 layers, naming the reason", () => {
  let msg = "";
  try {
    generateCuda({ ...small("rnn"), layers: 33 });
  } catch (e) {
    if (!(e instanceof LoweringError)) throw e;
    msg = e.message;
  }
  if (!msg.includes("33 layers: the kernels run one layer per lane of a warp, so at most 32")) {
    throw new Error(msg);
  }
});

Deno.test("the CUDA lowering refuses a cell whose input is used other than by x · W_x", () => {
  const spec: CellSpec<never, { W_x: "input"; W_h: "hidden"; b: "bias" }> = {
    name: "odd",
    states: ["h"],
    weights: { W_x: "input", W_h: "hidden", b: "bias" },
    step: (o, x, { h }, w) => ({ h: o.tanh(o.affine(o.mul(x, 2), w.W_x, h, w.W_h, w.b)) }),
  };
  const odd: CellGraph = trace(spec);
  let msg = "";
  try {
    cudaLayout({
      graph: odd,
      backward: backward(odd),
      embedDim: 4,
      hiddenSize: 4,
      layers: 2,
      readout: "last",
    });
  } catch (e) {
    if (!(e instanceof LoweringError)) throw e;
    msg = e.message;
  }
  if (!msg.startsWith('Cannot lower op "mul" for cuda: the layer input may only be multiplied')) {
    throw new Error(msg);
  }
});

Deno.test("layer 0's hoisted projections are read off the IR: one per input weight", () => {
  const want: Record<Arch, string[]> = {
    rnn: ["W_xh"],
    gru: ["W_xz", "W_xr", "W_xH"],
    lstm: ["W_xf", "W_xi", "W_xC", "W_xo"],
  };
  for (const arch of ARCHS) {
    const lay = cudaLayoutFor(original(arch));
    const got = lay.pre.map((p) => p.param);
    if (got.join() !== want[arch]!.join()) throw new Error(`${arch}: ${got}`);
    if (lay.PH !== 8 * got.length || lay.WS % 2 !== 1) {
      throw new Error(`${arch}: ${lay.PH} ${lay.WS}`);
    }
  }
});
