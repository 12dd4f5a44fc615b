/**
 * Renders chart specifications to PNG with chart.js on `@napi-rs/canvas` (prebuilt, no
 * Cairo, works in Deno; Cyrillic text renders with any system font that has it).
 *
 * Colours follow matplotlib's default cycle, so RNN, LSTM and GRU get the colours the
 * original report's figures gave them (blue, orange, green).
 *
 * @module
 */

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  type Plugin,
  PointElement,
  SubTitle,
  Title,
} from "chart.js";
import { createCanvas, GlobalFonts } from "@napi-rs/canvas";
import type { RenderedChart } from "./exporter.ts";
import type { ChartSpec } from "./model.ts";

Chart.register(
  LineController,
  BarController,
  LineElement,
  PointElement,
  BarElement,
  CategoryScale,
  LinearScale,
  Title,
  SubTitle,
  Legend,
);

/** matplotlib's "tab10" cycle. */
const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Line dash patterns per series: solid, dashed, dotted, dash-dot. */
const DASHES: number[][] = [[], [10, 5], [2, 4], [10, 4, 2, 4]];
/** Point markers per series. */
const MARKERS = ["circle", "rect", "triangle", "rectRot", "crossRot", "star"] as const;

/** Options of {@linkcode renderChart}. */
export interface RenderOptions {
  /** Width in CSS pixels. @default {900} */
  width?: number;
  /** Height in CSS pixels. @default {480} */
  height?: number;
  /** Pixels per CSS pixel in the PNG (2 prints sharply). @default {2} */
  pixelRatio?: number;
}

/** Paints the background white (chart.js leaves it transparent). */
const whiteBackground: Plugin = {
  id: "whiteBackground",
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/**
 * Whether any font is available to draw chart text; without one, text is invisible.
 *
 * @returns A warning to print, or null when fonts are available.
 */
export function fontWarning(): string | null {
  return GlobalFonts.families.length === 0
    ? "No system fonts found: chart text will be missing; install one " +
      "(e.g. apt-get install -y fonts-dejavu-core)"
    : null;
}

function configuration(spec: ChartSpec, pixelRatio: number): ChartConfiguration {
  const line = spec.type === "line";
  const linear = spec.xAxis === "linear";
  const xs = spec.labels.map(Number);
  return {
    type: spec.type,
    data: {
      labels: [...spec.labels],
      datasets: spec.series.map((s, i) => {
        const k = s.style;
        const color = COLORS[k % COLORS.length]!;
        return {
          label: s.name,
          data: linear
            ? s.values.flatMap((y, i) => y === null ? [] : [{ x: xs[i]!, y }])
            : [...s.values],
          // Distinct dashes and markers keep identical curves (common here) distinguishable.
          // The first series is drawn lowest and widest, so curves drawn on top of it leave
          // its colour visible.
          borderDash: line ? DASHES[k % DASHES.length] : [],
          order: spec.series.length - i,
          pointStyle: MARKERS[k % MARKERS.length],
          borderColor: color,
          backgroundColor: line ? color : `${color}cc`,
          borderWidth: line ? Math.max(1.5, 4.5 - 1.2 * k) : 1,
          pointRadius: line ? 3 : 0,
          spanGaps: linear,
          clip: 8,
        };
      }),
    },
    options: {
      responsive: false,
      animation: false,
      maintainAspectRatio: false,
      devicePixelRatio: pixelRatio,
      layout: { padding: 12 },
      plugins: {
        title: { display: true, text: spec.title, font: { size: 16, weight: "bold" } },
        subtitle: {
          display: spec.subtitle !== "",
          text: spec.subtitle,
          font: { size: 13 },
          padding: { bottom: 8 },
        },
        legend: {
          display: true,
          position: "top",
          labels: { sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) },
        },
      },
      scales: {
        x: {
          ...(linear ? { type: "linear", beginAtZero: true } : {}),
          title: { display: true, text: spec.xLabel, font: { size: 13 } },
          grid: { display: line },
        },
        y: {
          title: { display: true, text: spec.yLabel, font: { size: 13 } },
          beginAtZero: !line,
        },
      },
    },
    plugins: [whiteBackground],
  } as ChartConfiguration;
}

/**
 * Renders one chart to PNG.
 *
 * @param spec What to draw.
 * @param options Size and pixel ratio.
 * @returns The PNG with its size in CSS pixels.
 *
 * @example
 * ```ts ignore
 * const { png } = await renderChart(spec);
 * await Deno.writeFile("chart.png", png);
 * ```
 */
export async function renderChart(
  spec: ChartSpec,
  options: RenderOptions = {},
): Promise<RenderedChart> {
  const { width = 900, height = 480, pixelRatio = 2 } = options;
  // Without a DOM, chart.js takes the canvas size as its size in CSS pixels and scales the
  // canvas itself by devicePixelRatio.
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  const chart = new Chart(
    context as unknown as CanvasRenderingContext2D,
    configuration(spec, pixelRatio),
  );
  try {
    const png = await canvas.encode("png");
    return { id: spec.id, png: new Uint8Array(png), width, height };
  } finally {
    chart.destroy();
  }
}

/**
 * Renders every chart, in order.
 *
 * @param specs The charts.
 * @param options Size and pixel ratio of each.
 * @returns The rendered charts by id.
 */
export async function renderCharts(
  specs: readonly ChartSpec[],
  options: RenderOptions = {},
): Promise<Map<string, RenderedChart>> {
  const out = new Map<string, RenderedChart>();
  for (const spec of specs) out.set(spec.id, await renderChart(spec, options));
  return out;
}
