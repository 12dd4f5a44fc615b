// Tests of the ladder section and of the artefact explanation's rung citations, on synthetic
// results: runs of chosen rungs, recorded with the configs `bench` writes for the rung's
// profile, and last-epoch accuracies chosen here.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LADDER, type Rung, rungOf, rungSwitching } from "../bench/ladder.ts";
import { cellReadoutOf, epochsOf, learningRateOf, wordDropoutOf } from "../bench/profiles.ts";
import type { Arch, Run, RunConfig } from "../bench/results/types.ts";
import { type Block, chartsOf, plainText, type Report, type Table } from "./model.ts";
import { buildReport, type LoadedResults } from "./build_report.ts";
import { loadFixtures } from "./_test_util.ts";

/** What `bench` records for a run of `arch` under rung `r`'s profile (bench/run.ts). */
function configOf(template: RunConfig, r: Rung, arch: Arch): RunConfig {
  const p = r.profile;
  return {
    ...template,
    learningRate: learningRateOf(p, arch),
    epochs: epochsOf(p, arch),
    batchSize: p.batchSize,
    hiddenSize: p.hiddenSize,
    layers: p.layers,
    embedDim: p.embedDim,
    maxLen: p.maxLen,
    padding: p.padding,
    keepTokens: p.keepTokens,
    labels: p.labels,
    vocabMaxSize: p.vocabMaxSize,
    limitBatches: null,
    gradClip: p.gradClip,
    lrSchedule: p.lrSchedule === "constant" ? null : p.lrSchedule,
    init: p.init,
    wordDropout: wordDropoutOf(p, arch),
    ...(cellReadoutOf(p, arch) === "last" ? {} : { readout: cellReadoutOf(p, arch) }),
  };
}

/** One synthetic run: the template's epochs, the last one with `accuracy`. */
interface Spec {
  rung: number;
  arch: Arch;
  seed: number;
  accuracy: number;
}

async function results(specs: readonly Spec[]): Promise<LoadedResults[]> {
  const [file] = await loadFixtures("fixtures/results/one-machine.json");
  const template = file!.results.runs.find((r) => r.status === "ok" && r.epochs.length > 1)!;
  file!.results.runs = specs.map((s): Run => {
    const rung = LADDER[s.rung]!;
    const epochs = structuredClone(template.epochs);
    epochs[epochs.length - 1]!.testAccuracy = s.accuracy;
    return {
      ...structuredClone(template),
      runId: `t-${rung.profile.name}-${s.arch}-s${s.seed}`,
      arch: s.arch,
      profile: rung.profile.name,
      seed: s.seed,
      config: configOf(template.config, rung, s.arch),
      epochs,
      status: "ok",
      failure: null,
      timeToAccuracy: null,
    };
  });
  return [file!];
}

/** A made-up accuracy per rung, architecture and seed, distinct enough to tell apart. */
const acc = (rung: number, arch: Arch, seed: number) =>
  Number((0.5 + 0.02 * rung + 0.001 * arch.length + 0.003 * seed).toFixed(4));

/** The rung numbers of the named profiles `fixed` and `best` (they move as switches are added). */
const FIXED = rungOf("fixed")!.index;
const BEST = LADDER.length - 1;

const everyRung = (arches: readonly Arch[], seeds: readonly number[]) =>
  LADDER.flatMap((r) =>
    arches.flatMap((arch) =>
      seeds.map((seed) => ({ rung: r.index, arch, seed, accuracy: acc(r.index, arch, seed) }))
    )
  );

/** The blocks of the ladder section, from its heading to the next level-2 heading. */
function section(report: Report): Block[] {
  const at = report.blocks.findIndex((b) =>
    b.kind === "heading" && plainText(b.text) === "The ladder of causes"
  );
  assert(at >= 0, "no ladder section");
  const end = report.blocks.findIndex((b, i) => i > at && b.kind === "heading" && b.level <= 2);
  return report.blocks.slice(at, end < 0 ? undefined : end);
}

const textOf = (blocks: readonly Block[]) =>
  blocks.map((b) =>
    b.kind === "paragraph" || b.kind === "heading"
      ? plainText(b.text)
      : b.kind === "list"
      ? b.items.map(plainText).join("\n")
      : ""
  ).join("\n");

function tableOf(blocks: readonly Block[]): Table {
  const t = blocks.find((b) => b.kind === "table");
  assert(t?.kind === "table", "no table");
  return t.table;
}

const medianOf = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

