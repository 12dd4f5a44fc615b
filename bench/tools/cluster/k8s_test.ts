// bench/tools/cluster/k8s_indexed_job.yaml: an indexed Job whose pods, index by index, run
// bench commands that the CLI accepts and that together cover the run matrix once. The
// container's command runs in a real bash with JOB_COMPLETION_INDEX set, as Kubernetes would
// run it, with `npx` replaced by a stub that prints its arguments.
import { parseBenchArgs } from "../../cli.ts";
import { runMatrix } from "../../run.ts";
import { parseYamlSubset, type YamlValue } from "./_yaml_subset.ts";

const manifestPath = new URL("./k8s_indexed_job.yaml", import.meta.url).pathname;

type Obj = { [key: string]: YamlValue };

function field(v: YamlValue | undefined, path: string): YamlValue {
  let at: YamlValue | undefined = v;
  for (const key of path.split(".")) {
    if (at === null || typeof at !== "object" || Array.isArray(at) || !(key in at)) {
      throw new Error(`The manifest has no ${path}`);
    }
    at = (at as Obj)[key];
  }
  return at!;
}

function strings(v: YamlValue, what: string): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new Error(`${what} must be a list of strings, got ${JSON.stringify(v)}`);
  }
  return v as string[];
}

/** The arguments the container's command passes to `npx`, run by bash with this index. */
async function npxArgs(argv: string[], index: number, stubDir: string): Promise<string[]> {
  const r = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: {
      JOB_COMPLETION_INDEX: String(index),
      PATH: `${stubDir}:${Deno.env.get("PATH") ?? ""}`,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout).split("\0").slice(0, -1);
}

Deno.test("the Kubernetes indexed Job's pods run bench commands that the CLI accepts and that cover the run matrix once", async () => {
  const job = parseYamlSubset(await Deno.readTextFile(manifestPath));
  if (field(job, "kind") !== "Job" || field(job, "apiVersion") !== "batch/v1") {
    throw new Error("the manifest is not a batch/v1 Job");
  }
  if (field(job, "spec.completionMode") !== "Indexed") throw new Error("not an indexed Job");
  const completions = field(job, "spec.completions");
  if (typeof completions !== "number" || completions < 1) {
    throw new Error(`spec.completions must be a positive integer, got ${completions}`);
  }
  const containers = field(job, "spec.template.spec.containers");
  if (!Array.isArray(containers) || containers.length !== 1) {
    throw new Error("the pod must have exactly one container");
  }
  const c = containers[0]!;
  const argv = [
    ...strings(field(c, "command"), "command"),
    ...strings(field(c, "args"), "args"),
  ];
  const mounts = field(c, "volumeMounts");
  if (!Array.isArray(mounts)) throw new Error("volumeMounts must be a list");
  const mounted = mounts.map((m) => field(m, "mountPath"));

  const stub = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${stub}/npx`, `#!/bin/sh\nprintf '%s\\0' "$@"\n`, { mode: 0o755 });
    const covered: string[] = [];
    for (let k = 0; k < completions; k++) {
      const npx = await npxArgs(argv, k, stub);
      if (
        JSON.stringify(npx.slice(0, 4)) !== JSON.stringify(["-y", "deno@2.9.6", "task", "bench"])
      ) {
        throw new Error(`index ${k} does not run "npx -y deno@2.9.6 task bench": ${npx}`);
      }
      const args = parseBenchArgs(npx.slice(4));
      if (args.shard?.index !== k + 1 || args.shard.count !== completions) {
        throw new Error(
          `index ${k} runs shard ${JSON.stringify(args.shard)}, want ${k + 1}/${completions}`,
        );
      }
      if (args.id !== "auto") {
        throw new Error(`index ${k}: --id auto is missing (retries would duplicate)`);
      }
      if (!mounted.includes(args.out)) {
        throw new Error(`index ${k} writes to ${args.out}, which is not a mounted volume`);
      }
      covered.push(...runMatrix(args).map((s) => `${s.profile.name}/${s.arch}/${s.seed}`));
    }
    const unsharded = { ...parseBenchArgs((await npxArgs(argv, 0, stub)).slice(4)), shard: null };
    const want = runMatrix(unsharded).map((s) => `${s.profile.name}/${s.arch}/${s.seed}`).sort();
    if (JSON.stringify(covered.sort()) !== JSON.stringify(want)) {
      throw new Error(`the pods cover ${covered}, want each of ${want} once`);
    }
  } finally {
    await Deno.remove(stub, { recursive: true });
  }
});

function hasPyYaml(): boolean {
  try {
    return new Deno.Command("python3", {
      args: ["-c", "import yaml"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false; // no python3
  }
}
const pyyaml = hasPyYaml();

Deno.test({
  name: pyyaml
    ? "the YAML subset reader reads the manifest as PyYAML does"
    : "the YAML subset reader reads the manifest as PyYAML does (ignored: python3 with PyYAML is not installed)",
  ignore: !pyyaml,
  fn: async () => {
    const r = await new Deno.Command("python3", {
      args: ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"]
        .concat(manifestPath),
      stdout: "piped",
    }).output();
    const want = JSON.parse(new TextDecoder().decode(r.stdout));
    const got = parseYamlSubset(await Deno.readTextFile(manifestPath));
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(`subset reader:\n${JSON.stringify(got)}\nPyYAML:\n${JSON.stringify(want)}`);
    }
  },
});

Deno.test("the YAML subset reader refuses what it does not support, naming the line", () => {
  for (
    const [text, want] of [
      ["a: 1\nb: &x 2\n", /line 2: "&x 2" is outside/],
      ["a:\n\t- 1\n", /line 2: tabs/],
      ["a: 1\n---\nb: 2\n", /line 2: one document only/],
      ["a: |\n  text\n", /line 1: "\|" is outside/],
      ["a: 1\na: 2\n", /line 2: duplicate key "a"/],
    ] as const
  ) {
    try {
      parseYamlSubset(text);
    } catch (e) {
      if (want.test((e as Error).message)) continue;
      throw e;
    }
    throw new Error(`accepted ${JSON.stringify(text)}`);
  }
});
