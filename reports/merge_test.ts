import type { ResultsFile } from "../bench/results/types.ts";
import { mergeProblems } from "./merge.ts";
import { loadFixtures } from "./_test_util.ts";

Deno.test("mergeProblems() accepts the fixtures: one machine, two machines, several seeds", async () => {
  const files = await loadFixtures(
    "fixtures/results/one-machine.json",
    "fixtures/results/several-seeds.json",
  );
  const two = await loadFixtures(
    "fixtures/results/two-machines/gpu-h200.json",
    "fixtures/results/two-machines/ref-2core.json",
  );
  const p2 = mergeProblems(two);
  if (p2.length > 0) throw new Error(`two machines: ${p2.join("; ")}`);
  // Each fixture on its own is mergeable.
  for (const f of files) {
    const p = mergeProblems([f]);
    if (p.length > 0) throw new Error(`${f.label}: ${p.join("; ")}`);
  }
});

Deno.test("mergeProblems() refuses the same file twice and mismatched configs, naming both files", async () => {
  const [f] = await loadFixtures("fixtures/results/one-machine.json");
  const dup = mergeProblems([f!, { label: "copy.json", results: f!.results }]);
  if (!dup.some((p) => /Duplicate run/.test(p) && p.includes("copy.json"))) {
    throw new Error(`no duplicate reported: ${dup}`);
  }
  const changed: ResultsFile = structuredClone(f!.results);
  for (const r of changed.runs) {
    r.runId += "-other";
    r.seed += 100;
    r.config = { ...r.config, epochs: r.config.epochs + 7 };
  }
  const mm = mergeProblems([f!, { label: "other.json", results: changed }]);
  if (
    !mm.some((p) => /Mismatched configs/.test(p) && /epochs/.test(p) && p.includes("other.json"))
  ) {
    throw new Error(`no mismatch reported: ${mm}`);
  }
});
