/**
 * Test helpers of the report: loading the results fixtures and comparing against Markdown
 * snapshots. `UPDATE_SNAPSHOTS=1 deno test -A reports/` rewrites the snapshots.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { readResultsFile } from "../bench/results/io.ts";
import type { LoadedResults } from "./build_report.ts";

/** The repository root, as a file URL ending in `/`. */
export const ROOT = new URL("../", import.meta.url);

/**
 * Loads results fixtures by repository-relative path; each is labelled with that path, so
 * reports do not depend on the working directory.
 */
export async function loadFixtures(...paths: string[]): Promise<LoadedResults[]> {
  return await Promise.all(
    paths.map(async (label) => ({
      label,
      results: await readResultsFile(fileURLToPath(new URL(label, ROOT))),
    })),
  );
}

/**
 * Compares `actual` with `fixtures/results/snapshots/<name>` exactly, or rewrites the
 * snapshot when `UPDATE_SNAPSHOTS=1`.
 */
export async function assertSnapshot(actual: string, name: string): Promise<void> {
  const relative = `fixtures/results/snapshots/${name}`;
  const url = new URL(relative, ROOT);
  if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") {
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `Snapshot ${relative} is missing: run UPDATE_SNAPSHOTS=1 deno test -A reports/`,
      );
    }
    throw error;
  }
  if (actual === expected) return;
  const a = actual.split("\n");
  const e = expected.split("\n");
  let line = 0;
  while (line < Math.max(a.length, e.length) && a[line] === e[line]) line++;
  throw new Error(
    `Output differs from snapshot ${relative} at line ${line + 1}:\n` +
      `  expected: ${JSON.stringify(e[line] ?? "<end of file>")}\n` +
      `  actual:   ${JSON.stringify(a[line] ?? "<end of file>")}\n` +
      "If the change is intended, run UPDATE_SNAPSHOTS=1 deno test -A reports/ and review the diff.",
  );
}

/** Runs `body` in a fresh temporary directory and removes it afterwards. */
export async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-report-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
