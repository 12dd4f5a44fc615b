/**
 * The HTML exporter: one self-contained, printable file. Styles are inline, charts are
 * `data:` URIs, there is no script, and a Content-Security-Policy forbids fetching anything,
 * so opening the file makes no request. Every string is escaped.
 *
 * @module
 */

import { encodeBase64 } from "./_base64.ts";
import { escapeHtml } from "./escape.ts";
import type { ExportAssets, Exporter } from "./exporter.ts";
import {
  type Block,
  chartCaption,
  type Inline,
  type Report,
  type Table,
  type Text,
} from "./model.ts";

const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  color: #1b1f24; background: #fff; max-width: 1200px; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.9rem; margin-top: 0; }
h2 { font-size: 1.45rem; border-bottom: 1px solid #d0d7de; padding-bottom: .25rem; margin-top: 2.2rem; }
h3 { font-size: 1.15rem; margin-top: 1.6rem; }
code { font: .88em/1.4 ui-monospace, "DejaVu Sans Mono", monospace; background: #f3f4f6;
  padding: .05em .3em; border-radius: 3px; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; margin: .8rem 0 1.2rem; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .55rem; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
figure { margin: 1rem 0 1.5rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e5e7eb; }
figcaption { color: #57606a; font-size: .9rem; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; }
  h2, h3 { break-after: avoid; }
  table, figure { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  code { background: none; }
}
`;

function inline(text: Text): string {
  const pieces: readonly Inline[] = Array.isArray(text) ? text : [text as Inline];
  return pieces.map((p) => {
    if (typeof p === "string") return escapeHtml(p);
    if ("code" in p) return `<code>${escapeHtml(p.code)}</code>`;
    return `<strong>${escapeHtml(p.strong)}</strong>`;
  }).join("");
}

function renderTable(table: Table): string {
  const cls = (i: number) => table.columns[i]?.align === "right" ? ` class="num"` : "";
  const head = table.columns.map((c, i) => `<th${cls(i)}>${escapeHtml(c.header)}</th>`).join("");
  const body = table.rows.map((row) =>
    `<tr>${table.columns.map((_, i) => `<td${cls(i)}>${inline(row[i] ?? "")}</td>`).join("")}</tr>`
  ).join("\n");
  return `<div class="table-wrap"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

function renderBlock(block: Block, assets: ExportAssets): string {
  switch (block.kind) {
    case "heading":
      return `<h${block.level} id="${escapeHtml(block.id)}">${
        inline(block.text)
      }</h${block.level}>`;
    case "paragraph":
      return `<p>${inline(block.text)}</p>`;
    case "list":
      return `<ul>\n${block.items.map((item) => `<li>${inline(item)}</li>`).join("\n")}\n</ul>`;
    case "table":
      return renderTable(block.table);
    case "chart": {
      const chart = assets.charts.get(block.chart.id);
      if (chart === undefined) {
        throw new Error(`Cannot export HTML: chart "${block.chart.id}" was not rendered`);
      }
      const src = `data:image/png;base64,${encodeBase64(chart.png)}`;
      return `<figure><img src="${src}" width="${chart.width}" height="${chart.height}" ` +
        `alt="${escapeHtml(block.chart.alt)}">` +
        `<figcaption>${escapeHtml(chartCaption(block.chart))}</figcaption></figure>`;
    }
  }
}

/** Renders a report as one self-contained HTML file. */
export class HtmlExporter implements Exporter {
  /** The HTML file's name. */
  readonly fileName = "report.html";

  /**
   * @param report The report.
   * @param assets Every chart of the report, rendered.
   * @returns The HTML document.
   * @throws {Error} When a chart of the report is missing from `assets`.
   */
  render(report: Report, assets: ExportAssets): string {
    return [
      "<!DOCTYPE html>",
      `<html lang="en">`,
      "<head>",
      `<meta charset="utf-8">`,
      `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
      `<meta name="viewport" content="width=device-width, initial-scale=1">`,
      `<title>${escapeHtml(report.title)}</title>`,
      `<style>${STYLE}</style>`,
      "</head>",
      "<body>",
      ...report.blocks.map((b) => renderBlock(b, assets)),
      "</body>",
      "</html>",
      "",
    ].join("\n");
  }
}
