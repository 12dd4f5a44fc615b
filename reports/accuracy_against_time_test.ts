import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { buildReport } from "./build_report.ts";
import { chartsOf } from "./model.ts";
import { loadFixtures } from "./_test_util.ts";

Deno.test("the accuracy-against-time figure plots each run's cumulative training seconds and accuracy", async () => {
  const files = await loadFixtures("fixtures/results/one-machine.json");
  const results = files[0]!.results;
  const charts = chartsOf(buildReport(files)).filter((c) => c.id.startsWith("accuracy-time-"));
  const profiles = new Set(
    results.runs.filter((r) => r.status === "ok" && r.epochs.length > 1).map((r) => r.profile),
  );
  assertEquals(
    charts.map((c) => c.id).sort(),
    [...profiles].map((p) => `accuracy-time-${p}`).sort(),
  );
  for (const chart of charts) {
    assertEquals(chart.xAxis, "linear");
    const profile = chart.id.slice("accuracy-time-".length);
    const runs = results.runs.filter((r) => r.profile === profile && r.status === "ok");
    assertEquals(chart.series.length, runs.length, "one seed here: one line per run");
    for (const run of runs) {
      const series = chart.series.find((s) =>
        s.name === `${run.arch.toUpperCase()} · ${run.engine}`
      );
      assert(series, `no line for ${run.runId} in ${chart.id}`);
      let seconds = 0;
      const want = run.epochs.map((e) => {
        seconds += e.trainSeconds ?? 0;
        return [seconds, e.testAccuracy];
      });
      const got = chart.labels.flatMap((x, i) => {
        const y = series.values[i];
        return y === null || y === undefined ? [] : [[Number(x), y]];
      });
      assertEquals(got, want, run.runId);
    }
  }
});
