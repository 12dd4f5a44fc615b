/**
 * Stable invocation ids (`bench --id NAME|auto`): the same command line names the same
 * invocation every time, so a cluster task that is requeued or submitted again finds the
 * state or the results of its earlier attempt instead of starting a new invocation beside
 * it (which `report` would then refuse as duplicate runs).
 *
 * With `--id NAME` the invocation id is NAME; with `--id auto` it is the profiles (shortened
 * when the list is long: `ladder` for the whole ladder) and a hash of every flag that changes
 * what is run or recorded (all but `--out`, `--shard`, `--resume`, `--id` and
 * `--checkpoint-every`), so different
 * sweeps into one folder get different ids. A shard appends `-shard{i}of{n}` to the id. Run
 * ids are built on the id WITHOUT the shard suffix, so the runs of the shards of `--id X`
 * carry exactly the run ids of the unsharded `--id X`.
 *
 * @module
 */
import type { BenchArgs } from "./cli.ts";
import { expandLadder, LADDER_PROFILE } from "./ladder.ts";
import { mostSeeds } from "./profiles.ts";

/** What `--id` accepts besides "auto": a file-name-safe word. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;

/** Flags that do not change what an invocation runs or records. */
const LOCATION_FLAGS = ["out", "resume", "id", "shard", "checkpointEvery"] as const;

/**
 * Flags added after states and ids were first saved, with their defaults: a flag at its
 * default counts as absent, as those states and ids have it.
 */
const LATER_FLAG_DEFAULTS: Readonly<Record<string, unknown>> = {
  reference: "auto",
  validationCarve: "random",
};

function comparable(args: BenchArgs): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...args };
  for (const k of LOCATION_FLAGS) delete rest[k];
  for (const [k, v] of Object.entries(LATER_FLAG_DEFAULTS)) if (rest[k] === v) delete rest[k];
  // No --seeds: each profile's own count. Where that is 1 for every run it is the old
  // default's 1, as states and ids from before profiles had counts have it.
  if (rest.seeds === null && mostSeeds(args.profiles, args.archs) === 1) rest.seeds = 1;
  return Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
}

/** The longest profile list an `--id auto` id spells out (the hash tells lists apart). */
const MAX_PROFILES_LABEL = 100;

/**
 * The profiles as an id spells them: joined by "+" when short; "ladder" for the whole ladder
 * (`--profile ladder`); else the first and a count, so ids stay inside file-name limits.
 */
function profilesLabel(profiles: readonly string[]): string {
  const joined = profiles.join("+");
  if (joined.length <= MAX_PROFILES_LABEL) return joined;
  if (JSON.stringify(profiles) === JSON.stringify(expandLadder([LADDER_PROFILE]))) {
    return LADDER_PROFILE;
  }
  return `${profiles[0]}+${profiles.length - 1}-more`;
}

/**
 * The stable id of an invocation and the prefix of its run ids.
 * @param args the command line; `args.id` must not be null
 * @returns `id` (with the shard suffix) and `runPrefix` (without)
 * @example
 * ```ts
 * import { parseBenchArgs } from "./cli.ts";
 * const { id } = await stableInvocationId(parseBenchArgs(["--id", "sweep1", "--shard", "2/3"]));
 * // id === "sweep1-shard2of3"
 * ```
 */
export async function stableInvocationId(
  args: BenchArgs,
): Promise<{ id: string; runPrefix: string }> {
  if (args.id === null) throw new Error("stableInvocationId needs --id");
  let base = args.id;
  if (base === "auto") {
    const bytes = new TextEncoder().encode(JSON.stringify(comparable(args)));
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const hex = [...hash.subarray(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("");
    base = `${profilesLabel(args.profiles)}-${hex}`;
  }
  const shard = args.shard ? `-shard${args.shard.index}of${args.shard.count}` : "";
  return { id: `${base}${shard}`, runPrefix: base };
}

/**
 * A flag's value as a difference shows it (an absent --seeds: the profiles' counts; a later
 * flag left out: its default).
 */
function shown(key: string, value: unknown): string {
  if (key === "seeds" && value === null) return "(the profiles' counts)";
  return JSON.stringify(value === undefined ? LATER_FLAG_DEFAULTS[key] : value);
}

/**
 * The flags in which two command lines of one invocation differ (location flags aside).
 * @returns one `--flag saved vs now` phrase per difference; empty when they agree
 */
export function flagDifferences(saved: BenchArgs, now: BenchArgs): string[] {
  const a = comparable(saved), b = comparable(now);
  const names: Record<string, string> = { profiles: "profile", archs: "arch" };
  const flag = (k: string) =>
    "--" + (names[k] ?? k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${flag(k)} ${shown(k, a[k])} vs ${shown(k, b[k])}`);
}
