/**
 * What every entry point's command line shares, so that each declares only its flags:
 *
 * - {@linkcode command} starts a commander program; {@linkcode optional} declares a flag that
 *   is null unless given, with what happens then shown in `--help` as its default;
 * - {@linkcode parseCommandLine} parses: `--help` prints the help (every flag with its
 *   default) to stdout and exits 0, and a bad command line becomes a {@linkcode UsageError}
 *   whose message is one line, what is wrong and the valid values (an unknown flag: the valid
 *   flags); {@linkcode exitOnUsageError} prints that line and exits with
 *   {@linkcode USAGE_EXIT_CODE}, and {@linkcode parseOrExit} does both, for scripts;
 * - the value parsers: integers in a range, positive numbers, fractions, comma-separated lists
 *   of integers or of names, one name of a set, a pattern, a repeatable flag. Each throws
 *   commander's `InvalidArgumentError` with a message that names the value and its valid range.
 *
 * @example
 * ```ts
 * import { command, integer, parseOrExit } from "./cli_kit.ts";
 *
 * const o = parseOrExit(
 *   command("tool", "Times a thing.").option("--steps <n>", "timed steps", integer("--steps", 1), 5),
 *   ["--steps", "3"],
 * ).opts<{ steps: number }>();
 * console.log(o.steps); // 3
 * ```
 *
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";

/** Exit status of a bad command line (what commander itself uses). */
export const USAGE_EXIT_CODE = 1;

/** A bad command line. The message is one line: what is wrong and the valid values. */
export class UsageError extends Error {
  override name = "UsageError";
}

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

/** The one-line message of a commander error, naming the valid flags after an unknown one. */
function oneLine(cmd: Command, e: CommanderError): string {
  let message = e.message.replace(/^error: /, "").replace(/\s*\n\s*/g, " ").trim();
  if (e.code === "commander.unknownOption") {
    const flags = cmd.options.map((o) => o.long ?? o.short).filter((f) => f !== undefined);
    message += `: valid flags are ${[...flags, "--help"].join(", ")}`;
  }
  return message;
}

/**
 * Parses `argv` with `cmd`. `--help` prints the help to stdout and exits 0.
 * @param cmd the program; its output and exit handling are taken over here
 * @param argv the arguments after the script name
 * @returns `cmd`, parsed: read `cmd.opts()` and `cmd.processedArgs`
 * @throws UsageError with a one-line message on a bad command line
 */
export function parseCommandLine(cmd: Command, argv: readonly string[]): Command {
  cmd.exitOverride()
    .showSuggestionAfterError(false)
    .configureOutput({
      writeOut: (s) => writeAll(Deno.stdout, s),
      writeErr: (s) => writeAll(Deno.stderr, s),
      outputError: () => {}, // reported as a UsageError instead
    });
  try {
    return cmd.parse([...argv], { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.exitCode === 0) Deno.exit(0); // --help, after commander printed it
    throw new UsageError(oneLine(cmd, e));
  }
}

/**
 * Runs `parse`; on a {@linkcode UsageError} prints `<program>: <message> (see --help)` on one
 * line to stderr and exits with {@linkcode USAGE_EXIT_CODE}. Other errors pass through.
 * @param program the name the line starts with
 * @param parse reads the command line
 * @returns what `parse` returns
 */
export function exitOnUsageError<T>(program: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${program}: ${e.message} (see --help)`);
    Deno.exit(USAGE_EXIT_CODE);
  }
}

/**
 * {@linkcode parseCommandLine} for a script: a bad command line prints one line and exits.
 * @param cmd the program (its name starts the error line)
 * @param argv the arguments after the script name
 * @returns `cmd`, parsed
 */
export function parseOrExit(cmd: Command, argv: readonly string[]): Command {
  return exitOnUsageError(cmd.name(), () => parseCommandLine(cmd, argv));
}

/**
 * A program with the help conventions of every entry point.
 * @param name the name its usage line and error lines start with
 * @param description what it does, for `--help`
 */
export function command(name: string, description: string): Command {
  return new Command(name).description(description).helpOption("-h, --help", "show this help");
}

/**
 * A flag that is null unless given; `--help` shows `shown` as its default.
 * @param flags commander's flags, e.g. `"--threads <n>"`
 * @param description what it means
 * @param shown what happens without it, e.g. `"all cores"`
 * @param parse its value's parser @default the value as given
 */
export function optional(
  flags: string,
  description: string,
  shown: string,
  parse?: (v: string) => unknown,
): Option {
  const option = new Option(flags, description).default(null, shown);
  return parse === undefined ? option : option.argParser(parse);
}

/**
 * A parser of integers in `[min, max]`.
 * @param what the value's name in the message, e.g. `"--epochs"`
 * @param min the smallest valid value
 * @param max the largest valid value @default Infinity
 */
export function integer(what: string, min: number, max = Infinity): (v: string) => number {
  const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be an integer ${range}, got "${v}".`);
    }
    return n;
  };
}

