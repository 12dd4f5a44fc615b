// Tests of the `fixed` and `best` profiles, the validation split behind their choices, LR
// schedules and the sweep tool's refusal to choose anything on the test split.
import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { parseBenchArgs } from "./cli.ts";
import { type EncodedSplit, loadDataset } from "./data/dataset.ts";
import { VALIDATION_CARVES, validationSplitRows } from "./data/validation.ts";
import type { Engine } from "./engines/engine.ts";
import { forwardingEngine } from "./engines/_testing.ts";
import {
  epochsOf,
  FIXED_SWITCHES,
  learningRateOf,
  type Profile,
  PROFILES,
  rungProfileName,
  scheduledLearningRate,
} from "./profiles.ts";
import { memoryProgress } from "./util/progress.ts";
import {
  InitCache,
  initialParams,
  resolveProfile,
  runBench,
  runSplits,
  VALIDATION_SEED,
} from "./run.ts";
import { initParams, paramLayout } from "../models/classifier.ts";
import { parseSweepArgs, sweepConfigs } from "./tools/sweep.ts";
import { readModelInfo } from "../models/onnx/proto.ts";

const root = new URL("..", import.meta.url).pathname;

const row = (s: EncodedSplit, i: number) => {
  const T = s.ids.length / s.n;
  return s.ids.subarray(i * T, (i + 1) * T).join(",");
};
const rows = (s: EncodedSplit) => Array.from({ length: s.n }, (_, i) => row(s, i));

function fixture() {
  return loadDataset({
    source: "fixture",
    maxLen: PROFILES.smoke.maxLen,
    padding: PROFILES.smoke.padding,
    vocabMaxSize: PROFILES.smoke.vocabMaxSize!,
    cacheDir: `${root}.cache/data`,
  });
}

Deno.test("fixed differs from original only in its named switches", () => {
  const args = parseBenchArgs([]);
  const original = resolveProfile("original", args) as unknown as Record<string, unknown>;
  const fixed = resolveProfile("fixed", args) as unknown as Record<string, unknown>;
  const differing = Object.keys(original).filter((k) =>
    JSON.stringify(original[k]) !== JSON.stringify(fixed[k])
  ).sort();
  assertEquals(differing, [
    "description",
    "epochs",
    "gradClip",
    "init",
    "keepTokens",
    "layers",
    "learningRate",
    "name",
    "padding",
    "seeds", // how many runs, not a switch: see ladder_test
    "wordDropout",
  ]);
  for (const s of FIXED_SWITCHES) assertEquals(fixed[s.field], s.value);
  assertEquals([fixed.layers, fixed.init, fixed.keepTokens, fixed.epochs, fixed.wordDropout], [
    5,
    "remember",
    "last",
    { default: 10 },
    { default: 0.25, rnn: 0 },
  ]);
  // The report's width, data, batch and schedule stay.
  for (const k of ["embedDim", "hiddenSize", "maxLen", "batchSize"]) {
    assertEquals(fixed[k], original[k]);
  }
  assertEquals([fixed.lrSchedule, fixed.vocabMaxSize], ["constant", null]);
});

// `fixed` as documented in bench/notes/profiles.md, field by field: a change to FIXED_SWITCHES
// that changes a number must change it here, and in the notes, on purpose.
Deno.test("fixed resolves to its documented values", () => {
  const { name: _n, description: _d, ...fixed } = resolveProfile("fixed", parseBenchArgs([]));
  assertEquals(fixed, {
    dataSource: "imdb",
    maxLen: 200,
    padding: "start",
    keepTokens: "last",
    vocabMaxSize: null,
    embedDim: 64,
    hiddenSize: 8,
    layers: 5,
    readout: { default: "last" },
    batchSize: 1000,
    epochs: { default: 10 },
    learningRate: { default: 3e-3, lstm: 1e-2 },
    labels: "correct",
    gradClip: 5,
    lrSchedule: "constant",
    init: "remember",
    wordDropout: { default: 0.25, rnn: 0 },
    inferSeconds: 0.5,
    seeds: { default: 1, rnn: 3 },
  });
});

