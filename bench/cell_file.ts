/**
 * Cells from files (`bench --cell FILE`): {@linkcode loadCellFiles} imports each module (by
 * the file URL of its absolute path) and registers every exported object shaped like a cell
 * (a `CellSpec`: `name`, `states`, `weights`, `step`) in the cell registry, so that it joins
 * the architectures like a built-in. A plain exported object literal needs no import.
 *
 * Everything is checked before anything is trained or written, and a bad file is ONE
 * {@linkcode CellFileError} line naming the file, the cell where there is one, and the
 * problem: the file is missing or cannot be imported, exports no cell, names a cell like a
 * built-in or another loaded cell or not as an identifier, or holds a cell that cannot be
 * traced (`trace()`'s own messages, from `models/ir.ts`).
 *
 * A resumed invocation finds its files again with {@linkcode reloadCellFiles}, which refuses
 * a file that is gone or whose SHA-256 changed.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type AnyCellSpec, ARCHS, cellNames, cellSpec, registerCell } from "../models/cells.ts";
import { cellFlagPaths } from "./util/shared_flags.ts";

/** A cell file as loaded: what results and the resume state record of it. */
export interface CellFile {
  /** Its absolute path. */
  readonly path: string;
  /** SHA-256 of its bytes when loaded, 64 lowercase hex digits. */
  readonly sha256: string;
  /** The names of the cells it exports, in export order. */
  readonly names: readonly string[];
}

/** A cell file that cannot be used: the message is one line naming the file and the problem. */
export class CellFileError extends Error {
  override name = "CellFileError";
}

/** Which file each loaded cell came from, by name (to name both files of a clash). */
const LOADED = new Map<string, { path: string; spec: AnyCellSpec }>();

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Loads cell files and registers their cells, in order; a path given twice is loaded once.
 * @param paths the files, absolute or relative to the working directory
 * @returns each file with its hash and the names of its cells
 * @throws CellFileError at the first bad file or cell
 */
export async function loadCellFiles(paths: readonly string[]): Promise<CellFile[]> {
  const files: CellFile[] = [];
  for (const path of new Set(paths.map((p) => resolve(p)))) files.push(await loadCellFile(path));
  return files;
}

/**
 * Loads the cell files of an invocation again (`bench --resume`), checking each is unchanged.
 * @param saved the files as recorded when the invocation started
 * @param what what needs them, for the message, e.g. `Cannot resume "20260101T…"`
 * @returns the files, loaded
 * @throws CellFileError naming a file that is gone, changed, or no longer defines its cells
 */
export async function reloadCellFiles(
  saved: readonly CellFile[],
  what: string,
): Promise<CellFile[]> {
  const files: CellFile[] = [];
  for (const s of saved) {
    const bytes = await readBytes(s.path, what);
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== s.sha256) {
      throw new CellFileError(
        `${what}: cell file "${s.path}" has changed since (SHA-256 ${s.sha256.slice(0, 12)}… ` +
          `then, ${sha256.slice(0, 12)}… now); restore it, or start a new invocation`,
      );
    }
    const f = await loadCellFile(s.path);
    const lost = s.names.filter((n) => !f.names.includes(n));
    if (lost.length > 0) {
      throw new CellFileError(
        `${what}: cell file "${s.path}" no longer defines ${lost.map((n) => `"${n}"`).join(", ")}`,
      );
    }
    files.push(f);
  }
  return files;
}

