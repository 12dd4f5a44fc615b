/**
 * Reading, writing and finding results files.
 *
 * Reads validate against {@linkcode ResultsFileSchema} and fail with a
 * {@linkcode ResultsFileError} that names the file and says why; writes validate first and
 * replace the file atomically, so a crash never leaves half a results file behind.
 *
 * @example
 * ```ts ignore
 * import { collectResultsFiles, readResultsFile } from "./io.ts";
 *
 * for (const path of await collectResultsFiles(["results/"])) {
 *   const results = await readResultsFile(path); // throws ResultsFileError naming the file
 *   console.log(path, results.machine.name, results.runs.length);
 * }
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { WriteError, writeFileAtomic } from "../util/atomic.ts";
import type { z } from "zod";
import { ResultsFileSchema, SCHEMA_VERSION } from "./schema.ts";
import type { ResultsFile } from "./types.ts";

/** How many validation issues an error message lists before "and N more". */
const MAX_ISSUES = 5;

/** A results file could not be read or written; `path` names it, `reason` says why. */
export class ResultsFileError extends Error {
  /** The file concerned, as given. */
  readonly path: string;
  /** Why, without the file name: e.g. `"schema version 3 is newer than 1: update rnnbench"`. */
  readonly reason: string;

  /**
   * Makes the error; its message is `Cannot <action> results file "<path>": <reason>`.
   *
   * @param action What could not be done: `"read"` or `"write"`.
   * @param path The file concerned.
   * @param reason Why.
   * @param options Standard error options (`cause`).
   */
  constructor(action: "read" | "write", path: string, reason: string, options?: ErrorOptions) {
    super(`Cannot ${action} results file "${path}": ${reason}`, options);
    this.name = "ResultsFileError";
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Formats the first few zod issues with their paths, e.g.
 * `runs[0].epochs[2].testAccuracy: Too big: expected number to be <=1`.
 *
 * @param issues Issues from a failed `safeParse`.
 * @returns One line listing at most five issues, then how many more there are.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, MAX_ISSUES).map((issue) => {
    const where = formatPath(issue.path);
    return where === "" ? issue.message : `${where}: ${issue.message}`;
  });
  const more = issues.length - shown.length;
  return shown.join("; ") + (more > 0 ? `; and ${more} more` : "");
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/**
 * Checks a parsed JSON value against the results schema.
 *
 * @param value Any parsed JSON value.
 * @returns The valid results file, or the reason it is not one (no file name).
 */
export function checkResults(
  value: unknown,
): { ok: true; data: ResultsFile } | { ok: false; reason: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, reason: "not an rnnbench results file: the top level is not an object" };
  }
  if (!("schemaVersion" in value)) {
    return { ok: false, reason: "not an rnnbench results file: it has no schemaVersion" };
  }
  const version = value.schemaVersion;
  if (typeof version === "number" && Number.isInteger(version) && version > SCHEMA_VERSION) {
    return {
      ok: false,
      reason: `schema version ${version} is newer than ${SCHEMA_VERSION}: update rnnbench`,
    };
  }
  if (version !== SCHEMA_VERSION) {
    return {
      ok: false,
      reason: `unknown schema version ${JSON.stringify(version)}: this rnnbench reads version ` +
        `${SCHEMA_VERSION}`,
    };
  }
  const parsed = ResultsFileSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `does not match schema version ${SCHEMA_VERSION}: ${
        formatIssues(parsed.error.issues)
      }`,
    };
  }
  return { ok: true, data: parsed.data };
}

/**
 * Reads and validates one results file.
 *
 * @param path The file.
 * @returns Its validated contents.
 * @throws {ResultsFileError} When the file cannot be read, is not JSON, has an unknown or
 *   newer schema version, or does not validate; the message names the file and says why.
 *
 * @example
 * ```ts ignore
 * const results = await readResultsFile("results/2025-01-01-ref.json");
 * console.log(results.machine.name, results.runs.length);
 * ```
 */
export async function readResultsFile(path: string): Promise<ResultsFile> {
  let textContent: string;
  try {
    textContent = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : errorMessage(error);
    throw new ResultsFileError("read", path, reason, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(textContent);
  } catch (error) {
    throw new ResultsFileError("read", path, `not JSON: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const checked = checkResults(value);
  if (!checked.ok) throw new ResultsFileError("read", path, checked.reason);
  return checked.data;
}

/**
 * Validates a results file and writes it atomically: to a temporary file in the same
 * directory, flushed to disk, then renamed over `path`.
 *
 * @param path Where to write; the directory must exist.
 * @param data The results; validated before anything is written.
 * @throws {ResultsFileError} When `data` does not validate or the file cannot be written.
 *
 * @example
 * ```ts ignore
 * await writeResultsFile("results/run.json", results);
 * ```
 */
export async function writeResultsFile(path: string, data: ResultsFile): Promise<void> {
  const checked = checkResults(data);
  if (!checked.ok) throw new ResultsFileError("write", path, checked.reason);
  const bytes = new TextEncoder().encode(JSON.stringify(checked.data, null, 2) + "\n");
  try {
    await writeFileAtomic(path, bytes);
  } catch (error) {
    const reason = error instanceof WriteError ? error.reason : errorMessage(error);
    throw new ResultsFileError("write", path, reason, { cause: error });
  }
}

/**
 * Expands paths into results files: a directory gives its `*.json` files (not recursive,
 * hidden files skipped), sorted by name; a file is kept as given. Order of the arguments is
 * kept and duplicates are dropped.
 *
 * @param pathsOrDirs Files and directories.
 * @returns The files.
 * @throws {Error} When a path does not exist ("Cannot read results: \"x\" does not exist").
 *
 * @example
 * ```ts ignore
 * const files = await collectResultsFiles(["results/", "other/run.json"]);
 * ```
 */
export async function collectResultsFiles(pathsOrDirs: string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string) => {
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  for (const path of pathsOrDirs) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      const why = error instanceof Deno.errors.NotFound ? "does not exist" : errorMessage(error);
      throw new Error(`Cannot read results: "${path}" ${why}`, { cause: error });
    }
    if (!info.isDirectory) {
      add(path);
      continue;
    }
    const names: string[] = [];
    for await (const entry of Deno.readDir(path)) {
      if (entry.isFile && entry.name.endsWith(".json") && !entry.name.startsWith(".")) {
        names.push(entry.name);
      }
    }
    names.sort();
    for (const name of names) add(join(path, name));
  }
  return out;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
