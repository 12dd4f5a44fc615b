import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { type Block, plainText, type Report } from "./model.ts";
import { buildReport, type LoadedResults, ReportError } from "./build_report.ts";
import { loadFixtures } from "./_test_util.ts";

/** The report's text without markup, one block per line. */
function text(report: Report): string {
  return report.blocks.map((b: Block) => {
    switch (b.kind) {
      case "heading":
      case "paragraph":
        return plainText(b.text);
      case "list":
        return b.items.map(plainText).join("\n");
      case "table":
        return [b.table.columns.map((c) => c.header), ...b.table.rows.map((r) => r.map(plainText))]
          .map((r) => r.join(" | ")).join("\n");
      case "chart":
        return `[chart ${b.chart.id}]`;
    }
  }).join("\n");
}

async function oneMachine(keep: (profile: string) => boolean): Promise<LoadedResults[]> {
  const files = await loadFixtures("fixtures/results/one-machine.json");
  const results = files[0]!.results;
  results.runs = results.runs.filter((r) => keep(r.profile));
  return files;
}

Deno.test("the explanation states that original-labels accuracy equals the negative share", async () => {
  const t = text(buildReport(await oneMachine(() => true)));
  assert(
    t.includes("the accuracy equals testPredictedNegativeFraction in every epoch of every run"),
  );
  assert(t.includes("no test label is positive"));
  assert(t.includes("With correct labels the same setup (original) reaches RNN 0.5000"));
  assert(t.includes("chance level"));
});

Deno.test("the explanation says what is missing when profiles were not run", async () => {
  const t = text(buildReport(await oneMachine((p) => p === "best")));
  assert(t.includes("There is no original-labels run in these results"), t);
  assert(t.includes("There is no original run in these results"));
  assert(t.includes("There is no fixed run in these results"));
  assert(t.includes("no original or original-labels run in these results"));
});

Deno.test("the explanation flags original-labels runs whose accuracy is not the negative share", async () => {
  const files = await oneMachine((p) => p === "original-labels");
  files[0]!.results.runs[0]!.epochs[2]!.testAccuracy = 0.5;
  const t = text(buildReport(files));
  assert(
    t.includes(
      "yet the accuracy differs from testPredictedNegativeFraction in rnn-original-labels",
    ),
    t,
  );
});

Deno.test("the report says when there is no GPU run, ONNX export or time to accuracy", async () => {
  const files = await oneMachine((p) => p === "original-labels");
  const t = text(buildReport(files));
  assert(t.includes("No GPU run in these results."));
  assert(t.includes("No ONNX export in these results."));
  assert(t.includes("No inference measurement in these results."));
  assert(t.includes("No run in these results records a time to accuracy."));
  assert(t.includes("All results come from one machine (ref-2core)"));
  assert(t.includes("Every configuration here ran with one seed"));
});

Deno.test("the original table puts the original's numbers beside each profile in order", async () => {
  const report = buildReport(await oneMachine(() => true));
  const table = report.blocks.find((b) =>
    b.kind === "table" && b.table.columns[1]?.header === "Results from"
  );
  assert(table?.kind === "table");
  const rows = table.table.rows.map((r) => r.slice(0, 2).map(plainText).join(" "));
  assertEquals(rows.slice(0, 5), [
    "RNN original report",
    "RNN original-labels",
    "RNN original",
    "RNN fixed",
    "RNN best",
  ]);
  const lstm = table.table.rows[5]!.map(plainText);
  assertEquals([lstm[4], lstm[5], lstm[6]], ["2", "1e-10", "0.9994"]);
});

Deno.test("buildReport() refuses an unknown baseline and lists the machines", async () => {
  const files = await loadFixtures(
    "fixtures/results/two-machines/gpu-h200.json",
    "fixtures/results/two-machines/ref-2core.json",
  );
  throws(
    () => buildReport(files, { baseline: "h100" }),
    (e: unknown) =>
      e instanceof ReportError && e.message.includes(`"gpu-h200", "ref-2core"`) &&
      e.message.includes(`baseline "h100"`),
  );
  const t = text(buildReport(files, { baseline: "ref-2core" }));
  assert(t.includes("relative to the baseline ref-2core"));
  assert(t.includes("| 2.28 (5.39×) | 12.3 (baseline)"), "baseline column");
});

