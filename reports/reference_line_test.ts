import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { buildReport } from "./build_report.ts";
import { formatAccuracy } from "./format.ts";
import { plainText } from "./model.ts";
import { loadFixtures } from "./_test_util.ts";

const SECTION = "Beside a non-recurrent reference line";

async function section(path: string) {
  const report = buildReport(await loadFixtures(path));
  const start = report.blocks.findIndex((b) =>
    b.kind === "heading" && plainText(b.text) === SECTION
  );
  assert(start >= 0, "the report has the reference section");
  const end = report.blocks.findIndex((b, i) => i > start && b.kind === "heading" && b.level <= 2);
  return report.blocks.slice(start + 1, end);
}

Deno.test("the reference section shows the file's reference line and each recurrent run's distance to it", async () => {
  const [file] = await loadFixtures("fixtures/results/one-machine.json");
  const ref = file!.results.reference!;
  const tables = (await section("fixtures/results/one-machine.json"))
    .flatMap((b) => b.kind === "table" ? [b.table] : []);
  assertEquals(tables.length, 2);
  assertEquals(plainText(tables[0]!.rows[0]![4]!), formatAccuracy(ref.testAccuracy));
  const runs = file!.results.runs.filter((r) => r.status === "ok" && r.config.labels === "correct");
  assertEquals(tables[1]!.rows.length, runs.length, "one seed: one row per run on correct labels");
  for (const row of tables[1]!.rows) {
    const [arch, profile, , accuracy, distance] = row.map(plainText);
    const run = runs.find((r) => r.arch.toUpperCase() === arch && r.profile === profile)!;
    const last = run.epochs.at(-1)!.testAccuracy;
    assertEquals(accuracy, formatAccuracy(last));
    const d = last - ref.testAccuracy;
    assertEquals(distance, `${d >= 0 ? "+" : "−"}${formatAccuracy(Math.abs(d))}`);
  }
});

Deno.test("the reference section says how to get a line when no file has one", async () => {
  const blocks = await section("fixtures/results/several-seeds.json");
  assertEquals(blocks.length, 1);
  assert(
    blocks[0]!.kind === "paragraph" && plainText(blocks[0]!.text).includes("--reference nbsvm"),
  );
});

Deno.test("the reference section says which split the line was evaluated on, and a chunks carve", async () => {
  const files = await loadFixtures("fixtures/results/one-machine.json");
  const ref = files[0]!.results.reference!;
  const cells = (reference: typeof ref) => {
    files[0]!.results.reference = reference;
    const blocks = buildReport(files).blocks;
    const start = blocks.findIndex((b) => b.kind === "heading" && plainText(b.text) === SECTION);
    const table = blocks.slice(start).find((b) => b.kind === "table");
    assert(table?.kind === "table");
    return table.table.rows[0]!.map(plainText);
  };
  assert(cells(ref).includes("test (25000)"));
  assert(
    cells({ ...ref, validationSize: 5000, validationCarve: "random" }).includes(
      "validation (5000)",
    ),
  );
  assert(
    cells({ ...ref, validationSize: 5000, validationCarve: "chunks" }).includes(
      "validation (5000, chunks)",
    ),
  );
});
