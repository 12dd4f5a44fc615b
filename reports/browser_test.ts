/**
 * Opens a generated `report.html` in headless Chromium (Debian's `/usr/bin/chromium`, driven
 * by playwright-core) and checks that it is self-contained and renders: no console error,
 * no request but the file itself, every chart image decoded, a non-blank page.
 *
 * Needs `apt-get install -y chromium`; `RNNBENCH_SKIP_BROWSER=1` skips it. Set
 * `RNNBENCH_BROWSER_SCREENSHOT=path.png` to keep the screenshot for a look.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { chromium } from "playwright-core";
import { generateReport } from "./generate.ts";
import { ignorableTest } from "../models/_testing.ts";
import { inTempDir, ROOT } from "./_test_util.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

ignorableTest({
  name: "report.html opens in headless Chromium: no errors, no requests, every chart shown",
  ignore: Deno.env.get("RNNBENCH_SKIP_BROWSER") === "1" ? "RNNBENCH_SKIP_BROWSER=1" : null,
  // Playwright keeps pipes to the browser process open across awaits.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (!isFile(CHROMIUM)) {
      throw new Error(
        `Cannot run the browser test: ${CHROMIUM} not found: install Debian's chromium ` +
          "(apt-get install -y chromium), or set RNNBENCH_SKIP_BROWSER=1 to skip this test",
      );
    }
    await inTempDir(async (dir) => {
      const out = join(dir, "report");
      await generateReport({
        inputs: [fileURLToPath(new URL("fixtures/results/two-machines", ROOT))],
        outDir: out,
        pixelRatio: 1,
      });
      const htmlPath = join(out, "report.html");
      const fileUrl = pathToFileURL(htmlPath).href;
      const context = await chromium.launchPersistentContext(join(dir, "profile"), {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        viewport: { width: 1280, height: 900 },
      });
      try {
        const page = context.pages()[0] ?? await context.newPage();
        const consoleErrors: string[] = [];
        const requests: string[] = [];
        const failed: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error") consoleErrors.push(m.text());
        });
        page.on("pageerror", (e) => consoleErrors.push(e.message));
        context.on("request", (r) => requests.push(r.url()));
        context.on("requestfailed", (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));

        await page.goto(fileUrl, { waitUntil: "load" });
        const images = await page.evaluate(() =>
          [...document.images].map((img) => ({
            complete: img.complete,
            naturalWidth: img.naturalWidth,
            alt: img.alt.slice(0, 60),
          }))
        );
        const screenshot = await page.screenshot();
        const keep = Deno.env.get("RNNBENCH_BROWSER_SCREENSHOT");
        if (keep) await Deno.writeFile(keep, screenshot);

        assertEquals(consoleErrors, [], "console errors");
        assertEquals(failed, [], "failed requests");
        assertEquals(requests, [fileUrl], "requests other than the report itself");
        let charts = 0;
        for await (const e of Deno.readDir(join(out, "charts"))) {
          if (e.name.endsWith(".png")) charts++;
        }
        assert(charts > 0);
        assertEquals(images.length, charts, "one <img> per chart");
        for (const img of images) {
          assert(img.complete && img.naturalWidth > 0, `image not shown: ${JSON.stringify(img)}`);
        }
        const shot = await loadImage(screenshot);
        const canvas = createCanvas(shot.width, shot.height);
        const ctx = canvas.getContext("2d");
        ctx.drawImage(shot, 0, 0);
        const data = ctx.getImageData(0, 0, shot.width, shot.height).data;
        let differing = 0;
        for (let i = 4; i < data.length; i += 4) {
          if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) {
            differing++;
          }
        }
        assert(differing > data.length / 4 / 100, "the screenshot is (nearly) blank");
      } finally {
        await context.close();
      }
    });
  },
});