Deno.test("the chart language switches titles to the original's Russian", async () => {
  const files = await oneMachine((p) => p === "original");
  const ru = buildReport(files, { lang: "ru" });
  const charts = ru.blocks.flatMap((b) => b.kind === "chart" ? [b.chart] : []);
  assertEquals(charts.map((c) => c.title), [
    "Точность модели на каждой ступени лестницы причин",
    "Графики зависимости точности моделей от выбранной архитектуры",
    "Графики зависимости значения функции потерь от выбранной архитектуры",
    "Точность модели в зависимости от времени обучения",
  ]);
  assertEquals(charts[1]!.xLabel, "Номер эпохи");
  assertEquals(charts.map((c) => c.yLabel), [
    "Точность модели",
    "Точность модели",
    "Значение функции потерь",
    "Точность модели",
  ]);
  assertEquals(charts[1]!.labels, ["0", "1", "2", "3", "4", "5"]);
});

Deno.test("the report is deterministic", async () => {
  const files = await loadFixtures("fixtures/results/several-seeds.json");
  assertEquals(buildReport(files), buildReport(files));
});

Deno.test("reports from arbitrary subsets of runs never show NaN, Infinity or undefined", async () => {
  let state = 7;
  const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 40; i++) {
    const files = (await loadFixtures(
      "fixtures/results/one-machine.json",
      "fixtures/results/two-machines/gpu-h200.json",
      "fixtures/results/several-seeds.json",
    )).filter(() => random() < 0.7);
    for (const f of files) {
      f.results.runs = f.results.runs.filter(() => random() < 0.5);
      for (const r of f.results.runs) {
        if (random() < 0.1) {
          Object.assign(r, { status: "failed", epochs: [], timeToAccuracy: null });
          r.failure = { epoch: 0, batch: null, message: "out of memory" };
        }
        if (random() < 0.1) r.profile = "smoke";
        if (random() < 0.1) {
          Object.assign(r, { epochs: r.epochs.slice(0, 1), timeToAccuracy: null });
        }
      }
    }
    const t = text(buildReport(files));
    assert(!/NaN|Infinity|undefined/.test(t.replaceAll("loss became NaN", "")), t);
  }
});

Deno.test("runs exported but not timed (rungs between named profiles) get one line naming their profiles", async () => {
  const files = await loadFixtures("fixtures/results/one-machine.json");
  const runs = files[0]!.results.runs;
  const notTimed = (f: LoadedResults[]) =>
    text(buildReport(f)).split("\n").filter((l) => l.startsWith("Not timed:"));
  // Every exported run timed (the others not exported): no line.
  for (const r of runs) if (r.inference.length === 0) r.onnx = null;
  assertEquals(notTimed(files), []);
  // Two exported runs of best with no inference figures: one line, with the count.
  const exported = runs.filter((r) => r.onnx !== null && r.status === "ok");
  assertEquals(exported.map((r) => r.profile), ["best", "best"]);
  for (const r of exported) r.inference = [];
  assertEquals(notTimed(files), [
    "Not timed: 2 runs of best: exported and checked for parity only (a profile with " +
    "inferSeconds 0 times no inference: the ladder's rungs between named profiles, whose shapes " +
    "the named profiles around them time; of several seeds of one profile and cell, only the " +
    "first is timed, the others' graphs being the same).",
  ]);
});

Deno.test("a provider that was never measured gets one line, not a table row per run", async () => {
  const files = await loadFixtures("fixtures/results/one-machine.json");
  const report = buildReport(files);
  const t = text(report);
  const table = report.blocks.find((b) =>
    b.kind === "table" && b.table.columns.some((c) => c.header === "Sequences/s")
  );
  assert(table !== undefined && table.kind === "table");
  assert(table.table.rows.every((r) => plainText(r[3]!) === "cpu"), "a cuda row in the table");
  assert(!table.table.columns.some((c) => c.header === "Unavailable because"));
  const lines = t.split("\n").filter((l) => l.startsWith("Not measured: cuda"));
  assertEquals(lines, [
    "Not measured: cuda (2 configurations; batch 1000; 1 worker): onnxruntime-node has no " +
    "CUDA provider here",
  ]);
  // Measured in one configuration, unavailable in another: a table row, and one line.
  const mixed = await loadFixtures("fixtures/results/one-machine.json");
  const withCuda = mixed[0]!.results.runs.find((r) =>
    r.inference.some((m) => m.provider === "cuda")
  )!;
  withCuda.inference = withCuda.inference.map((m) =>
    m.provider === "cuda"
      ? { ...m, sequencesPerSecond: 50_000, latencyMs: null, unavailable: null }
      : m
  );
  const m = text(buildReport(mixed));
  assert(/\| cuda \| 1000 \| 1 \| 50000 \|/.test(m), m);
  assert(m.includes("Not measured: cuda (1 configuration; batch 1000; 1 worker)"), m);
});
