// One rule for every cache, whatever the working folder: checked in child processes, since
// the rule reads the environment.
const root = new URL("../../", import.meta.url).pathname;
const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);

/** The cache folders every module uses by default, as a child process started in `cwd` sees them. */
async function defaults(cwd: string, cache: string | null): Promise<Record<string, string>> {
  const code = `
import { defaultCacheDir } from ${url("../engines/native/compiler.ts")};
import { defaultCudaCacheDir } from ${url("../engines/cuda/compiler.ts")};
import { defaultPeersDir } from ${url("../peers/export_npy.ts")};
import { cacheDir } from ${url("./cache_dir.ts")};
console.log(JSON.stringify({ data: cacheDir("data"), native: defaultCacheDir(),
  cuda: defaultCudaCacheDir(), peers: defaultPeersDir() }));`;
  const env = Deno.env.toObject();
  delete env.RNNBENCH_CACHE;
  if (cache !== null) env.RNNBENCH_CACHE = cache;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${root}deno.json`, code],
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("every cache is <repository>/.cache/<kind> from any folder, or $RNNBENCH_CACHE/<kind>", async () => {
  const elsewhere = await Deno.makeTempDir();
  try {
    for (
      const [cache, base] of [[null, `${root}.cache`], ["/srv/rb-cache/", "/srv/rb-cache"]] as const
    ) {
      const got = await defaults(elsewhere, cache);
      for (const kind of ["data", "native", "cuda", "peers"]) {
        if (got[kind] !== `${base}/${kind}`) {
          throw new Error(`RNNBENCH_CACHE=${cache}: ${kind} is ${got[kind]}, want ${base}/${kind}`);
        }
      }
    }
  } finally {
    await Deno.remove(elsewhere);
  }
});
