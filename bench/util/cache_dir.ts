/**
 * Where every cache of the suite lives, by one rule: `<root>/<kind>`, the root being
 * `$RNNBENCH_CACHE` when set, else the repository's `.cache/` (found from this module, so
 * the working folder never matters). Kinds: `data` (encoded datasets), `native` (compiled C
 * libraries), `cuda` (compiled kernels), `peers` (the peers' `.npy` exports), and the like.
 *
 * @module
 */

/** The environment variable that moves every cache. */
export const CACHE_ENV = "RNNBENCH_CACHE";

/**
 * The folder of one kind of cache (not created here).
 * @param kind e.g. "data", "native", "cuda"
 * @returns `$RNNBENCH_CACHE/<kind>`, else `<repository>/.cache/<kind>`
 * @example
 * ```ts
 * import { cacheDir } from "./cache_dir.ts";
 * cacheDir("data"); // "/home/me/rnnbench/.cache/data"
 * ```
 */
export function cacheDir(kind: string): string {
  const env = Deno.env.get(CACHE_ENV);
  if (env) return `${env.replace(/\/+$/, "") || "/"}/${kind}`;
  const url = new URL(`../../.cache/${kind}`, import.meta.url);
  return url.protocol === "file:"
    ? decodeURIComponent(url.pathname)
    : `${Deno.cwd()}/.cache/${kind}`;
}