// `best` as documented in bench/notes/profiles.md, field by field (it inherits keeping the
// last tokens and the gated cells' word dropout from `fixed`, gives the RNN word dropout too,
// takes the gated cells' epochs back from 10 to 5 (the RNN keeps 10), max-pools the RNN's and
// the LSTM's top layer, stacks two layers and keeps 5,000 tokens of vocabulary). Since 2026-12-05 its switches take the
// order chosen on validation (sweep CA) and hidden 64 is the last: the rung before `best` is
// the hidden-8 `ladder-18-epochs`; the earlier `best`s (one layer, 20,000 or 10,000 tokens)
// are no rungs.
Deno.test("best resolves to its documented values", () => {
  const { name: _n, description: _d, ...best } = resolveProfile("best", parseBenchArgs([]));
  assertEquals(best, {
    dataSource: "imdb",
    maxLen: 400,
    padding: "start",
    keepTokens: "last",
    vocabMaxSize: 5000,
    embedDim: 64,
    hiddenSize: 64,
    layers: 2,
    readout: { default: "max", gru: "last" },
    batchSize: 100,
    epochs: { default: 5, rnn: 10 },
    learningRate: { default: 1e-2, rnn: 3e-3 },
    labels: "correct",
    gradClip: 5,
    lrSchedule: "cosine",
    init: "remember",
    wordDropout: { default: 0.25 },
    inferSeconds: 0.5,
    seeds: { default: 1 },
  });
});

Deno.test("the default bench runs the ladder up to fixed; the rest of it and best are opt-in", () => {
  assertEquals(parseBenchArgs([]).profiles, [
    "original-labels",
    "original",
    ...FIXED_SWITCHES.slice(0, -1).map((s, i) => rungProfileName(i + 2, s)),
    "fixed",
  ]);
  assertEquals(parseBenchArgs([]).validation, 0);
});

Deno.test('initialParams() sets only the gate biases of the "remember" scheme', () => {
  for (const arch of ["rnn", "gru", "lstm"] as const) {
    const layout = paramLayout({ arch, vocabSize: 10, embedDim: 4, hiddenSize: 3, layers: 2 });
    const a = initialParams(layout, 1, "original"), b = initialParams(layout, 1, "remember");
    assertEquals(a, initParams(layout, 1));
    const changed = layout.tensors.filter((t) =>
      a.subarray(t.offset, t.offset + t.size).some((x, i) => x !== b[t.offset + i])
    );
    const want = {
      rnn: [],
      gru: ["layers.0.b_z", "layers.1.b_z"],
      lstm: ["layers.0.b_f", "layers.1.b_f"],
    };
    assertEquals(changed.map((t) => t.name), want[arch]);
    for (const t of changed) assertEquals(b[t.offset], arch === "gru" ? -1 : 1);
  }
});

Deno.test("initialParams() through an InitCache: the same values, a fresh copy each time, the oldest layout dropped", () => {
  const cache = new InitCache(2);
  const layouts = [2, 3, 4].map((layers) =>
    paramLayout({ arch: "lstm", vocabSize: 10, embedDim: 4, hiddenSize: 3, layers })
  );
  for (const scheme of ["original", "remember"] as const) {
    for (const layout of [...layouts, ...layouts]) {
      for (const seed of [1, 2]) {
        const got = initialParams(layout, seed, scheme, cache);
        assertEquals(got, initialParams(layout, seed, scheme));
        got.fill(7); // the caller's copy: the cache keeps its own
      }
    }
  }
});

Deno.test("scheduledLearningRate() is constant, or a cosine from the base rate to 0", () => {
  assertEquals(scheduledLearningRate("constant", 0.01, 7, 10), 0.01);
  assertEquals(scheduledLearningRate("cosine", 0.01, 0, 10), 0.01);
  assertEquals(Math.abs(scheduledLearningRate("cosine", 0.01, 5, 10) - 0.005) < 1e-15, true);
  assertEquals(scheduledLearningRate("cosine", 0.01, 10, 10) < 1e-15, true);
});