Deno.test("the ladder table has a row per rung in order, medians of the runs, and the recorded switch", async () => {
  const arches = ["rnn", "lstm", "gru"];
  const specs = everyRung(arches, [1, 2, 3]);
  const report = buildReport(await results(specs));
  const blocks = section(report);
  const table = tableOf(blocks);
  assertEquals(table.rows.map((r) => plainText(r[1]!)), LADDER.map((r) => r.profile.name));
  assertEquals(table.rows.map((r) => plainText(r[0]!)), LADDER.map((r) => String(r.index)));
  const header = table.columns.map((c) => c.header);
  for (const [i, rung] of LADDER.entries()) {
    const row = table.rows[i]!.map(plainText);
    for (const arch of arches) {
      const values = specs.filter((s) => s.rung === rung.index && s.arch === arch)
        .map((s) => s.accuracy);
      const cell = row[header.indexOf(`${arch.toUpperCase()} accuracy`)]!;
      const [shown, low, high] = cell.match(/^(\d\.\d{4}) \((\d\.\d{4})–(\d\.\d{4})\), 3 seeds$/)!
        .slice(1).map(Number);
      assertEquals(shown, Number(medianOf(values).toFixed(4)), `${rung.profile.name} ${arch}`);
      assertEquals([low, high], [Math.min(...values), Math.max(...values)]);
    }
    // The change column names the rung's switch, read from the recorded configs.
    const change = row[2]!;
    if (rung.index === 0) assertEquals(change, "—");
    else assert(change.startsWith(`${rung.switch!.field}: `), `${rung.profile.name}: ${change}`);
  }
  // Every rung present and each a single switch: nothing to flag, nothing missing.
  const text = textOf(blocks);
  assert(!text.includes("do not step one switch"), text);
  assert(!text.includes("Not in these results"), text);
  // A per-cell switch that leaves some architectures' value as it was says which.
  const lr2 = table.rows[rungSwitching("learningRate")!.index]!.map(plainText)[2]!;
  assert(/^learningRate: RNN .* → .*, LSTM .* → .*, GRU .* → /.test(lr2), lr2);
  for (const r of LADDER.filter((r) => r.switch?.field === "learningRate")) {
    const change = table.rows[r.index]!.map(plainText)[2]!;
    const moved = arches.filter((a) =>
      learningRateOf(LADDER[r.index - 1]!.profile, a) !== learningRateOf(r.profile, a)
    );
    // Each architecture whose rate moves is named with it; the others are said unchanged.
    for (const a of moved) assert(change.includes(`${a.toUpperCase()} `), change);
    if (moved.length < arches.length) assert(change.endsWith(" unchanged)"), change);
  }
});

Deno.test("a rung that ran other seeds than the rung before it changes by the seeds both ran, and says so", async () => {
  // As the default run: seed 1 everywhere, and seeds 1–3 of fixed's RNN.
  const specs = everyRung(["rnn", "lstm"], [1]).filter((s) => s.rung <= FIXED);
  const extra = [2, 3].map((seed) => ({
    rung: FIXED,
    arch: "rnn",
    seed,
    accuracy: 0.9 + seed / 100,
  }));
  const blocks = section(buildReport(await results([...specs, ...extra])));
  const table = tableOf(blocks);
  const header = table.columns.map((c) => c.header);
  const row = table.rows[FIXED]!.map(plainText);
  const cell = (name: string) => row[header.indexOf(name)]!;
  // Seed 1 against seed 1, not the median of three against seed 1.
  const seed1 = (rung: number) => acc(rung, "rnn", 1);
  const want = seed1(FIXED) - seed1(FIXED - 1);
  assertEquals(cell("RNN change"), `${want >= 0 ? "+" : "−"}${Math.abs(want).toFixed(4)} (seed 1)`);
  assert(/^\d\.\d{4} \(.*\), 3 seeds$/.test(cell("RNN accuracy")), cell("RNN accuracy"));
  // The LSTM ran the same seed on both rungs: a plain change.
  assert(/^[+−]\d\.\d{4}$/.test(cell("LSTM change")), cell("LSTM change"));
  const text = textOf(blocks);
  assert(
    text.includes(
      "Where a rung ran other seeds than the rung before it, its change compares " +
        `only the runs both have (RNN at rung ${FIXED} (fixed): seed 1)`,
    ),
    text,
  );
  // Without the extra seeds, no such paragraph.
  assert(!textOf(section(buildReport(await results(specs)))).includes("ran other seeds"));
});

