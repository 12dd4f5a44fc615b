import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import type { Run } from "../bench/results/types.ts";
import { archesOf, archLabel, separateCellVersions } from "./_archs.ts";
import { buildReport, type LoadedResults } from "./build_report.ts";
import { loadResults } from "./generate.ts";
import { MarkdownExporter } from "./markdown.ts";
import { inTempDir, loadFixtures } from "./_test_util.ts";

const A = "a".repeat(64), B = "b".repeat(64);

/**
 * The one-machine fixture with its GRU runs turned into runs of a cell "mgu" loaded from a
 * file of hash `sha256` (and its other runs dropped with `onlyCell`), the ids suffixed so
 * that two such files may be merged.
 */
async function withFileCell(
  sha256: string,
  suffix: string,
  onlyCell = false,
): Promise<LoadedResults> {
  const [file] = await loadFixtures("fixtures/results/one-machine.json");
  const runs: Run[] = file!.results.runs.flatMap((r) =>
    r.arch === "gru"
      ? [{ ...r, arch: "mgu", cell: { source: "/x/mgu.ts", sha256 }, runId: r.runId + suffix }]
      : onlyCell
      ? []
      : [{ ...r, runId: r.runId + suffix }]
  );
  return { label: `mgu-${suffix}.json`, results: { ...file!.results, runs } };
}

const archsOf = (files: readonly LoadedResults[]) =>
  archesOf(files.flatMap((f) => f.results.runs.map((r) => r.arch)));

Deno.test("one version of a cell from a file keeps its name; two become name@hash", async () => {
  const a = await withFileCell(A, "-a");
  assertEquals(archsOf(separateCellVersions([a])), ["rnn", "lstm", "mgu"]);
  const both = separateCellVersions([a, await withFileCell(B, "-b")]);
  assertEquals(archsOf(both), ["rnn", "lstm", "mgu@aaaaaaa", "mgu@bbbbbbb"]);
  assertEquals(archLabel("mgu@aaaaaaa"), "MGU@aaaaaaa");
  assertEquals(archLabel("lstm"), "LSTM");
  // The inputs are not modified.
  assert(a.results.runs.every((r) => !r.arch.includes("@")));
});

Deno.test("hashes that share their first 7 digits are told apart by more", async () => {
  const near = "aaaaaaab" + "0".repeat(56);
  const both = separateCellVersions([await withFileCell(A, "-a"), await withFileCell(near, "-n")]);
  assertEquals(archsOf(both), ["rnn", "lstm", "mgu@aaaaaaaa", "mgu@aaaaaaab"]);
});

Deno.test("report: two versions of a cell merge without clashing and show apart in every table", async () => {
  await inTempDir(async (dir) => {
    const paths = [];
    for (const f of [await withFileCell(A, "-a"), await withFileCell(B, "-b", true)]) {
      const path = join(dir, f.label);
      await Deno.writeTextFile(path, JSON.stringify(f.results));
      paths.push(path);
    }
    const { loaded } = await loadResults(paths); // throws on "Duplicate run" without versions
    const markdown = new MarkdownExporter().render(buildReport(loaded));
    for (const label of ["MGU@aaaaaaa", "MGU@bbbbbbb"]) {
      assert(markdown.includes(`| ${label} `), `no table row of ${label}`);
      assert(markdown.includes(`${label} accuracy`), `no figure column of ${label}`);
    }
  });
});