Deno.test("scheduledLearningRate() tail-decay: the base rate, then a line to 0 over the last 20 %", () => {
  const lrs = [0, 1, 7, 8, 9, 10].map((s) => scheduledLearningRate("tail-decay", 0.01, s, 10));
  // steps 0–8 of 10 are before or at the tail's start (8 = 10 − 0.2 · 10); step 9 halfway down
  assertEquals(lrs.slice(0, 4), [0.01, 0.01, 0.01, 0.01]);
  assertEquals(Math.abs(lrs[4]! - 0.005) < 1e-15, true);
  assertEquals(lrs[5], 0);
  for (let s = 1; s < 250; s++) {
    const a = scheduledLearningRate("tail-decay", 3e-3, s - 1, 250);
    const b = scheduledLearningRate("tail-decay", 3e-3, s, 250);
    assertEquals(b <= a && b > 0, true, `step ${s}: ${a} → ${b}`);
  }
});

Deno.test("the validation split is carved from train and disjoint from test (row identity)", async () => {
  const ds = await fixture();
  const { train, evaluated, validationSize } = runSplits(ds, 0.2);
  const { trainRows, validationRows } = validationSplitRows(ds.train, 0.2, VALIDATION_SEED);
  assertEquals(validationSize, validationRows.length);
  assertEquals(validationSize! > 0 && trainRows.length > 0, true);
  // Row i of each part is row trainRows[i] / validationRows[i] of TRAIN: ids and label.
  validationRows.forEach((r, i) => {
    assertEquals(row(evaluated, i), row(ds.train, r));
    assertEquals(evaluated.labels[i], ds.train.labels[r]);
  });
  trainRows.forEach((r, i) => assertEquals(row(train, i), row(ds.train, r)));
  // The two parts partition train's row numbers.
  assertEquals(
    [...trainRows, ...validationRows].sort((a, b) => a - b),
    Array.from({ length: ds.train.n }, (_, i) => i),
  );
  // No validation row is a test row (the fixture has no review in both splits).
  const test = new Set(rows(ds.test));
  assertEquals(rows(evaluated).filter((r) => test.has(r)), []);
  // Without a validation fraction the run trains on all of train and evaluates test.
  const plain = runSplits(ds, 0);
  assertEquals([plain.train === ds.train, plain.evaluated === ds.test], [true, true]);
  assertEquals(plain.validationSize, null);
});