Deno.test("the ladder figure draws one series per architecture: the median per rung present", async () => {
  const arches = ["rnn", "lstm", "gru", "mycell"];
  const rungs = [0, 1, 2, FIXED, BEST];
  const specs = everyRung(arches, [1, 2]).filter((s) => rungs.includes(s.rung));
  const chart = chartsOf(buildReport(await results(specs))).find((c) => c.id === "ladder");
  assert(chart, "no ladder chart");
  assertEquals(chart.type, "line");
  assertEquals(chart.labels, [
    "0 original-labels",
    "1 original",
    "2 lr",
    `${FIXED} fixed`,
    `${BEST} best`,
  ]);
  assertEquals(chart.series.map((s) => s.name), ["RNN", "LSTM", "GRU", "MYCELL"]);
  // Built-ins keep their colours; the cell from a file takes the next one.
  assertEquals(chart.series.map((s) => s.style), [0, 1, 2, 3]);
  for (const s of chart.series) {
    const arch = s.name.toLowerCase();
    assertEquals(
      s.values,
      rungs.map((r) =>
        medianOf(specs.filter((x) => x.rung === r && x.arch === arch).map((x) => x.accuracy))
      ),
    );
  }
  const ru = chartsOf(buildReport(await results(specs), { lang: "ru" }))
    .find((c) => c.id === "ladder")!;
  assertEquals(ru.title, "Точность модели на каждой ступени лестницы причин");
});

Deno.test("missing rungs are named with the command that runs them; a gap is said plainly", async () => {
  const specs = everyRung(["gru"], [1]).filter((s) => [0, 1, FIXED].includes(s.rung));
  const blocks = section(buildReport(await results(specs)));
  const text = textOf(blocks);
  const missing = LADDER.filter((r) => ![0, 1, FIXED].includes(r.index)).map((r) => r.profile.name);
  assert(text.includes(`deno task bench --profile ${missing.join(",")} runs them`), text);
  assert(text.includes("deno task bench --profile ladder runs every rung"), text);
  for (const name of missing) assert(text.includes(`(${name})`), name);
  // Rungs 2 … FIXED − 1 are missing: fixed's row carries their switches, and the section says so.
  const between = LADDER.slice(2, FIXED).map((r) => r.profile.name).join(", ");
  const fields = LADDER.slice(2, FIXED + 1).map((r) => r.switch!.field);
  assert(
    text.includes(
      `Rung ${FIXED} (fixed) differs from rung 1 (original) in ${fields.length} fields of the ` +
        `recorded configs (${fields.join(", ")}), not one: ${between} between them are not in ` +
        "these results, so this row carries their switches together.",
    ),
    text,
  );
  const row = tableOf(blocks).rows[2]!.map(plainText);
  assertEquals(row[1], "fixed");
  assertEquals(row[4], "+" + (acc(FIXED, "gru", 1) - acc(1, "gru", 1)).toFixed(4));
});

Deno.test("a stale rung (recorded configs off the ladder) is flagged, not hidden", async () => {
  const files = await results(everyRung(["rnn", "lstm"], [1]).filter((s) => s.rung <= 5));
  const stale = files[0]!.results.runs.filter((r) => r.profile === LADDER[3]!.profile.name);
  for (const r of stale) r.config.hiddenSize = 16;
  const text = textOf(section(buildReport(files)));
  assert(
    text.includes(
      "Rung 3 (ladder-03-padding) differs from rung 2 (ladder-02-lr) in 2 fields of the " +
        "recorded configs (padding, hiddenSize), where the ladder changes padding: stale or " +
        "hand-made results.",
    ),
    text,
  );
  assert(
    text.includes(
      "Rung 3 (ladder-03-padding) was recorded with hiddenSize 16 where the ladder has 8",
    ),
    text,
  );
  // Rung 4 goes back to hidden 8: two fields again, flagged too.
  assert(text.includes("Rung 4 (ladder-04-layers) differs from rung 3 (ladder-03-padding) in 2"));
  // Two runs of one rung and architecture with different configs.
  const twice = await results(everyRung(["rnn"], [1, 2]).filter((s) => s.rung === 0));
  twice[0]!.results.runs[1]!.config.epochs = 3;
  assert(
    textOf(section(buildReport(twice))).includes(
      "The RNN runs of rung 0 (original-labels) were recorded with different configs: " +
        "epochs 5 / 3.",
    ),
  );
});

Deno.test("a per-cell switch that leaves every architecture here unchanged is said, not hidden", async () => {
  const lr = LADDER.filter((r) => r.switch?.field === "learningRate").find((r) =>
    learningRateOf(LADDER[r.index - 1]!.profile, "rnn") === learningRateOf(r.profile, "rnn")
  );
  if (lr === undefined) return; // no such rung on today's ladder: nothing to say
  const specs = everyRung(["rnn"], [1]).filter((s) =>
    s.rung === lr.index || s.rung === lr.index - 1
  );
  const blocks = section(buildReport(await results(specs)));
  assertEquals(plainText(tableOf(blocks).rows[1]![2]!), "no field");
  assert(
    textOf(blocks).includes(
      `Rung ${lr.index} (${lr.profile.name}) records the same config as rung ${lr.index - 1} ` +
        `(${LADDER[lr.index - 1]!.profile.name}): its switch (learningRate) leaves the value ` +
        "of every architecture here as it was.",
    ),
  );
});

