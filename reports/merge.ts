/**
 * Merging results files from several invocations, shards or machines: a run must appear
 * once, and runs of one machine, profile, architecture and engine must share one
 * configuration (threads aside), or the numbers they are pooled into would mean nothing.
 *
 * @module
 */
import type { Run } from "../bench/results/types.ts";
import type { LoadedResults } from "./build_report.ts";

/** What identifies a run's measurement (its seed included). */
function runKey(machine: string, r: Run): string {
  return JSON.stringify([machine, r.profile, r.arch, r.engine, r.seed]);
}

/** What runs pooled together must share: the config without threads, and the data. */
function configKey(r: Run): string {
  const { threads: _threads, ...config } = r.config;
  return JSON.stringify([config, r.data.datasetHash]);
}

function describeDiff(a: Run, b: Run): string {
  const diffs: string[] = [];
  for (const k of Object.keys(a.config) as (keyof Run["config"])[]) {
    if (k === "threads") continue;
    if (JSON.stringify(a.config[k]) !== JSON.stringify(b.config[k])) {
      diffs.push(`${k} ${JSON.stringify(a.config[k])} vs ${JSON.stringify(b.config[k])}`);
    }
  }
  if (a.data.datasetHash !== b.data.datasetHash) {
    diffs.push(`dataset ${a.data.datasetHash} vs ${b.data.datasetHash}`);
  }
  return diffs.join(", ");
}

/**
 * Finds runs that cannot be merged.
 * @returns one sentence per problem, each naming both files; empty when mergeable
 */
export function mergeProblems(files: readonly LoadedResults[]): string[] {
  const problems: string[] = [];
  const byRun = new Map<string, string>();
  const byGroup = new Map<string, { label: string; run: Run }>();
  for (const f of files) {
    const machine = f.results.machine.name;
    for (const r of f.results.runs) {
      const key = runKey(machine, r);
      const first = byRun.get(key);
      if (first !== undefined) {
        problems.push(
          `Duplicate run ${r.profile}/${r.arch}/${r.engine} seed ${r.seed} on machine ` +
            `"${machine}" in "${first}" and "${f.label}": keep one (or rerun with another --seed)`,
        );
        continue;
      }
      byRun.set(key, f.label);
      const group = JSON.stringify([machine, r.profile, r.arch, r.engine]);
      const g = byGroup.get(group);
      if (g === undefined) byGroup.set(group, { label: f.label, run: r });
      else if (configKey(g.run) !== configKey(r)) {
        problems.push(
          `Mismatched configs for ${r.profile}/${r.arch}/${r.engine} on machine "${machine}": ` +
            `"${g.label}" and "${f.label}" differ in ${describeDiff(g.run, r)}; report them ` +
            "separately or drop one",
        );
      }
    }
  }
  return problems;
}
