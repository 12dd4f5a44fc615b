import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ResultsFileSchema, SCHEMA_VERSION } from "./schema.ts";

const FIXTURE = new URL("../../fixtures/results/one-machine.json", import.meta.url);

/** Parsed JSON that the tests break in arbitrary ways, so deliberately untyped. */
// deno-lint-ignore no-explicit-any
type Untyped = any;

/** A fresh, valid results file (parsed JSON) to break in one place. */
async function valid(): Promise<Untyped> {
  return JSON.parse(await Deno.readTextFile(FIXTURE));
}

/** Asserts that `mutate` makes the file invalid with an issue at `path`. */
async function rejects(mutate: (f: Untyped) => void, path: string, message?: RegExp) {
  const file = await valid();
  mutate(file);
  const result = ResultsFileSchema.safeParse(file);
  assert(!result.success, `expected a validation error at ${path}`);
  const paths = result.error.issues.map((i) => i.path.map(String).join("."));
  assert(paths.includes(path), `expected an issue at ${path}, got ${JSON.stringify(paths)}`);
  if (message) {
    assert(
      result.error.issues.some((i) => message.test(i.message)),
      `no issue message matches ${message}: ${result.error.issues.map((i) => i.message)}`,
    );
  }
}

Deno.test("the one-machine fixture is a valid results file of the current version", async () => {
  const parsed = ResultsFileSchema.parse(await valid());
  assertEquals(parsed.schemaVersion, SCHEMA_VERSION);
  assertEquals(parsed.runs.length, 12);
});

Deno.test("objects are strict: an unknown key is rejected", async () => {
  await rejects((f) => (f.runs[0].config.learning_rate = 1), "runs.0.config");
  await rejects((f) => (f.extra = true), "");
});

Deno.test("accuracies and fractions must lie in [0, 1]", async () => {
  await rejects((f) => (f.runs[0].epochs[1].testAccuracy = 1.2), "runs.0.epochs.1.testAccuracy");
  await rejects(
    (f) => (f.runs[0].epochs[0].testPredictedNegativeFraction = -0.1),
    "runs.0.epochs.0.testPredictedNegativeFraction",
  );
  await rejects(
    (f) => (f.runs[0].data.testPositiveFraction = 2),
    "runs.0.data.testPositiveFraction",
  );
});

Deno.test("seconds must be finite and non-negative", async () => {
  await rejects((f) => (f.runs[0].epochs[1].trainSeconds = -1), "runs.0.epochs.1.trainSeconds");
  await rejects((f) => (f.runs[0].epochs[1].evalSeconds = "fast"), "runs.0.epochs.1.evalSeconds");
  // JSON cannot carry Infinity, but objects built in code can.
  await rejects((f) => (f.runs[0].epochs[1].evalSeconds = Infinity), "runs.0.epochs.1.evalSeconds");
});

Deno.test("counts must be integers", async () => {
  await rejects((f) => (f.machine.cores = 2.5), "machine.cores");
  await rejects((f) => (f.runs[0].config.batchSize = 0), "runs.0.config.batchSize");
});

Deno.test("epochs must be consecutive from 0", async () => {
  await rejects((f) => f.runs[0].epochs.splice(2, 1), "runs.0.epochs.2.epoch", /consecutive/);
  await rejects((f) => f.runs[0].epochs.shift(), "runs.0.epochs.0.epoch", /consecutive/);
});

Deno.test("epoch 0 has null train fields; later epochs have them", async () => {
  await rejects((f) => (f.runs[0].epochs[0].trainLoss = 0.5), "runs.0.epochs.0", /Epoch 0/);
  await rejects((f) => (f.runs[0].epochs[2].trainSeconds = null), "runs.0.epochs.2", /Epoch 2/);
});

Deno.test("a run records no more epochs than configured", async () => {
  await rejects((f) => (f.runs[0].config.epochs = 2), "runs.0.epochs", /configured/);
});

Deno.test("status and failure agree", async () => {
  await rejects((f) => (f.runs[0].status = "failed"), "runs.0.failure");
  await rejects(
    (f) => (f.runs[0].failure = { epoch: 1, batch: null, message: "x" }),
    "runs.0.failure",
  );
});

