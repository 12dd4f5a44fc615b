import { backward } from "../grad.ts";
import { ARCHS, cellGraph } from "../cells.ts";
import { CRenderer, generateC } from "./c.ts";
import { floatLiteral, LoweringError, type ProgramShape } from "./renderer.ts";

const shapeOf = (arch: (typeof ARCHS)[number]): ProgramShape => {
  const graph = cellGraph(arch);
  return { graph, backward: backward(graph), embedDim: 64, hiddenSize: 8, layers: 25 };
};

Deno.test("a target without an op in its table fails naming the op and the target", () => {
  class Incomplete extends CRenderer {
    override readonly target = "cuda";
    constructor() {
      super();
      delete (this.ops as Partial<typeof this.ops>).tanh;
    }
  }
  let msg = "";
  try {
    new Incomplete().program(shapeOf("rnn"));
  } catch (e) {
    if (!(e instanceof LoweringError)) throw e;
    msg = e.message;
  }
  if (msg !== 'Cannot lower op "tanh" for cuda: no entry in the op table') {
    throw new Error(`unexpected message: ${msg}`);
  }
});

Deno.test("generated C is readable: shapes named in comments, one cell function per input size", () => {
  for (const arch of ARCHS) {
    const src = generateC({ arch, vocabSize: 100, embedDim: 64, hiddenSize: 8, layers: 25 });
    for (const want of ["rb_cell_fwd_I64", "rb_cell_fwd_I8", "rb_cell_bwd_I64", "rb_flush_I8"]) {
      if (!src.includes(want)) throw new Error(`${arch}: no ${want}`);
    }
    const w = arch === "rnn" ? "W_xh" : arch === "gru" ? "W_xz" : "W_xf";
    if (!src.includes(`@ ${w} [64, 8]`)) throw new Error(`${arch}: matmul shape comment missing`);
  }
  // E == H: one function serves every layer.
  const same = generateC({ arch: "gru", vocabSize: 10, embedDim: 4, hiddenSize: 4, layers: 3 });
  if (same.includes("rb_cell_fwd_I8") || !same.includes("rb_cell_fwd_I4")) {
    throw new Error("E == H should give one cell function");
  }
});

Deno.test("floatLiteral writes C float literals that round-trip through float32", () => {
  const cases: [number, string][] = [[1, "1.0f"], [-1, "(-1.0f)"], [0.5, "0.5f"], [0, "0.0f"]];
  for (const [v, want] of cases) {
    if (floatLiteral(v) !== want) throw new Error(`${v} → ${floatLiteral(v)}, want ${want}`);
  }
  const tiny = floatLiteral(1e-7);
  if (Math.fround(parseFloat(tiny)) !== Math.fround(1e-7)) throw new Error(tiny);
  let threw = false;
  try {
    floatLiteral(Infinity);
  } catch {
    threw = true;
  }
  if (!threw) throw new Error("Infinity was accepted");
});
