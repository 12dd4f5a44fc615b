// Engine selection for a cell a lowering cannot run: the CUDA kernels hoist layer 0's input
// projections out of the recurrence, so a cell whose layer input goes through relu before
// its matmul cannot run on them. `--engine cuda` is refused with the lowering's message
// (naming the op and the engine), `auto` skips cuda saying why, and the engine it picks
// computes the cell's logits as the float64 reference does.
import { registerCell } from "../../models/cells.ts";
import { generateC } from "../../models/codegen/c.ts";
import { cudaCellProblem, generateCuda } from "../../models/codegen/cuda.ts";
import { LoweringError } from "../../models/codegen/lowering_error.ts";
import { indrnn } from "../../models/examples/indrnn.ts";
import type { CellSpec } from "../../models/ir.ts";
import { referenceForward } from "../../models/reference.ts";
import { assertClose } from "../../models/_testing.ts";
import { engineFixture, engineOptions, FIXTURE, withEngine } from "./_testing.ts";
import { availability, createEngine, prepareEngines, resolveEngine } from "./registry.ts";
import { compileNative } from "./native/engine.ts";

/** relu of the layer input, then the RNN's affine step. */
const reluIn: CellSpec<never, { W: "input"; U: "hidden"; b: "bias" }> = {
  name: "reluin",
  states: ["h"],
  weights: { W: "input", U: "hidden", b: "bias" },
  step: (o, x, { h }, w) => ({ h: o.tanh(o.affine(o.relu(x), w.W, h, w.U, w.b)) }),
};
registerCell(reluIn);
registerCell(indrnn);

const LOWERING = 'Cannot lower op "relu" for cuda: the layer input may only be multiplied by ' +
  "input weights (x · W_x), which the CUDA target hoists out of the recurrence";
const shapes = [{ hiddenSize: 4, layers: 3, arch: "reluin" }];

Deno.test("the CUDA lowering refuses a cell that applies relu to its input, naming op and engine", () => {
  if (cudaCellProblem("reluin") !== LOWERING) throw new Error(`${cudaCellProblem("reluin")}`);
  for (const arch of ["rnn", "lstm", "gru", "indrnn"]) {
    if (cudaCellProblem(arch) !== null) throw new Error(`${arch}: ${cudaCellProblem(arch)}`);
  }
  const model = { arch: "reluin", vocabSize: 11, embedDim: 5, hiddenSize: 4, layers: 3 };
  try {
    generateCuda(model);
    throw new Error("generateCuda accepted the cell");
  } catch (e) {
    if (!(e instanceof LoweringError) || e.message !== LOWERING) throw e;
  }
  if (!generateC(model).includes("rb_max(")) throw new Error("the C target did not lower relu");
});

Deno.test("--engine cuda is refused for that cell; auto skips cuda, says why, and its pick runs it", async () => {
  const a = await availability("cuda", { device: 0, shapes });
  if (a.ok || a.reason !== `cell "reluin": ${LOWERING}`) throw new Error(JSON.stringify(a));
  let msg = "";
  await resolveEngine("cuda", { device: 0, shapes }).catch((e) => (msg = String(e)));
  if (!msg.includes(`Cannot use engine cuda: cell "reluin": ${LOWERING}`)) {
    throw new Error(`unexpected message: ${msg}`);
  }
  const auto = await resolveEngine("auto", { device: 0, shapes });
  if (
    auto.kind === "cuda" || !auto.reason.includes(`cuda unavailable: cell "reluin": ${LOWERING}`)
  ) {
    throw new Error(`auto: ${JSON.stringify(auto)}`);
  }
  const f = engineFixture("reluin");
  const want = referenceForward(f.layout, f.params, f.batch.ids, f.batch.size, FIXTURE.T).logits;
  const opts = engineOptions(f.layout, { threads: 2 });
  await withEngine(() => createEngine(auto.kind, opts, { device: 0 }), async (e) => {
    e.setParams(f.params);
    const got = await e.predict(f.batch.ids, f.batch.size);
    assertClose(`${auto.kind} logits of reluin`, got, want, { atol: 1e-5, rtol: 0 });
  });
});

Deno.test("prepareEngines builds every native shape ahead (a broken one does not stop it); engines find them cached", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const a = { arch: "rnn", vocabSize: 2, embedDim: 3, hiddenSize: 2, layers: 2 } as const;
    const b = { ...a, layers: 1 };
    // a repeat (another vocabulary, the readout spelled out), and a shape that cannot build
    const again = { ...a, vocabSize: 50, readout: "last" as const };
    const broken = { ...a, arch: "no-such-cell" };
    await prepareEngines("native", [a, again, b, broken], 2, cacheDir);
    const built = [];
    for await (const e of Deno.readDir(cacheDir)) if (e.isDirectory) built.push(e.name);
    if (built.length !== 2) throw new Error(`expected 2 libraries, found ${built.join(", ")}`);
    for (const m of [again, b]) {
      const c = await compileNative(m, { cacheDir });
      if (!c.compiled.cached) throw new Error(`${JSON.stringify(m)} was compiled again`);
    }
    await prepareEngines("tfjs-cpu", [a], 2, cacheDir); // builds nothing
    let entries = 0;
    for await (const _ of Deno.readDir(cacheDir)) entries++;
    if (entries !== 2) throw new Error(`tfjs-cpu built something: ${entries} entries`);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
