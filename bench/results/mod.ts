/**
 * Results files of rnnbench: the versioned schema of what `deno task bench` measured, and
 * validated, atomic reading and writing.
 *
 * @example
 * ```ts ignore
 * import { collectResultsFiles, readResultsFile } from "./mod.ts";
 *
 * for (const path of await collectResultsFiles(["results/"])) {
 *   const results = await readResultsFile(path); // throws ResultsFileError naming the file
 *   console.log(path, results.machine.name, results.runs.length);
 * }
 * ```
 *
 * @module
 */

export * from "./schema.ts";
export * from "./io.ts";
