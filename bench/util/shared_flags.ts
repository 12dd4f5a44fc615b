/**
 * The flags several entry points share, declared once: `--arch` (a comma-separated list of
 * architectures) and `--profile` (one profile by name). Their values are checked by the
 * parsers of `cli_kit.ts`.
 *
 * @module
 */
import { Option } from "commander";
import { type Arch, ARCHS, cellNames } from "../../models/cells.ts";
import { PROFILE_NAMES } from "../profiles.ts";
import { choice, nameList } from "./cli_kit.ts";

/**
 * `--arch <list>`: architectures, comma-separated, each once: any registered cell (checked
 * against the registry when the flag is parsed, so cells registered before parsing count).
 * @param byDefault the architectures without the flag, in their order @default ARCHS
 */
export function archsOption(byDefault: readonly Arch[] = ARCHS): Option {
  return new Option("--arch <list>", `comma-separated architectures (${cellNames().join(", ")})`)
    .argParser((v: string) => nameList("architecture", cellNames())(v))
    .default([...byDefault], byDefault.join(","));
}

/**
 * `--profile <name>`: one profile.
 * @param description what the profile is for
 * @param byDefault the profile without the flag @default "original"
 */
export function profileOption(description: string, byDefault = "original"): Option {
  return new Option("--profile <name>", `${description} (${PROFILE_NAMES.join(", ")})`)
    .argParser(choice("profile", PROFILE_NAMES)).default(byDefault);
}
