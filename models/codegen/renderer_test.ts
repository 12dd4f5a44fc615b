import { CRenderer } from "./c.ts";
import { LoweringError } from "./lowering_error.ts";
import { programShape } from "./program_shape.ts";

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
    new Incomplete().program(
      programShape({ arch: "rnn", vocabSize: 100, embedDim: 64, hiddenSize: 8, layers: 25 }),
    );
  } catch (e) {
    if (!(e instanceof LoweringError)) throw e;
    msg = e.message;
  }
  if (msg !== 'Cannot lower op "tanh" for cuda: no entry in the op table') {
    throw new Error(`unexpected message: ${msg}`);
  }
});