/**
 * A parser of numbers in `(0, max]`.
 * @param what the value's name in the message
 * @param max the largest valid value @default Infinity
 */
export function positiveNumber(what: string, max = Infinity): (v: string) => number {
  const range = max === Infinity ? "> 0" : `in (0, ${max}]`;
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n <= 0 || n > max) {
      throw new InvalidArgumentError(`${what} must be a number ${range}, got "${v}".`);
    }
    return n;
  };
}

/**
 * A parser of numbers in `[0, 1)`.
 * @param what the value's name in the message
 * @param max the largest valid value (inclusive) @default below 1
 */
export function fraction(what: string, max?: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    const bad = max === undefined ? n >= 1 : n > max;
    if (v.trim() === "" || !Number.isFinite(n) || n < 0 || bad) {
      const range = max === undefined ? "[0, 1)" : `[0, ${max}]`;
      throw new InvalidArgumentError(`${what} must be a number in ${range}, got "${v}".`);
    }
    return n;
  };
}

/**
 * A parser of comma-separated integers ≥ `min`, e.g. `1,64,1000`.
 * @param what each value's name in the message, e.g. `"every batch size"`
 * @param options `min` (default 1); `unique`: drop repeats (default false)
 */
export function intList(
  what: string,
  { min = 1, max = Infinity, unique = false }: { min?: number; max?: number; unique?: boolean } =
    {},
): (v: string) => number[] {
  const parse = integer(what, min, max);
  return (v) => {
    const values = v.split(",").map((s) => parse(s.trim()));
    return unique ? [...new Set(values)] : values;
  };
}

/**
 * A parser of one of `valid`, matched without regard to case.
 * @param kind what a value is, for the message, e.g. `"profile"`
 * @param valid the valid values
 */
export function choice<T extends string>(kind: string, valid: readonly T[]): (v: string) => T {
  return (v) => {
    const found = valid.find((x) => x.toLowerCase() === v.trim().toLowerCase());
    if (found === undefined) {
      throw new InvalidArgumentError(
        `Unknown ${kind} "${v.trim()}": valid values are ${valid.join(", ")}.`,
      );
    }
    return found;
  };
}

/**
 * A parser of a comma-separated list of `valid` values, without repeats, in the given order.
 * @param kind what a value is, for the message, e.g. `"architecture"`
 * @param valid the valid values
 * @param options `allowEmpty`: an empty list is valid (default false)
 */
export function nameList<T extends string>(
  kind: string,
  valid: readonly T[],
  { allowEmpty = false }: { allowEmpty?: boolean } = {},
): (v: string) => T[] {
  const parse = choice(kind, valid);
  return (v) => {
    const parts = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (parts.length === 0 && !allowEmpty) {
      throw new InvalidArgumentError(
        `Give at least one ${kind}: valid values are ${valid.join(", ")}.`,
      );
    }
    return [...new Set(parts.map(parse))];
  };
}

/**
 * A parser that accepts a value matching `pattern` as it is.
 * @param what the value's name in the message, e.g. `"--sm"`
 * @param pattern what a valid value matches
 * @param must what the message says a valid value does, e.g. `"look like sm_90"`
 */
export function matching(what: string, pattern: RegExp, must: string): (v: string) => string {
  return (v) => {
    if (!pattern.test(v)) throw new InvalidArgumentError(`${what} must ${must}, got "${v}".`);
    return v;
  };
}

/**
 * The parser of a repeatable flag: each use adds its value (give the flag `.default([])`).
 * @param v this use's value
 * @param previous the values of the earlier uses
 * @returns all the values so far
 */
export function repeated(v: string, previous: readonly string[]): string[] {
  return [...previous, v];
}
