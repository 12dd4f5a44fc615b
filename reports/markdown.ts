/**
 * The Markdown exporter: GitHub-flavoured Markdown that `deno fmt` leaves unchanged (tables
 * are padded the way dprint pads them), with charts as `charts/<id>.png` image links.
 *
 * @module
 */

import { escapeMarkdown, escapeMarkdownCell, markdownCode } from "./escape.ts";
import type { ExportAssets, Exporter } from "./exporter.ts";
import {
  type Block,
  chartCaption,
  chartFileName,
  type Inline,
  type Report,
  type Table,
  type Text,
} from "./model.ts";

/** Renders inline text as Markdown; `inTable` applies the table-cell escapes. */
function inline(text: Text, inTable: boolean): string {
  const pieces: readonly Inline[] = Array.isArray(text) ? text : [text as Inline];
  const escape = inTable ? escapeMarkdownCell : escapeMarkdown;
  return pieces.map((p) => {
    if (typeof p === "string") return escape(p);
    if ("code" in p) return p.code === "" ? "" : markdownCode(p.code, inTable);
    return p.strong === "" ? "" : `**${escape(p.strong)}**`;
  }).join("");
}

/**
 * Display width of a string as dprint measures it for table padding: one column per
 * character, two for East Asian wide and full-width characters and most emoji, none for
 * combining marks.
 */
export function displayWidth(s: string): number {
  let width = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (/\p{Mn}|\p{Me}|\u200b|\u200d/u.test(ch)) continue;
    const wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
      (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

function renderTable(table: Table): string {
  const header = table.columns.map((c) => escapeMarkdownCell(c.header));
  const body = table.rows.map((row) => table.columns.map((_, i) => inline(row[i] ?? "", true)));
  const widths = table.columns.map((c, i) =>
    Math.max(
      3,
      displayWidth(header[i]!),
      ...body.map((r) => displayWidth(r[i]!)),
      c.align === "right" ? 4 : 3,
    )
  );
  const pad = (s: string, i: number) => {
    const fill = " ".repeat(widths[i]! - displayWidth(s));
    return table.columns[i]!.align === "right" ? fill + s : s + fill;
  };
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = table.columns.map((c, i) =>
    c.align === "right" ? "-".repeat(widths[i]! - 1) + ":" : "-".repeat(widths[i]!)
  );
  return [line(header), `| ${rule.join(" | ")} |`, ...body.map(line)].join("\n");
}

/** Splits rendered Markdown prose into words: at spaces outside code spans. */
function words(markdown: string): string[] {
  const out: string[] = [];
  let word = "";
  for (let i = 0; i < markdown.length; i++) {
    const ch = markdown[i]!;
    if (ch === "\\") {
      word += markdown.slice(i, i + 2);
      i++;
    } else if (ch === "`") {
      const fence = /^`+/.exec(markdown.slice(i))![0];
      let close = markdown.indexOf(fence, i + fence.length);
      while (close !== -1 && markdown[close + fence.length] === "`") {
        close = markdown.indexOf(fence, close + fence.length + 1);
      }
      const end = close === -1 ? i + fence.length : close + fence.length;
      word += markdown.slice(i, end);
      i = end - 1;
    } else if (ch === " ") {
      if (word !== "") out.push(word);
      word = "";
    } else {
      word += ch;
    }
  }
  if (word !== "") out.push(word);
  return out;
}

/** A word that would start a list, heading, quote or rule if it began a line. */
function startsBlock(word: string): boolean {
  return /^(?:[-+*>]|#{1,6}|\d{1,9}[.)]|=+|-+)$/.test(word);
}

/**
 * Wraps prose the way `deno fmt` (dprint, proseWrap "always") does, so the output is
 * already formatted: greedy, at spaces outside code spans, never starting a line with a
 * word that would turn it into a list item or heading.
 */
function wrap(markdown: string, width: number, first = "", rest = ""): string {
  const lines: string[][] = [[]];
  let used = displayWidth(first);
  for (const word of words(markdown)) {
    const line = lines[lines.length - 1]!;
    const w = displayWidth(word);
    if (line.length === 0 || used + 1 + w <= width) {
      used += (line.length === 0 ? 0 : 1) + w;
      line.push(word);
      continue;
    }
    if (startsBlock(word) && line.length > 1) {
      const moved = line.pop()!;
      lines.push([moved, word]);
      used = displayWidth(rest) + displayWidth(moved) + 1 + w;
    } else {
      lines.push([word]);
      used = displayWidth(rest) + w;
    }
  }
  return lines.map((line, i) => (i === 0 ? first : rest) + line.join(" ")).join("\n");
}

function renderBlock(block: Block, width: number): string {
  switch (block.kind) {
    case "heading":
      return `${"#".repeat(block.level)} ${inline(block.text, false)}`;
    case "paragraph":
      return wrap(inline(block.text, false), width);
    case "list":
      return block.items.map((item) => wrap(inline(item, false), width, "- ", "  ")).join("\n");
    case "table":
      return renderTable(block.table);
    case "chart":
      return `![${escapeMarkdown(chartCaption(block.chart))}](charts/${
        chartFileName(block.chart)
      })`;
  }
}

/** Options of {@linkcode MarkdownExporter}. */
export interface MarkdownOptions {
  /** Prose is wrapped to this many columns (the project's `deno fmt` line width). @default {100} */
  lineWidth?: number;
}

/**
 * Renders a report as Markdown. Charts are linked, not embedded: assets are not needed.
 *
 * @example
 * ```ts ignore
 * const markdown = new MarkdownExporter().render(report);
 * ```
 */
export class MarkdownExporter implements Exporter {
  /** The Markdown file's name. */
  readonly fileName = "report.md";
  readonly #lineWidth: number;

  /** @param options Line width. */
  constructor(options: MarkdownOptions = {}) {
    this.#lineWidth = options.lineWidth ?? 100;
  }

  /**
   * @param report The report.
   * @param _assets Unused: Markdown links charts by file name.
   * @returns Markdown text ending in one newline.
   */
  render(report: Report, _assets?: ExportAssets): string {
    return report.blocks.map((b) => renderBlock(b, this.#lineWidth)).join("\n\n") + "\n";
  }
}
