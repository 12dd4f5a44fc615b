import { floatLiteral } from "./emitter.ts";

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
