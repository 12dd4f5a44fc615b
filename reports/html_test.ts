import { ok as assert } from "node:assert/strict";
import type { RenderedChart } from "./exporter.ts";
import { HtmlExporter } from "./html.ts";
import { MarkdownExporter } from "./markdown.ts";
import { chartsOf, type Report } from "./model.ts";
import { buildReport } from "./build_report.ts";
import { loadFixtures } from "./_test_util.ts";

const EVIL = `<script>alert(1)</script>"`;

/** Stand-in charts: the exporters only embed or link the bytes. */
function fakeCharts(report: Report): Map<string, RenderedChart> {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Map(chartsOf(report).map((c) => [c.id, { id: c.id, png, width: 900, height: 480 }]));
}

async function evilReport(): Promise<Report> {
  const [ref, h200] = await loadFixtures(
    "fixtures/results/two-machines/ref-2core.json",
    "fixtures/results/two-machines/gpu-h200.json",
  );
  h200!.results.machine.name = `gpu ${EVIL}`;
  const run = h200!.results.runs[0]!;
  run.config.lrSchedule = `cosine ${EVIL}`;
  run.engineDetail = `detail ${EVIL}`;
  run.profile = `custom ${EVIL}`;
  ref!.label = `results/${EVIL}.json`;
  return buildReport([ref!, h200!], { baseline: "ref-2core" });
}

Deno.test("HTML escapes every string from the results files", async () => {
  const report = await evilReport();
  const html = new HtmlExporter().render(report, { charts: fakeCharts(report) });
  assert(!html.includes("<script"), "raw <script> in the HTML");
  assert(!html.includes(EVIL));
  assert(html.includes("gpu &lt;script&gt;alert(1)&lt;/script&gt;&quot;"), "escaped machine name");
  assert(
    html.includes("cosine &lt;script&gt;alert(1)&lt;/script&gt;&quot;"),
    "escaped config value",
  );
  assert(html.includes("custom &lt;script&gt;alert(1)&lt;/script&gt;&quot;"), "escaped profile");
});

Deno.test("Markdown escapes every string from the results files", async () => {
  const report = await evilReport();
  const md = new MarkdownExporter().render(report);
  // Code spans show their content verbatim (CommonMark 6.1), so only text outside them
  // needs escapes; no raw tag may remain there.
  const outsideCode = md.replace(/`[^`\n]*`/g, "");
  assert(!/(^|[^\\])<script/m.test(outsideCode), "raw <script> outside code spans in the Markdown");
  assert(md.includes('schedule cosine \\<script\\>alert(1)\\</script\\>"'), "escaped value");
  assert(md.includes('`gpu <script>alert(1)</script>"`'), "machine name in a code span");
});

Deno.test("HTML is self-contained: no script, no external resource, charts as data URIs", async () => {
  const [file] = await loadFixtures("fixtures/results/one-machine.json");
  const report = buildReport([file!]);
  const html = new HtmlExporter().render(report, { charts: fakeCharts(report) });
  assert(html.startsWith("<!DOCTYPE html>"));
  assert(html.includes(`http-equiv="Content-Security-Policy"`));
  assert(!/<script|<link|<iframe|@import|url\(/i.test(html));
  assert(!/(src|href)="(?!data:)/i.test(html), "a src or href that is not a data: URI");
  const images = html.match(/<img /g)?.length ?? 0;
  assert(images === chartsOf(report).length && images > 0, `${images} images`);
  assert(html.includes(`src="data:image/png;base64,iVBORw0KGgo=`));
});
