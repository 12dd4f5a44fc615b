import { checkParity } from "./parity.ts";
import { TINY_T, tinyIds, tinyOnnxFile } from "./_testing.ts";

Deno.test("checkParity() finds an export within 1e-5 of the reference, from a path or bytes", async () => {
  for (const style of ["scan", "native"] as const) {
    const m = await tinyOnnxFile(style);
    try {
      const n = 37, ids = tinyIds(n);
      const want = m.logitsFor(ids, n);
      for (const model of [m.path, m.bytes]) {
        const r = await checkParity(model, ids, n, TINY_T, want, 16);
        if (r.sequencesChecked !== n || !(r.maxAbsDiff < 1e-5)) {
          throw new Error(`${style}: ${JSON.stringify(r)}`);
        }
      }
    } finally {
      await m.cleanup();
    }
  }
});

Deno.test("checkParity() reports the largest difference", async () => {
  const m = await tinyOnnxFile();
  try {
    const n = 4, ids = tinyIds(n);
    const want = m.logitsFor(ids, n);
    want[2]! += 0.25;
    const r = await checkParity(m.bytes, ids, n, TINY_T, want);
    if (Math.abs(r.maxAbsDiff - 0.25) > 1e-5) throw new Error(`maxAbsDiff ${r.maxAbsDiff}`);
  } finally {
    await m.cleanup();
  }
});
