// deno-lint-ignore-file no-explicit-any
import { type CellSpec, trace, TraceError } from "./ir.ts";
import { gru, lstm, rnn } from "./cells.ts";
import { indrnn } from "./examples/indrnn.ts";

type Loose = CellSpec<any, Record<string, any>>;

/** A valid one-state cell; each case below breaks one thing of it. */
const good: CellSpec<never, { W: "input"; U: "hidden"; b: "bias" }> = {
  name: "probe",
  states: ["h"],
  weights: { W: "input", U: "hidden", b: "bias" },
  step: (o, x, { h }, w) => ({ h: o.tanh(o.affine(x, w.W, h, w.U, w.b)) }),
};

function refuses(spec: unknown, want: RegExp): void {
  try {
    trace(spec as Loose);
  } catch (e) {
    if (!(e instanceof TraceError)) throw new Error(`not a TraceError: ${e}`);
    if (!want.test(e.message) || e.message.includes("\n")) {
      throw new Error(`message ${JSON.stringify(e.message)} does not match ${want}`);
    }
    return;
  }
  throw new Error(`accepted a cell that should fail with ${want}`);
}

Deno.test("trace() accepts the built-in cells, the IndRNN example and a minimal one", () => {
  for (const c of [rnn, lstm, gru, indrnn, good]) trace(c as Loose);
});

Deno.test("trace() checks diagonal weights: scale takes one, of a value of width H, and only scale", () => {
  const diag = { ...good, weights: { ...good.weights, u: "diagonal" } };
  const withU = (f: (o: any, x: any, h: any, w: any) => any) => ({
    ...diag,
    step: (o: any, x: any, { h }: any, w: any) => ({ h: f(o, x, h, w) }),
  });
  const g = trace(withU((o, x, h, w) => o.scale(o.affine(x, w.W, h, w.U, w.b), w.u)) as Loose);
  const kinds = Object.fromEntries(g.params.map((p) => [p.name, p.kind]));
  if (kinds["u"] !== "diagonal" || !g.nodes.some((n) => n.op === "scale" && n.param === "u")) {
    throw new Error(`scale not traced: ${JSON.stringify(g)}`);
  }
  refuses(
    withU((o, x, h, w) => o.scale(o.affine(x, w.W, h, w.U, w.b), w.U)),
    /weight "U" is declared "hidden" but scales a value elementwise \(needs "diagonal"\)/,
  );
  refuses(
    withU((o, x, h, w) => o.add(o.affine(x, w.W, h, w.U, w.b), o.scale(x, w.u))),
    /diagonal "u" scales a value of width I \(needs H\)/,
  );
  refuses(
    withU((o, x, h, w) => o.add(o.affine(x, w.W, h, w.U, w.b), o.matmul(h, w.u))),
    /weight "u" is declared "diagonal" but multiplies a value of width H \(needs "hidden"\)/,
  );
  refuses(
    withU((o, x, h, w) => o.addBias(o.affine(x, w.W, h, w.U, w.b), w.u)),
    /weight "u" is declared "diagonal" but is added as a bias/,
  );
  refuses(
    { ...good, weights: { ...good.weights, u: "diag" } },
    /weight "u" has kind "diag" \(valid: input, hidden, bias, diagonal\)/,
  );
});

Deno.test("trace() refuses a cell whose shape is wrong, naming the field", () => {
  refuses(null, /a cell must be an object/);
  refuses({ ...good, name: "" }, /"name" must be a non-empty string/);
  refuses({ ...good, states: ["c"] }, /"states" must be an array of names starting with "h"/);
  refuses({ ...good, states: ["h", "h"] }, /names a state twice/);
  refuses({ ...good, weights: { ...good.weights, V: "matrix" } }, /weight "V" has kind "matrix"/);
  refuses({ ...good, step: 3 }, /"step" must be a function/);
});

Deno.test("trace() refuses states declared but never written, and written but not declared", () => {
  refuses(
    { ...good, states: ["h", "c"] },
    /Cannot trace cell "probe": state "c" is declared but never written/,
  );
  refuses(
    {
      ...good,
      step: (o: never, x: never, s: never, w: never) => ({ ...good.step(o, x, s, w), c: 1 }),
    },
    /state "c" is written but not declared/,
  );
  refuses(
    { ...good, step: (_o: unknown, _x: unknown, s: { c: unknown }) => ({ h: s.c }) },
    /state "c" is read but not declared/,
  );
});

Deno.test("trace() refuses weights declared but unused, and used but not declared", () => {
  refuses(
    { ...good, weights: { ...good.weights, V: "hidden" } },
    /weight "V" is declared but unused/,
  );
  refuses(
    {
      ...good,
      step: (o: any, x: any, { h }: any, w: any) => ({ h: o.tanh(o.affine(x, w.W, h, w.Z, w.b)) }),
    },
    /weight "Z" is used but not declared/,
  );
});

Deno.test("trace() refuses an op outside the set, a wrong width, a foreign value, a throwing step", () => {
  refuses(
    {
      ...good,
      step: (o: any, x: any, { h }: any, w: any) => ({
        h: o.softplus(o.affine(x, w.W, h, w.U, w.b)),
      }),
    },
    /op "softplus" is not in the op set \(valid: matmul, addBias/,
  );
  refuses(
    {
      ...good,
      step: (o: any, x: any, { h }: any, w: any) => ({
        h: o.add(o.affine(x, w.W, h, w.U, w.b), x),
      }),
    },
    /add of values of different widths \(H and I\)/,
  );
  refuses(
    { ...good, step: (o: any, x: any, { h }: any, w: any) => ({ h: o.tanh(7), _u: [x, h, w] }) },
    /the operand of tanh is not a value of this cell \(got 7\)/,
  );
  refuses(
    {
      ...good,
      step: () => {
        throw new RangeError("boom");
      },
    },
    /Cannot trace cell "probe": step\(\) threw: boom/,
  );
  refuses(
    {
      ...good,
      step: (o: any, x: any, { h }: any, w: any) => ({
        h: o.mul(o.affine(x, w.W, h, w.U, w.b), NaN),
      }),
    },
    /constants must be finite/,
  );
  refuses(
    {
      ...good,
      step: (o: any, x: any, _s: any, w: any) => ({
        h: o.tanh(o.addBias(o.matmul(x, w.W), w.U)),
      }),
    },
    /weight "U" is declared "hidden" but is added as a bias/,
  );
});