Deno.test("run ids are unique within a file", async () => {
  await rejects((f) => (f.runs[1].runId = f.runs[0].runId), "runs.1.runId", /Duplicate/);
});

/** Index of run `lstm-best-native-s1`: it has ONNX, inference and a time to accuracy. */
const LSTM_BEST = 10;

Deno.test("the fixture's run 10 is the LSTM best run the tests below break", async () => {
  assertEquals((await valid()).runs[LSTM_BEST].runId, "lstm-best-native-s1");
});

Deno.test("an unavailable inference measurement carries no numbers, an available one does", async () => {
  await rejects(
    (f) => (f.runs[LSTM_BEST].inference[0].unavailable = "no provider"),
    `runs.${LSTM_BEST}.inference.0.unavailable`,
  );
  await rejects(
    (f) => (f.runs[LSTM_BEST].inference[0].sequencesPerSecond = null),
    `runs.${LSTM_BEST}.inference.0.sequencesPerSecond`,
  );
  await rejects(
    (f) => (f.runs[LSTM_BEST].inference[0].latencyMs.p50 = 99),
    `runs.${LSTM_BEST}.inference.0.latencyMs`,
    /p50/,
  );
});

Deno.test("schemaVersion, createdAt and enums are checked", async () => {
  await rejects((f) => (f.schemaVersion = 2), "schemaVersion");
  await rejects((f) => (f.createdAt = "yesterday"), "createdAt");
  // Any identifier is an architecture (a results file is read without the cells' definitions).
  await rejects((f) => (f.runs[0].arch = "not a name"), "runs.0.arch");
  await rejects((f) => (f.runs[0].arch = "9lives"), "runs.0.arch");
  await rejects((f) => (f.runs[0].config.padding = "middle"), "runs.0.config.padding");
  await rejects((f) => (f.runs[LSTM_BEST].onnx.style = "loop"), `runs.${LSTM_BEST}.onnx.style`);
});

Deno.test("time to accuracy cannot point past the last recorded epoch", async () => {
  await rejects(
    (f) => (f.runs[LSTM_BEST].timeToAccuracy = { target: 0.8, seconds: 1, epoch: 9 }),
    `runs.${LSTM_BEST}.timeToAccuracy.epoch`,
  );
});

Deno.test("createdAt accepts a UTC offset", async () => {
  const file = await valid();
  file.createdAt = "2025-01-16T08:30:00+03:00";
  assert(ResultsFileSchema.safeParse(file).success);
});

Deno.test("a run may record its cell's source file and SHA-256; runs without one stay valid", async () => {
  const file = await valid();
  file.runs[0].arch = "mgu";
  file.runs[0].cell = { source: "/home/me/mgu.ts", sha256: "0123456789abcdef".repeat(4) };
  assert(ResultsFileSchema.safeParse(file).success);
  assert(file.runs.slice(1).every((r: Untyped) => !("cell" in r))); // as older files are
  await rejects((f) => (f.runs[0].cell = { source: "a.ts", sha256: "ABC" }), "runs.0.cell.sha256");
  await rejects(
    (f) => (f.runs[0].cell = { source: "", sha256: "0".repeat(64) }),
    "runs.0.cell.source",
  );
  await rejects(
    (f) => (f.runs[0].cell = { source: "a.ts", sha256: "0".repeat(64), name: "mgu" }),
    "runs.0.cell",
  );
});

Deno.test("the reference line is optional, nullable, and checked when present", async () => {
  const file = await valid();
  assert(file.reference !== undefined, "the one-machine fixture records a reference line");
  delete file.reference;
  assert(ResultsFileSchema.safeParse(file).success, "a file from before the field reads");
  file.reference = null;
  assert(ResultsFileSchema.safeParse(file).success, "null: not trained");
  await rejects((f) => (f.reference.testAccuracy = 1.2), "reference.testAccuracy");
  await rejects((f) => (f.reference.trainSeconds = -1), "reference.trainSeconds");
  await rejects((f) => (f.reference.hashBuckets = 4), "reference");
});
