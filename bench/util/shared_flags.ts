/**
 * The flags several entry points share, declared once: `--arch` (a comma-separated list of
 * architectures), `--profile` (one profile by name) and `--cell` (cell files). Their values
 * are checked by the parsers of `cli_kit.ts`; `--cell` files are loaded BEFORE parsing (see
 * {@linkcode cellFlagPaths}), so that `--arch` accepts their cells.
 *
 * @module
 */
import { Option } from "commander";
import { type Arch, ARCHS, cellNames } from "../../models/cells.ts";
import { PROFILE_NAMES } from "../profiles.ts";
import { profileChoicesText } from "../ladder.ts";
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
  return new Option("--profile <name>", `${description} (${profileChoicesText()})`)
    .argParser(choice("profile", PROFILE_NAMES)).default(byDefault);
}

/**
 * `--cell <files>`: cell files, comma-separated or the flag repeated. Declared so that `--help`
 * lists it and parsing accepts it; the files are loaded before parsing, from
 * {@linkcode cellFlagPaths} (with `loadCellFiles` of `bench/cell_file.ts`).
 */
export function cellOption(): Option {
  return new Option(
    "--cell <files>",
    "load cells from these files (comma-separated; each exported cell joins the " +
      "architectures; without --arch, their cells run)",
  ).argParser((v: string, previous: string[]) => [...previous, ...splitPaths(v)])
    .default([], "none");
}

/**
 * The `--cell` files of a command line, read before it is parsed (`--cell a.ts,b.ts`,
 * `--cell=a.ts`, repeated), so that their cells can be registered before `--arch` is checked.
 * @param argv the arguments after the script name
 * @returns the paths as given, in order
 */
export function cellFlagPaths(argv: readonly string[]): string[] {
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a === "--cell" && i + 1 < argv.length) paths.push(...splitPaths(argv[++i]!));
    else if (a.startsWith("--cell=")) paths.push(...splitPaths(a.slice("--cell=".length)));
  }
  return paths;
}

function splitPaths(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
}
