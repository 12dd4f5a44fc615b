// Tests of the ladder of causes: one switch per rung, the named profiles at their rungs, the
// rungs as real profiles (getProfile, --profile, sweep --base), `--profile ladder` and the
// default profiles, and a `--help` that summarises the rungs.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { benchCommand, DEFAULT_PROFILES, parseBenchArgs } from "./cli.ts";
import {
  expandLadder,
  LADDER,
  LADDER_PROFILE,
  profileChoicesText,
  rungsThrough,
} from "./ladder.ts";
import {
  BEST_SWITCHES,
  epochsOf,
  FIXED_SWITCHES,
  getProfile,
  NAMED_PROFILES,
  type Profile,
  PROFILE_NAMES,
  PROFILES,
} from "./profiles.ts";
import { stableInvocationId } from "./invocation_id.ts";
import { type Arch, ARCHS } from "../models/cells.ts";
import { parseSweepArgs, sweepConfigs } from "./tools/sweep.ts";

// The fields that say what a rung trains and evaluates: not its name and description, how
// long its ONNX inference is timed, nor how many seeds it runs (see the tests of inferSeconds
// and seeds below).
const NOT_TRAINING = ["name", "description", "inferSeconds", "seeds"];
const fieldsOf = (p: object) => Object.entries(p).filter(([k]) => !NOT_TRAINING.includes(k));

Deno.test("consecutive rungs differ in exactly one field: the rung's switch", () => {
  for (const rung of LADDER.slice(1)) {
    const before = Object.fromEntries(fieldsOf(LADDER[rung.index - 1]!.profile));
    const after = Object.fromEntries(fieldsOf(rung.profile));
    const differing = Object.keys(after).filter((k) =>
      JSON.stringify(before[k]) !== JSON.stringify(after[k])
    );
    assertEquals(differing, [rung.switch!.field], `rung ${rung.index} (${rung.profile.name})`);
    assertEquals(after[rung.switch!.field], rung.switch!.value);
    // No field is added or lost on the way.
    assertEquals(Object.keys(after).sort(), Object.keys(before).sort());
  }
});

Deno.test("the named rungs time their ONNX inference; the rungs between them, and original-labels (original's shapes), only export and check it", () => {
  const named: readonly string[] = NAMED_PROFILES;
  for (const rung of LADDER) {
    const timed = named.includes(rung.profile.name) && rung.profile.name !== "original-labels";
    assertEquals(rung.profile.inferSeconds > 0, timed, rung.profile.name);
  }
  assertEquals(PROFILES.fixed.inferSeconds, PROFILES.original.inferSeconds);
  assertEquals(PROFILES.best.inferSeconds, PROFILES.original.inferSeconds);
});

Deno.test("every rung runs one seed of every cell by default, but fixed three of the RNN", () => {
  for (const rung of LADDER) {
    const want = rung.profile.name === "fixed" ? { default: 1, rnn: 3 } : { default: 1 };
    assertEquals(rung.profile.seeds, want, rung.profile.name);
  }
  assertEquals(PROFILES.smoke.seeds, { default: 1 });
});

Deno.test("the ladder runs original-labels, original, the fixed switches to fixed, the best switches to best", () => {
  assertEquals(LADDER.map((r) => r.index), LADDER.map((_, i) => i));
  assertEquals(LADDER[0]!.switch, null);
  assertEquals(LADDER[0]!.profile, PROFILES["original-labels"]);
  assertEquals(LADDER[1]!.profile, PROFILES.original);
  assertEquals(LADDER[1]!.switch?.field, "labels");
  const fixedAt = 1 + FIXED_SWITCHES.length;
  assertEquals(LADDER[fixedAt]!.profile, PROFILES.fixed);
  assertEquals(LADDER.at(-1)!.profile, PROFILES.best);
  assertEquals(LADDER.length, 2 + FIXED_SWITCHES.length + BEST_SWITCHES.length);
  assertEquals(LADDER.slice(2, fixedAt + 1).map((r) => r.switch), [...FIXED_SWITCHES]);
  assertEquals(LADDER.slice(fixedAt + 1).map((r) => r.switch), [...BEST_SWITCHES]);
  // The fixed switches in the order the ladder takes them; the labels switch is rung 1 only.
  assertEquals(FIXED_SWITCHES.slice(0, 4).map((s) => s.field), [
    "learningRate",
    "padding",
    "layers",
    "init",
  ]);
  // best changes what fixed has in these fields, and nothing else (order aside).
  const differing = fieldsOf(PROFILES.best).filter(([k, v]) =>
    JSON.stringify(v) !== JSON.stringify((PROFILES.fixed as unknown as Record<string, unknown>)[k])
  ).map(([k]) => k).sort();
  assertEquals([...new Set(BEST_SWITCHES.map((s) => s.field))].sort(), differing);
});

