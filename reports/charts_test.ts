import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { renderChart } from "./charts.ts";
import { CHART_TEXT } from "./i18n.ts";
import type { ChartSpec } from "./model.ts";

function spec(lang: "en" | "ru", type: "line" | "bar" = "line"): ChartSpec {
  const t = CHART_TEXT[lang];
  return {
    id: "test",
    type,
    title: t.accuracyTitle,
    subtitle: t.profileEngine("original", "native"),
    xLabel: t.epochAxis,
    yLabel: t.accuracyAxis,
    labels: ["0", "1", "2"],
    series: [
      { name: "RNN", values: [0.5, 0.6, 0.7], style: 0 },
      { name: "LSTM", values: [0.5, null, 0.8], style: 1 },
    ],
    alt: "test",
  };
}

/** Decodes a PNG into RGBA pixels. */
async function pixels(png: Uint8Array) {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  return {
    width: image.width,
    height: image.height,
    data: ctx.getImageData(0, 0, image.width, image.height).data,
  };
}

/** Share of non-white pixels in rows [top, bottom) of the image. */
function ink(p: { width: number; data: Uint8ClampedArray }, top: number, bottom: number): number {
  let dark = 0;
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < p.width; x++) {
      const i = (y * p.width + x) * 4;
      if (p.data[i]! < 200 || p.data[i + 1]! < 200 || p.data[i + 2]! < 200) dark++;
    }
  }
  return dark / ((bottom - top) * p.width);
}

Deno.test("renderChart() draws a line chart on white, with its title text", async () => {
  const chart = await renderChart(spec("en"), { width: 600, height: 320, pixelRatio: 1 });
  assertEquals([chart.width, chart.height], [600, 320]);
  const p = await pixels(chart.png);
  assertEquals([p.width, p.height], [600, 320]);
  assertEquals([...p.data.subarray(0, 4)], [255, 255, 255, 255], "white background");
  assert(ink(p, 0, 40) > 0.005, "no title text drawn: is a font installed?");
  assert(ink(p, 0, 320) > 0.02, "the chart is nearly blank");
});

Deno.test("renderChart() draws Cyrillic titles, and honours the pixel ratio", async () => {
  const en = await renderChart(spec("en"), { width: 600, height: 320, pixelRatio: 2 });
  const ru = await renderChart(spec("ru"), { width: 600, height: 320, pixelRatio: 2 });
  const p = await pixels(ru.png);
  assertEquals([p.width, p.height], [1200, 640]);
  assert(ink(p, 0, 80) > 0.005, "no Cyrillic title drawn");
  assert(en.png.length !== ru.png.length || en.png.some((b, i) => b !== ru.png[i]));
});

Deno.test("renderChart() draws bar charts", async () => {
  const chart = await renderChart(spec("en", "bar"), { width: 400, height: 300, pixelRatio: 1 });
  assert(ink(await pixels(chart.png), 60, 280) > 0.05);
});

Deno.test("renderChart() places a linear x axis's labels at their values", async () => {
  const base = { ...spec("en"), labels: ["0", "1", "100"] };
  const series = [{ name: "RNN", values: [0.5, 0.6, 0.7], style: 0 }];
  const category = await renderChart({ ...base, series }, {
    width: 400,
    height: 300,
    pixelRatio: 1,
  });
  const linear = await renderChart(
    { ...base, series, xAxis: "linear" },
    { width: 400, height: 300, pixelRatio: 1 },
  );
  assert(ink(await pixels(linear.png), 60, 280) > 0.02, "the linear chart is nearly blank");
  assert(
    linear.png.length !== category.png.length || linear.png.some((b, i) => b !== category.png[i]),
    "a linear axis draws like a category axis",
  );
});
