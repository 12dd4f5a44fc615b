/**
 * The exporter interface: one report model, several output formats. Markdown and HTML
 * implement it (`markdown.ts`, `html.ts`) and share everything above rendering.
 *
 * @module
 */

import type { Report } from "./model.ts";

/** A chart rendered to PNG. */
export interface RenderedChart {
  /** The chart's id ({@linkcode ChartSpec.id}). */
  id: string;
  /** PNG bytes. */
  png: Uint8Array;
  /** Width in CSS pixels. */
  width: number;
  /** Height in CSS pixels. */
  height: number;
}

/** What an exporter may use beside the report: the rendered charts, by chart id. */
export interface ExportAssets {
  /** Rendered charts; an exporter that embeds images needs every chart of the report. */
  charts: ReadonlyMap<string, RenderedChart>;
}

/** Turns a report model into one document. */
export interface Exporter {
  /** File name the document is written to, e.g. `report.md`. */
  readonly fileName: string;
  /**
   * Renders the report.
   *
   * @param report The report model.
   * @param assets Rendered charts.
   * @returns The document's text.
   */
  render(report: Report, assets: ExportAssets): string;
}