// Sweep CA (bench/notes/profiles.md): `fixed` with each of best's switches alone, validation
// (chunks carve), last-epoch medians of seeds 1–3 (hidden: seed 1) minus `fixed`'s (RNN 0.7750,
// LSTM 0.8190, GRU 0.8242). A switch that leaves a cell's computation as it is gains 0 there.
const GAIN_ALONE: Record<string, readonly [rnn: number, lstm: number, gru: number]> = {
  "vocab": [0.0118, 0.0194, 0.0142],
  "hidden": [-0.0108, 0.0002, 0.0292],
  "batch": [0.0122, 0.0002, 0.0032],
  "maxlen": [0.0084, -0.0004, 0.0036],
  "rnn-dropout": [0.0046, 0, 0],
  "lr": [0, 0, -0.0022],
  "cosine": [0.0056, 0.0014, -0.0226],
  "two-layers": [-0.0450, 0.0086, 0.0050],
  "max-pool": [-0.0406, -0.0188, 0],
  "epochs": [0, -0.0308, -0.0296], // the RNN keeps 10: its run is fixed's own
};

// Training work per review of one cell, up to a constant: epochs × steps × Σ over layers of
// H × (input + H).
const work = (p: Profile, arch: Arch) =>
  epochsOf(p, arch) * p.maxLen * p.hiddenSize *
  ((p.embedDim + p.hiddenSize) + (p.layers - 1) * 2 * p.hiddenSize);
// A rung is affordable when no cell trains longer on it than on best.
const affordable = (p: Profile) => ARCHS.every((a) => work(p, a) <= work(PROFILES.best, a));

Deno.test("best's switches come in the order validation chose: by gain alone, no rung costlier than best", () => {
  const mean = (k: string) => GAIN_ALONE[k]!.reduce((a, b) => a + b) / 3;
  assertEquals(Object.keys(GAIN_ALONE).sort(), BEST_SWITCHES.map((s) => s.key).sort());
  // Each field once: any order of them ends at best.
  assertEquals(new Set(BEST_SWITCHES.map((s) => s.field)).size, BEST_SWITCHES.length);
  let remaining = [...BEST_SWITCHES].sort((a, b) => mean(b.key) - mean(a.key));
  let at: Profile = PROFILES.fixed;
  const order: string[] = [];
  while (remaining.length > 0) {
    const next = remaining.find((s) => affordable({ ...at, [s.field]: s.value }));
    assert(next !== undefined, `no affordable switch after ${order.join(", ")}`);
    order.push(next.key);
    at = { ...at, [next.field]: next.value };
    remaining = remaining.filter((s) => s !== next);
  }
  assertEquals(BEST_SWITCHES.map((s) => s.key), order);
  // The rule at work: hidden 64 ranks second but trains 2.5 × best's work at fixed's 5 layers
  // and 10 epochs (and 5 × with 400 steps), so it waits for two layers and 5 epochs.
  assertEquals(mean("hidden") > mean("batch"), true);
  assertEquals(
    work({ ...PROFILES.fixed, hiddenSize: 64 }, "gru") / work(PROFILES.best, "gru"),
    2.5,
  );
  assertEquals(order.at(-1), "hidden");
});