for (const carve of VALIDATION_CARVES) {
  Deno.test(`bench --validation (carve ${carve}) never shows the test split to the engine`, async () => {
    const ds = await fixture();
    const test = new Set(rows(ds.test));
    const carved = runSplits(ds, 0.25, carve);
    const validation = new Set(rows(carved.evaluated)); // a few reviews are in IMDB twice
    const size = carved.validationSize!;
    const seen: string[] = [];
    const T = PROFILES.smoke.maxLen;
    const spy = (e: Engine): Engine =>
      forwardingEngine(e, {
        trainStep: (b) => {
          for (let i = 0; i < b.size; i++) seen.push(b.ids.subarray(i * T, (i + 1) * T).join(","));
          return e.trainStep(b);
        },
        predict: (ids, n) => {
          for (let i = 0; i < n; i++) seen.push(ids.subarray(i * T, (i + 1) * T).join(","));
          return e.predict(ids, n);
        },
      });
    const dir = await Deno.makeTempDir();
    try {
      const r = await runBench(
        parseBenchArgs([
          ...["--profile", "smoke", "--arch", "rnn", "--engine", "native", "--epochs", "1"],
          ...["--onnx", "none", "--validation", "0.25", "--validation-carve", carve, "--out", dir],
        ]),
        memoryProgress(),
        { wrapEngine: spy },
      );
      const run = r.results.runs[0]!;
      assertEquals(run.data.validationSize, size);
      assertEquals(run.data.validationCarve, carve);
      assertEquals(run.data.testSize, size);
      assertEquals(run.data.trainSize, ds.train.n - size);
      assertEquals(seen.length > 0, true);
      assertEquals(seen.filter((s) => test.has(s)), []);
      // Every evaluated row came from the validation split.
      assertEquals(seen.slice(-size).every((s) => validation.has(s)), true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("the sweep tool refuses to run without a validation split", () => {
  for (const v of [[], ["--validation", "0"], ["--validation", "1"], ["--validation", "x"]]) {
    assertThrows(
      () => parseSweepArgs(["--grid", "learningRate=1e-3,1e-2", ...v]),
      /Cannot sweep without a validation split/,
    );
  }
  const s = parseSweepArgs(["--validation", "0.2", "--grid", "learningRate=1e-3,1e-2"]);
  assertEquals([s.bench.validation, s.bench.onnx, s.bench.validationCarve], [
    0.2,
    "none",
    "random",
  ]);
  const chunks = parseSweepArgs(["--validation", "0.2", "--validation-carve", "chunks"]);
  assertEquals(chunks.bench.validationCarve, "chunks");
  assertThrows(
    () => parseSweepArgs(["--validation", "0.2", "--validation-carve", "blocks"]),
    /valid values are random, chunks/,
  );
});

Deno.test("sweepConfigs() spans the grid's cartesian product on top of the base profile", () => {
  const s = parseSweepArgs([
    ...["--base", "fixed", "--validation", "0.2", "--epochs", "2", "--name", "t"],
    ...["--grid", "learningRate=1e-3,1e-2", "--grid", "padding=start,end"],
    ...["--set", "gradClip=null", "--set", "vocabMaxSize=20000"],
  ]);
  const c = sweepConfigs(s);
  assertEquals(c.map((x) => x.label.join(" ")), [
    "learningRate=1e-3 padding=start",
    "learningRate=1e-3 padding=end",
    "learningRate=1e-2 padding=start",
    "learningRate=1e-2 padding=end",
  ]);
  assertEquals(c[3]!.profile.learningRate, { default: 1e-2 });
  assertEquals(c[3]!.profile.padding, "end");
  assertEquals([c[0]!.profile.epochs, c[0]!.profile.vocabMaxSize], [{ default: 2 }, 20000]);
  assertEquals(c[0]!.profile.hiddenSize, PROFILES.fixed.hiddenSize);
  assertEquals(c.map((x) => x.profile.name), ["t-c1", "t-c2", "t-c3", "t-c4"]);
  assertThrows(
    () => parseSweepArgs(["--validation", "0.2", "--grid", "hidden=8"]),
    /key one of/,
  );
  const v = sweepConfigs(parseSweepArgs([
    ...["--base", "best", "--validation", "0.2", "--variant", "learningRate=3e-2 batchSize=50"],
    ...["--variant", "init=remember"],
  ]));
  assertEquals(v.map((x) => x.label.join(" ")), [
    "",
    "learningRate=3e-2 batchSize=50",
    "init=remember",
  ]);
  assertEquals([v[1]!.profile.batchSize, v[2]!.profile.init], [50, "remember"]);
  const per = parseSweepArgs([
    ...["--validation", "0.2", "--set", 'learningRate={"rnn":1e-7,"lstm":1e-10,"gru":1e-9}'],
  ]);
  assertEquals(sweepConfigs(per)[0]!.profile.learningRate, { rnn: 1e-7, lstm: 1e-10, gru: 1e-9 });
  // A per-cell choice: one value for every cell, or JSON; a bad one is named.
  const readout = (v: string) =>
    sweepConfigs(parseSweepArgs(["--validation", "0.2", "--set", `readout=${v}`]))[0]!.profile
      .readout;
  assertEquals(readout("max"), { default: "max" });
  assertEquals(readout('{"default":"max","gru":"last"}'), { default: "max", gru: "last" });
  assertThrows(() => readout("mean"), /must be one of last, max, got "mean"/);
  assertThrows(() => readout('{"default":1}'), /needs text, got 1 for "default"/);
  // Epochs per cell: whole numbers of at least 1.
  const epochs = (v: string) =>
    sweepConfigs(parseSweepArgs(["--validation", "0.2", "--set", `epochs=${v}`]))[0]!.profile
      .epochs;
  assertEquals(epochs("8"), { default: 8 });
  assertEquals(epochs('{"default":5,"lstm":8}'), { default: 5, lstm: 8 });
  assertThrows(() => epochs('{"default":5,"lstm":2.5}'), /needs whole numbers >= 1, got 2.5/);
  assertThrows(() => epochs("0"), /needs whole numbers >= 1, got 0/);
});

/**
 * Runs `profile` for `archs` on the native engine (2 batches an epoch, no ONNX) and returns its
 * results and the learning rates each run's engine was given, one list per run (one engine each).
 */
async function runWithRates(profile: Profile, archs: string) {
  const rates: number[][] = [];
  const spy = (e: Engine): Engine => {
    const lrs: number[] = [];
    rates.push(lrs);
    return forwardingEngine(e, {
      setLearningRate: (lr) => {
        lrs.push(lr);
        e.setLearningRate(lr);
      },
    });
  };
  const dir = await Deno.makeTempDir();
  try {
    const r = await runBench(
      parseBenchArgs([
        ...["--arch", archs, "--engine", "native", "--limit-batches", "2", "--onnx", "none"],
        ...["--out", dir],
      ]),
      memoryProgress(),
      { wrapEngine: spy, profiles: [profile] },
    );
    return { runs: r.results.runs, rates };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a cosine profile sets the scheduled rate before every training step", async () => {
  const profile: Profile = {
    ...PROFILES.smoke,
    name: "cosine",
    epochs: { default: 2 },
    lrSchedule: "cosine",
  };
  const { runs, rates } = await runWithRates(profile, "gru");
  const base = learningRateOf(PROFILES.smoke, "gru");
  assertEquals(rates, [[0, 1, 2, 3].map((s) => scheduledLearningRate("cosine", base, s, 4))]);
  assertEquals(runs[0]!.config.lrSchedule, "cosine");
});

Deno.test("per-cell epochs: each cell trains its own count, its cosine spans its own run, and it is recorded", async () => {
  const profile: Profile = {
    ...PROFILES.smoke,
    name: "per-cell-epochs",
    epochs: { default: 1, gru: 3 },
    lrSchedule: "cosine",
  };
  const { runs, rates } = await runWithRates(profile, "rnn,gru");
  assertEquals(runs.map((x) => [x.arch, x.config.epochs, x.epochs.length]), [
    ["rnn", 1, 2],
    ["gru", 3, 4],
  ]);
  assertEquals(rates.length, runs.length);
  runs.forEach((run, i) => {
    const steps = 2 * epochsOf(profile, run.arch);
    const base = learningRateOf(PROFILES.smoke, run.arch);
    assertEquals(
      rates[i],
      Array.from({ length: steps }, (_, s) => scheduledLearningRate("cosine", base, s, steps)),
      run.arch,
    );
  });
  // --epochs gives every cell the same count.
  assertEquals(resolveProfile("best", parseBenchArgs(["--epochs", "2"])).epochs, { default: 2 });
});

Deno.test("a per-cell readout reaches each architecture's model, its ONNX file and its record", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const profile = {
      ...PROFILES.smoke,
      name: "pooled",
      epochs: { default: 1 },
      readout: { default: "max", gru: "last" } as const,
    };
    const r = await runBench(
      parseBenchArgs([
        ...["--arch", "rnn,gru", "--engine", "native", "--limit-batches", "2"],
        ...["--out", dir],
      ]),
      memoryProgress(),
      { profiles: [profile] },
    );
    const runs = r.results.runs;
    assertEquals(runs.map((x) => [x.arch, x.config.readout]), [["rnn", "max"], ["gru", undefined]]);
    // The ONNX export computes the engine's model: its parity check against the engine passed.
    for (const run of runs) {
      if (run.onnx === null || !(run.onnx.maxAbsDiff < 1e-4)) {
        throw new Error(`${run.arch}: ONNX parity ${JSON.stringify(run.onnx)}`);
      }
      // The exporter writes the readout of the model the engine trained.
      const meta = readModelInfo(await Deno.readFile(run.onnx.path)).metadata;
      assertEquals(meta["readout"], run.arch === "rnn" ? "max" : undefined);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("word dropout changes training batches only, never evaluation, and is recorded", async () => {
  const train: { kept: number; source: boolean }[] = [];
  const evalIds: Int32Array[] = [];
  const count = (ids: Int32Array) => ids.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);
  const spy = (e: Engine): Engine =>
    forwardingEngine(e, {
      trainStep: (b) => {
        train.push({ kept: count(b.ids), source: b.source !== undefined });
        return e.trainStep(b);
      },
      predict: (ids, n, source) => {
        evalIds.push(ids.slice());
        return e.predict(ids, n, source);
      },
    });
  const dir = await Deno.makeTempDir();
  try {
    const run = async (wordDropout: number) => {
      train.length = 0;
      evalIds.length = 0;
      const profile = {
        ...PROFILES.smoke,
        name: `wd${wordDropout}`,
        epochs: { default: 1 },
        wordDropout: { default: wordDropout },
      };
      const r = await runBench(
        parseBenchArgs([
          ...["--arch", "rnn", "--engine", "native", "--limit-batches", "3", "--onnx", "none"],
          ...["--out", dir],
        ]),
        memoryProgress(),
        { wrapEngine: spy, profiles: [profile] },
      );
      return { run: r.results.runs[0]!, train: [...train], evalIds: [...evalIds] };
    };
    const off = await run(0), on = await run(0.5);
    assertEquals(on.run.config.wordDropout, 0.5);
    assertEquals(off.run.config.wordDropout, 0);
    // Same batches in the same order: half of the words are gone with dropout 0.5.
    const keptOff = off.train.reduce((s, b) => s + b.kept, 0);
    const keptOn = on.train.reduce((s, b) => s + b.kept, 0);
    const ratio = keptOn / keptOff;
    if (!(ratio > 0.45 && ratio < 0.55)) throw new Error(`kept ${ratio} of the words, want ≈ 0.5`);
    // The engine gets only the changed ids, no source rows it could re-read instead.
    assertEquals(on.train.every((b) => !b.source), true);
    // Evaluation saw exactly the same ids with and without dropout.
    assertEquals(on.evalIds.length, off.evalIds.length);
    on.evalIds.forEach((ids, i) => assertEquals([...ids], [...off.evalIds[i]!]));
    assertEquals(on.evalIds.length > 0, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sweep --help prints the usage, every sweepable key included, and exits 0", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./tools/sweep.ts", import.meta.url).pathname, "--help"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0);
  assertEquals(text.includes("--validation F"), true);
  assertEquals(text.includes("wordDropout"), true);
});

Deno.test("sweep takes a per-architecture word dropout, as it takes learning rates", () => {
  const s = parseSweepArgs([
    "--validation",
    "0.2",
    "--set",
    'wordDropout={"default":0.25,"rnn":0}',
  ]);
  assertEquals(s.set[0]!.value, { default: 0.25, rnn: 0 });
  assertEquals(parseSweepArgs(["--validation", "0.2", "--set", "wordDropout=0.1"]).set[0]!.value, {
    default: 0.1,
  });
  assertThrows(
    () => parseSweepArgs(["--validation", "0.2", "--set", 'wordDropout={"rnn":1}']),
    /probability in \[0, 1\)/,
  );
  assertThrows(
    () => parseSweepArgs(["--validation", "0.2", "--set", 'wordDropout={"rnn":0.1}']),
    /needs a "default" or a value for every architecture/,
  );
});

Deno.test("sweep refuses a word-dropout value outside [0, 1), naming the flag", () => {
  for (
    const [v, why] of [["1", /probability in \[0, 1\)/], ["-0.1", /≥ 0/], ["x", /≥ 0/]] as const
  ) {
    assertThrows(
      () => parseSweepArgs(["--validation", "0.2", "--set", `wordDropout=${v}`]),
      new RegExp(`Cannot parse --set "wordDropout=${v.replace(".", "\\.")}": .*${why.source}`),
    );
  }
});
