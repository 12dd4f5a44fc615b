/**
 * The report as data: headings, paragraphs, lists, tables and chart specifications, with
 * no output format in it. `build_report.ts` builds it from results; each exporter (Markdown,
 * HTML) renders it. Every string in it is plain text — exporters escape all of it.
 *
 * @module
 */

/** A piece of inline text: plain, code (monospace, verbatim), or strong. */
export type Inline = string | { code: string } | { strong: string };

/** Inline text: one piece or a sequence of pieces. */
export type Text = Inline | readonly Inline[];

/** A table column. */
export interface Column {
  /** Header text. */
  header: string;
  /** Numbers are right-aligned, text left-aligned. */
  align: "left" | "right";
}

/** A table: columns and rows of cells (one cell per column). */
export interface Table {
  /** The columns. */
  columns: readonly Column[];
  /** The rows. */
  rows: readonly (readonly Text[])[];
}

/** One series of a chart: a name (legend entry) and one value per label (null: no point). */
export interface Series {
  /** Legend entry. */
  name: string;
  /** One value per x label. */
  values: readonly (number | null)[];
  /** Colour, dash and marker slot, so a series keeps its look across charts (RNN is 0). */
  style: number;
}

/** A chart to render: everything the renderer needs, nothing about pixels. */
export interface ChartSpec {
  /** File stem, unique within a report, `[a-z0-9-]` only. */
  id: string;
  /** Line chart (per epoch) or bar chart (per configuration). */
  type: "line" | "bar";
  /** Title drawn on the chart. */
  title: string;
  /** Second title line. */
  subtitle: string;
  /** X axis label. */
  xLabel: string;
  /** Y axis label. */
  yLabel: string;
  /** X labels (epochs, or configurations). */
  labels: readonly string[];
  /**
   * How the x labels are placed: evenly, in order (`"category"`, the default), or at their
   * value on a numeric axis (`"linear"`: every label is a number; a series' null values are
   * left out and its points joined).
   */
  xAxis?: "category" | "linear";
  /** The series. */
  series: readonly Series[];
  /** Text alternative describing the chart. */
  alt: string;
}

/** One block of the report. */
export type Block =
  | { kind: "heading"; level: 1 | 2 | 3; text: Text; id: string }
  | { kind: "paragraph"; text: Text }
  | { kind: "list"; items: readonly Text[] }
  | { kind: "table"; table: Table }
  | { kind: "chart"; chart: ChartSpec };

/** The whole report. */
export interface Report {
  /** Document title. */
  title: string;
  /** Language of chart text (`en` or `ru`); the body is English. */
  lang: "en" | "ru";
  /** The blocks, in order. */
  blocks: readonly Block[];
}

/** The charts of a report, in order of appearance. */
export function chartsOf(report: Report): ChartSpec[] {
  return report.blocks.flatMap((b) => b.kind === "chart" ? [b.chart] : []);
}

/** The file name of a chart's PNG, relative to the report's `charts/` folder. */
export function chartFileName(chart: ChartSpec): string {
  return `${chart.id}.png`;
}

/** A chart's title and subtitle on one line, for captions. */
export function chartCaption(chart: ChartSpec): string {
  return chart.subtitle === "" ? chart.title : `${chart.title} (${chart.subtitle})`;
}

/** Plain text of inline text, without markup (for alt text and plain contexts). */
export function plainText(text: Text): string {
  const pieces: readonly Inline[] = Array.isArray(text) ? text : [text as Inline];
  return pieces.map((p) => typeof p === "string" ? p : "code" in p ? p.code : p.strong).join("");
}
