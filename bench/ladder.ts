/**
 * The ladder of causes: the profiles from `original-labels` to `best`, in order, each rung
 * the previous rung's profile with exactly one field changed (a switch). Rung 0 is
 * `original-labels`, rung 1 `original` (correct labels), then come the switches of
 * `FIXED_SWITCHES` up to the rung that IS `fixed`, then those of `BEST_SWITCHES` up to the
 * rung that IS `best`. The rungs between named profiles are profiles too, named
 * `ladder-NN-<key>` (`ladder-02-lr`): `bench --profile ladder` runs every rung, and the report
 * shows what each switch buys per architecture (`reports/ladder.ts`).
 *
 * The switches (values, and the sweeps behind them) and the rungs' profiles are in
 * `profiles.ts` (`LADDER_SWITCHES`, `LADDER_PROFILES`), since the registry of profiles holds
 * the rungs; this module pairs each rung with its number and switch, and answers what the
 * command line and the report ask of the ladder. Light on purpose: it imports only
 * `profiles.ts`, so the report can import it.
 *
 * @example
 * ```ts
 * import { LADDER, rungsThrough } from "./ladder.ts";
 * LADDER[2]!.profile.name; // "ladder-02-lr"
 * rungsThrough("fixed").map((r) => r.profile.name); // original-labels … fixed
 * ```
 *
 * @module
 */
import {
  LADDER_PROFILES,
  LADDER_SWITCHES,
  NAMED_PROFILES,
  type Profile,
  type ProfileSwitch,
  type SwitchField,
} from "./profiles.ts";

/** One rung of the ladder. */
export interface Rung {
  /** Its place: 0 for `original-labels`, then one more per switch. */
  readonly index: number;
  /** The rung's profile (a named one, or `ladder-NN-<key>`). */
  readonly profile: Profile;
  /** What it changes from rung `index − 1`; null for rung 0. */
  readonly switch: ProfileSwitch | null;
}

/** The rungs in order, `original-labels` first and `best` last. */
export const LADDER: readonly Rung[] = LADDER_PROFILES.map((profile, index) => ({
  index,
  profile,
  switch: index === 0 ? null : LADDER_SWITCHES[index - 1]!,
}));

/** What `bench --profile` accepts for "every rung of the ladder, in order". */
export const LADDER_PROFILE = "ladder";

/** The rung whose profile is `name`, if it is on the ladder. */
export function rungOf(name: string): Rung | undefined {
  return LADDER.find((r) => r.profile.name === name);
}

/** The first rung whose switch changes `field` (e.g. the learning-rate rung), if any. */
export function rungSwitching(field: SwitchField): Rung | undefined {
  return LADDER.find((r) => r.switch?.field === field);
}

/**
 * The rungs from rung 0 up to and including the one named `name`.
 * @throws Error when no rung has that name
 */
export function rungsThrough(name: string): Rung[] {
  const last = rungOf(name);
  if (last === undefined) throw new Error(`Cannot climb to "${name}": it is not on the ladder`);
  return LADDER.slice(0, last.index + 1);
}

/**
 * Profile names with {@linkcode LADDER_PROFILE} replaced by every rung in order, and each
 * name kept once, where it first appears.
 * @example
 * ```ts
 * expandLadder(["original", "ladder"]); // original, original-labels, ladder-02-lr, …, best
 * ```
 */
export function expandLadder(names: readonly string[]): string[] {
  const out = names.flatMap((n) => n === LADDER_PROFILE ? LADDER.map((r) => r.profile.name) : [n]);
  return [...new Set(out)];
}

/**
 * The valid profile names for `--help`, without listing every rung: the named profiles and
 * the range of the others ("ladder-02-lr … ladder-18-epochs").
 * @param withLadder also name {@linkcode LADDER_PROFILE} (for flags that take a list)
 */
export function profileChoicesText(withLadder = false): string {
  const named: readonly string[] = NAMED_PROFILES;
  const rungs = LADDER.map((r) => r.profile.name).filter((n) => !named.includes(n));
  const range = rungs.length === 0
    ? ""
    : `; rungs of the ladder ${rungs[0]}${rungs.length > 1 ? ` … ${rungs.at(-1)}` : ""}`;
  const all = withLadder
    ? `; ${LADDER_PROFILE}: every rung in order, ${LADDER[0]!.profile.name} … ` +
      LADDER.at(-1)!.profile.name
    : "";
  return `${named.join(", ")}${range}${all}`;
}
