/**
 * Escaping of every string that reaches the output. Strings from results files are data,
 * never markup: HTML gets entities, Markdown gets backslash escapes, and Markdown table
 * cells additionally escape `|` and newlines.
 *
 * @module
 */

const HTML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./escape.ts";
 * escapeHtml('<b a="1">'); // "&lt;b a=&quot;1&quot;&gt;"
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

/**
 * Escapes text for Markdown prose: every character CommonMark could read as markup gets a
 * backslash, and line breaks become spaces.
 *
 * @example
 * ```ts
 * import { escapeMarkdown } from "./escape.ts";
 * escapeMarkdown("a*b*<c>"); // "a\\*b\\*\\<c\\>"
 * ```
 */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_[\]<>|&#!~]/g, "\\$&").replace(/\s+/g, " ");
}

/**
 * Escapes text for a Markdown table cell: as {@linkcode escapeMarkdown}, with line breaks as
 * `<br>` so they neither end the row nor get lost.
 */
export function escapeMarkdownCell(s: string): string {
  return s.replace(/[\\`*_[\]<>|&#!~]/g, "\\$&").replace(/\r\n|\r|\n/g, "<br>");
}

/**
 * A Markdown code span holding `s` verbatim: the fence is one backtick longer than the
 * longest run of backticks inside. In table cells, `|` is escaped too (GitHub splits cells
 * before it parses code spans) and line breaks become spaces.
 */
export function markdownCode(s: string, inTable: boolean): string {
  let body = s.replace(/\r\n|\r|\n/g, " ");
  if (inTable) body = body.replace(/\|/g, "\\|");
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = body.startsWith("`") || body.endsWith("`") || /^ .* $/.test(body) ? " " : "";
  return `${fence}${pad}${body}${pad}${fence}`;
}