Deno.test("without any rung the section says how to run the ladder", async () => {
  const files = await results([]);
  const text = textOf(section(buildReport(files)));
  assert(text.includes("No rung of the ladder"), text);
  assert(text.includes("deno task bench --profile ladder runs every rung"), text);
  assert(!chartsOf(buildReport(files)).some((c) => c.id === "ladder"));
});

/** The artefact explanation's list items, as text. */
function explanation(report: Report): string[] {
  const at = report.blocks.findIndex((b) =>
    b.kind === "heading" && plainText(b.text) === "Why the original's numbers are an artefact"
  );
  const list = report.blocks.slice(at).find((b) => b.kind === "list");
  assert(list?.kind === "list");
  return list.items.map(plainText);
}

Deno.test("the artefact explanation cites the learning-rate, padding and layers rungs with their numbers", async () => {
  const arches = ["rnn", "lstm", "gru"];
  const specs = everyRung(arches, [1, 2, 3]).filter((s) => s.rung <= 5);
  const items = explanation(buildReport(await results(specs)));
  const cases = [
    ["Learning rates.", "learningRate", ""],
    ["Padding.", "padding", " (end → start)"],
    ["Depth.", "layers", " (25 → 5)"],
  ] as const;
  for (const [item, field, values] of cases) {
    const text = items.find((i) => i.startsWith(item))!;
    const rung = rungSwitching(field)!;
    const before = LADDER[rung.index - 1]!;
    const m = (r: number, a: string) =>
      medianOf(specs.filter((s) => s.rung === r && s.arch === a).map((s) => s.accuracy))
        .toFixed(4);
    const want = `Rung ${rung.index} of the ladder (${rung.profile.name}) changes only ` +
      `${field}${values} from rung ${before.index} (${before.profile.name}): test accuracy ` +
      `after the last epoch (medians over runs) RNN ${m(before.index, "rnn")} → ` +
      `${m(rung.index, "rnn")}, LSTM ${m(before.index, "lstm")} → ${m(rung.index, "lstm")} ` +
      `and GRU ${m(before.index, "gru")} → ${m(rung.index, "gru")}.`;
    assert(text.includes(want), `${text}\nlacks\n${want}`);
  }
});

Deno.test("what fixed reaches says what the rungs at the original's shape reach at most, and why the shape changed", async () => {
  const arches = ["rnn", "lstm", "gru"];
  const specs = everyRung(arches, [1]).filter((s) => s.rung <= FIXED);
  const reach = async (s: readonly Spec[]) =>
    explanation(buildReport(await results(s))).find((i) =>
      i.startsWith("What they really reach.")
    )!;
  const atOriginal = LADDER.filter((r) =>
    r.index >= 1 && r.index <= FIXED && r.profile.layers === LADDER[0]!.profile.layers
  );
  const best = (a: string) =>
    Math.max(
      ...specs.filter((s) => s.arch === a && atOriginal.some((r) => r.index === s.rung))
        .map((s) => s.accuracy),
    ).toFixed(4);
  const text = await reach(specs);
  const want = `At the original's shape the rungs of the ladder here (` +
    `${atOriginal.map((r) => r.profile.name).join(", ")}) reach at most RNN ${best("rnn")}, ` +
    `LSTM ${best("lstm")} and GRU ${best("gru")}: no change measured at that shape reached 0.80 ` +
    "on the validation split, so fixed takes the smallest change of shape found";
  assert(text.includes(want), `${text}\nlacks\n${want}`);
  // Without a rung at the original's shape there is nothing to cite.
  const shallow = specs.filter((s) => !atOriginal.some((r) => r.index === s.rung));
  const without = await reach(shallow);
  assert(!without.includes("At the original's shape"), without);
});

Deno.test("the artefact explanation says when a rung it cites is not in the results", async () => {
  const specs = everyRung(["lstm"], [1]).filter((s) => s.rung !== 3);
  const items = explanation(buildReport(await results(specs)));
  const padding = items.find((i) => i.startsWith("Padding."))!;
  assert(
    padding.includes(
      "ladder-03-padding is not in these results, so what it buys is not shown here " +
        "(deno task bench --profile ladder-03-padding runs it).",
    ),
    padding,
  );
  const depth = items.find((i) => i.startsWith("Depth."))!;
  assert(depth.includes("ladder-03-padding is not in these results"), depth);
  assert(!/\d → \d/.test(padding.split("Rung")[1]!), "numbers for a missing rung");
  const lr = items.find((i) => i.startsWith("Learning rates."))!;
  assert(/LSTM 0\.\d{4} → 0\.\d{4}\.$/.test(lr), lr);
});
