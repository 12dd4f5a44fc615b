import { Rng, STREAM } from "./rng.ts";
import { initParams, paramLayout } from "./classifier.ts";

Deno.test("fillNormal draws exactly what as many normal() calls would, and leaves the same state", () => {
  for (const seed of [1, 2, 77]) {
    const one = new Rng(seed, 1), bulk = new Rng(seed, 1);
    const n = 10_001;
    const want = new Float64Array(n), got = new Float64Array(n);
    for (let i = 0; i < n; i++) want[i] = one.normal();
    // An odd start leaves a spare to carry in; odd ends leave one to carry out.
    for (let i = 0; i < 3; i++) got[i] = bulk.normal();
    bulk.fillNormal(got, 3, 5_000);
    bulk.fillNormal(got, 5_000, 5_001);
    bulk.fillNormal(got, 5_001, 5_001);
    bulk.fillNormal(got, 5_001, n);
    for (let i = 0; i < n; i++) {
      if (!Object.is(got[i], want[i])) {
        throw new Error(`seed ${seed}: sample ${i} is ${got[i]}, normal() gave ${want[i]}`);
      }
    }
    for (let i = 0; i < 3; i++) {
      const a = [one.normal(), one.uniform()], b = [bulk.normal(), bulk.uniform()];
      if (a[0] !== b[0] || a[1] !== b[1]) throw new Error(`seed ${seed}: the states differ after`);
    }
  }
});

Deno.test("initParams draws the embedding in bulk with the values of one normal() per element", () => {
  const layout = paramLayout({ arch: "gru", vocabSize: 31, embedDim: 5, hiddenSize: 3, layers: 2 });
  const got = initParams(layout, 4);
  // The same draws one at a time: the embedding first (normal), then each tensor in order.
  const rng = new Rng(4, STREAM.init);
  for (const t of layout.tensors) {
    for (let i = t.offset; i < t.offset + t.size; i++) {
      const want = t.init.kind === "zeros"
        ? 0
        : t.init.kind === "normal"
        ? rng.normal()
        : t.init.kind === "uniformIn"
        ? rng.uniformIn(t.init.low, t.init.high)
        : rng.uniformIn(-t.init.bound, t.init.bound);
      if (!Object.is(got[i], want)) {
        throw new Error(`${t.name}[${i - t.offset}]: ${got[i]} vs ${want}`);
      }
    }
  }
});