/** Loads one file (an absolute path); see {@linkcode loadCellFiles}. */
async function loadCellFile(path: string): Promise<CellFile> {
  const fileError = (why: string) => new CellFileError(`Cannot load cell file "${path}": ${why}`);
  const bytes = await readBytes(path, `Cannot load cell file "${path}"`);
  const sha256 = await sha256Hex(bytes);
  let module: Record<string, unknown>;
  try {
    // The hash in the URL makes a changed file a new module within one process.
    module = await import(`${pathToFileURL(path).href}?sha256=${sha256}`);
  } catch (e) {
    throw fileError(`importing it failed: ${importProblem(e)}`);
  }
  const specs = [...new Set(Object.values(module).filter(looksLikeCell))];
  if (specs.length === 0) {
    throw fileError(
      `it exports no cell (a cell is an exported object with name, states, weights and step; ` +
        `it exports ${Object.keys(module).map((k) => `"${k}"`).join(", ") || "nothing"})`,
    );
  }
  for (const spec of specs) checkName(spec, path, specs);
  for (const spec of specs) {
    const name = spec.name as string;
    try {
      registerCell(spec);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // trace() and registerCell() start with `Cannot trace/register cell "<name>": `.
      const why = message.match(/^Cannot (?:trace|register) cell "[^"]*": (.*)$/s)?.[1];
      throw new CellFileError(
        `Cannot load cell "${name}" from "${path}": ${firstLine(why ?? message)}`,
      );
    }
    LOADED.set(name, { path, spec });
  }
  return { path, sha256, names: specs.map((s) => s.name as string) };
}

/** An export that is meant as a cell: an object with a `step` function, or states and weights. */
function looksLikeCell(v: unknown): v is AnyCellSpec {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return typeof o.step === "function" || ("states" in o && "weights" in o);
}

/** Refuses a name that is not an identifier or that another cell has. */
function checkName(spec: AnyCellSpec, path: string, siblings: readonly AnyCellSpec[]): void {
  const name: unknown = spec.name;
  const shown = typeof name === "string" ? `"${name}"` : String(name);
  const fail = (why: string): never => {
    throw new CellFileError(`Cannot load cell ${shown} from "${path}": ${why}`);
  };
  if (typeof name !== "string" || !IDENTIFIER.test(name) || name === "default") {
    fail(
      `its name must be an identifier (letters, digits, _; not starting with a digit) other ` +
        `than "default"`,
    );
  }
  const n = name as string;
  if (ARCHS.includes(n)) fail(`a built-in cell has that name; give it another`);
  if (siblings.some((s) => s !== spec && s.name === n)) {
    fail(`the file exports two different cells of that name`);
  }
  if (!cellNames().includes(n) || cellSpec(n) === spec) return;
  const other = LOADED.get(n);
  fail(
    other === undefined || other.spec !== cellSpec(n)
      ? `a cell registered in code has that name; give it another`
      : `the cell of "${other.path}" has that name; give one of them another`,
  );
}

/** The bytes of a file; a missing file or a folder is a one-line CellFileError. */
async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "the file does not exist"
      : e instanceof Deno.errors.IsADirectory
      ? "it is a folder, not a file"
      : firstLine(e instanceof Error ? e.message : String(e));
    throw new CellFileError(
      what.includes(`"${path}"`) ? `${what}: ${why}` : `${what}: cell file "${path}": ${why}`,
    );
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What went wrong importing a module, on one line: the error's first line, and the place
 * (line and column) that Deno names on a later line, without colour codes or the source
 * excerpt.
 */
function importProblem(e: unknown): string {
  // deno-lint-ignore no-control-regex
  const text = (e instanceof Error ? e.message : String(e)).replace(/\x1b\[[0-9;]*m/g, "");
  const at = text.match(/\n\s*at (?:file:\/\/\S*?)(?:\?[^:\s]*)?:(\d+):(\d+)\s*$/);
  const name = e instanceof Error && e.name !== "Error" && !/^\w*Error:/.test(text)
    ? `${e.name}: `
    : "";
  return `${name}${firstLine(text)}${at ? ` (line ${at[1]}, column ${at[2]})` : ""}`;
}

/** The first line of a message, trimmed. */
function firstLine(s: string): string {
  return s.split("\n", 1)[0]!.trim();
}

/**
 * For an entry point: loads the `--cell` files of its command line before the command line
 * is parsed; a bad file prints `<program>: <message>` on one line and exits 1.
 * @param program the name the line starts with, e.g. `"bench"`
 * @param argv the arguments after the script name
 * @returns the loaded files (none without `--cell`)
 */
export async function loadCellFlagOrExit(
  program: string,
  argv: readonly string[],
): Promise<CellFile[]> {
  try {
    return await loadCellFiles(cellFlagPaths(argv));
  } catch (e) {
    if (!(e instanceof CellFileError)) throw e;
    console.error(`${program}: ${e.message}`);
    Deno.exit(1);
  }
}