Deno.test("rungs between named profiles are profiles named ladder-NN-<key>, described from the rung below", () => {
  const named = new Set(["original-labels", "original", "fixed", "best"]);
  const between = LADDER.filter((r) => !named.has(r.profile.name));
  assertEquals(between.length, LADDER.length - 4);
  for (const r of between) {
    const nn = String(r.index).padStart(2, "0");
    assertEquals(r.profile.name, `ladder-${nn}-${r.switch!.key}`);
    assertEquals(
      r.profile.description,
      `${LADDER[r.index - 1]!.profile.name} with ${r.switch!.why}`,
    );
    assert(/^[a-z][a-z0-9-]*$/.test(r.switch!.key), r.switch!.key);
    assertEquals(getProfile(r.profile.name), r.profile);
    assert(PROFILE_NAMES.includes(r.profile.name));
  }
  assertEquals(new Set(LADDER.map((r) => r.profile.name)).size, LADDER.length);
  assertEquals(PROFILE_NAMES, ["smoke", ...LADDER.map((r) => r.profile.name)]);
});

Deno.test("--profile ladder runs every rung in order, and a name given twice runs once", () => {
  const names = LADDER.map((r) => r.profile.name);
  assertEquals(parseBenchArgs(["--profile", LADDER_PROFILE]).profiles, names);
  assertEquals(parseBenchArgs(["--profile", "original,ladder,smoke,fixed"]).profiles, [
    "original",
    ...names.filter((n) => n !== "original"),
    "smoke",
  ]);
  assertEquals(parseBenchArgs(["--profile", "ladder-03-padding,best"]).profiles, [
    LADDER[3]!.profile.name,
    "best",
  ]);
  assertEquals(expandLadder(["smoke", "smoke"]), ["smoke"]);
});

Deno.test("the default profiles are the rungs up to and including fixed", () => {
  const upToFixed = LADDER.slice(0, LADDER.findIndex((r) => r.profile.name === "fixed") + 1);
  assertEquals(DEFAULT_PROFILES, upToFixed.map((r) => r.profile.name));
  assertEquals(rungsThrough("fixed"), upToFixed);
  assertEquals(parseBenchArgs([]).profiles, [...DEFAULT_PROFILES]);
});

Deno.test("--help names the named profiles and summarises the rungs instead of listing them", () => {
  const help = benchCommand().helpInformation().replace(/\s+/g, " ");
  for (const n of ["smoke", "original-labels", "original", "fixed", "best", LADDER_PROFILE]) {
    assert(help.includes(n), n);
  }
  const rungs = LADDER.filter((r) => r.profile.name.startsWith("ladder-"));
  assert(help.includes(`${rungs[0]!.profile.name} … ${rungs.at(-1)!.profile.name}`), help);
  assertEquals(rungs.slice(1, -1).filter((r) => help.includes(r.profile.name)), []);
  assert(!profileChoicesText().includes(LADDER_PROFILE + ":"));
});

Deno.test("sweep --base takes a rung of the ladder", () => {
  const rung = LADDER[4]!.profile;
  const c = sweepConfigs(parseSweepArgs(["--base", rung.name, "--validation", "0.2"]));
  assertEquals(c[0]!.profile.layers, rung.layers);
  assertEquals(c[0]!.profile.padding, rung.padding);
});

Deno.test("--id auto over the whole ladder gives a short id", async () => {
  const { id } = await stableInvocationId(parseBenchArgs(["--profile", "ladder", "--id", "auto"]));
  assert(/^ladder-[0-9a-f]{12}$/.test(id), id);
  const { id: defaults } = await stableInvocationId(parseBenchArgs(["--id", "auto"]));
  // The default rungs' names joined run past the label's limit, so they are shortened too.
  const joined = DEFAULT_PROFILES.join("+");
  const expected = joined.length <= 100
    ? `${joined}-`
    : `${DEFAULT_PROFILES[0]}+${DEFAULT_PROFILES.length - 1}-more-`;
  assert(defaults.startsWith(expected), defaults);
});
