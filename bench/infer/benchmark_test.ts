import { benchmarkOnnx, median, percentile } from "./benchmark.ts";
import { tinyOnnxFile } from "./_testing.ts";

Deno.test("percentile() is nearest-rank and median() averages the middle pair", () => {
  const xs = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
  const got = [percentile(xs, 50), percentile(xs, 95), percentile(xs, 99), percentile(xs, 10)];
  if (got.join() !== "5,10,10,1") throw new Error(`percentiles ${got}`);
  if (median(xs) !== 5.5 || median([3, 1, 2]) !== 2) throw new Error("median");
});

Deno.test("benchmarkOnnx() measures a tiny export and reports cuda honestly", async () => {
  const m = await tinyOnnxFile();
  try {
    const results = await benchmarkOnnx(m.path, {
      batchSizes: [1, 8],
      workers: 2,
      providers: ["cpu", "cuda"],
      minSeconds: 0.05,
      warmupSeconds: 0.02,
      repeats: 2,
    });
    const cpu = results.filter((r) => r.provider === "cpu");
    if (cpu.length !== 2 || results.length !== 4) throw new Error(JSON.stringify(results));
    for (const r of cpu) {
      if (!(r.sequencesPerSecond! > 0) || r.workers !== 2 || r.unavailable !== null) {
        throw new Error(JSON.stringify(r));
      }
    }
    const l = cpu[0]!.latencyMs;
    if (l === null || !(l.p50 > 0 && l.p50 <= l.p95 && l.p95 <= l.p99)) {
      throw new Error(`latency ${JSON.stringify(l)}`);
    }
    if (cpu[1]!.latencyMs !== null) throw new Error("latency is for batch 1 only");
    for (const r of results.filter((r) => r.provider === "cuda")) {
      // Either measured for real, or unavailable with a reason — never a silent cpu fallback.
      const ok = r.unavailable === null
        ? r.sequencesPerSecond! > 0
        : r.unavailable.length > 10 && r.sequencesPerSecond === null && r.latencyMs === null;
      if (!ok) throw new Error(JSON.stringify(r));
    }
  } finally {
    await m.cleanup();
  }
});
