import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { MarkdownExporter } from "./markdown.ts";
import type { Report } from "./model.ts";
import { buildReport } from "./build_report.ts";
import { assertSnapshot, loadFixtures, ROOT } from "./_test_util.ts";

const markdown = new MarkdownExporter();

Deno.test("Markdown of one machine matches its snapshot", async () => {
  const report = buildReport(await loadFixtures("fixtures/results/one-machine.json"));
  await assertSnapshot(markdown.render(report), "one-machine.md");
});

Deno.test("Markdown of two machines matches its snapshot", async () => {
  const files = await loadFixtures(
    "fixtures/results/two-machines/gpu-h200.json",
    "fixtures/results/two-machines/ref-2core.json",
  );
  await assertSnapshot(markdown.render(buildReport(files)), "two-machines.md");
});

Deno.test("Markdown of several seeds matches its snapshot", async () => {
  const report = buildReport(await loadFixtures("fixtures/results/several-seeds.json"));
  await assertSnapshot(markdown.render(report), "several-seeds.md");
});

Deno.test("Markdown snapshots are already formatted as deno fmt formats them", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--check", "fixtures/results/snapshots"],
    cwd: fileURLToPath(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
  assert(output.success, `deno fmt would change the snapshots:\n${text}`);
});

Deno.test("Markdown table cells escape pipes and line breaks; prose escapes markup", () => {
  const report: Report = {
    title: "t",
    lang: "en",
    blocks: [
      { kind: "paragraph", text: ["a *b* <c> [d](e) | f\ng"] },
      {
        kind: "table",
        table: {
          columns: [{ header: "A|B", align: "left" }, { header: "N", align: "right" }],
          rows: [["x|y\nz", { code: "p|q`r" }]],
        },
      },
    ],
  };
  assertEquals(
    markdown.render(report),
    [
      "a \\*b\\* \\<c\\> \\[d\\](e) \\| f g",
      "",
      "| A\\|B      |          N |",
      "| --------- | ---------: |",
      "| x\\|y<br>z | ``p\\|q`r`` |",
      "",
    ].join("\n"),
  );
});

Deno.test("Markdown prose wraps at 100 columns without starting a line with a list marker", () => {
  const words = Array.from({ length: 19 }, (_, i) => String.fromCharCode(97 + i).repeat(4));
  const text = `${words.join(" ")} tttt - uuu`;
  const out = markdown.render({ title: "t", lang: "en", blocks: [{ kind: "paragraph", text }] });
  const lines = out.trimEnd().split("\n");
  assertEquals(lines.length, 2);
  assert(lines.every((l) => l.length <= 100));
  assert(lines[1]!.startsWith("tttt - "), lines[1]);
});
