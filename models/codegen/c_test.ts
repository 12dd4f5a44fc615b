import { ARCHS } from "../cells.ts";
import { generateC } from "./c.ts";

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
