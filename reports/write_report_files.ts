/**
 * Where the report goes. The output folder is checked before any work ({@linkcode
 * checkReportOutDir}: it must be, or be creatable as, a folder one can write to, whose
 * `charts/` is a folder and whose `report.md` and `report.html` are not); then
 * {@linkcode writeReportFiles} replaces `report.md`, `report.html` and the charts together
 * (`writeFilesAtomic`), so a failure — a full disk, a folder made read-only meanwhile — leaves
 * the previous report whole. Both fail with a {@linkcode ReportOutputError}: one line saying
 * what is wrong and what to do.
 *
 * @module
 */

import { join } from "node:path";
import { osReason, outputDirProblem } from "../bench/util/output_path.ts";
import { writeFilesAtomic, WriteFilesError } from "../bench/util/write_files_atomic.ts";

/** The report could not be written to its folder; nothing there was changed. */
export class ReportOutputError extends Error {
  /** @param message One line: what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "ReportOutputError";
  }
}

/** The folder of the charts, inside the output folder. */
export const CHARTS_DIR = "charts";

function refuse(outDir: string, problem: string): ReportOutputError {
  return new ReportOutputError(
    `Cannot write the report to "${outDir}": ${problem}; pass --out a folder you can write to ` +
      "(it is created when missing)",
  );
}

/** Whether `path` is a folder; null when nothing is there. */
async function isFolder(path: string): Promise<boolean | null> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new ReportOutputError(
      `Cannot write the report: "${path}" cannot be reached (${osReason(error)})`,
    );
  }
}

/**
 * Checks the output folder before any work.
 *
 * @param outDir The `--out` folder; it need not exist.
 * @param documents The names of the documents written into it (`report.md`, `report.html`).
 * @throws {ReportOutputError} When it is not, and cannot become, a folder the report can be
 *   written to.
 */
export async function checkReportOutDir(
  outDir: string,
  documents: readonly string[],
): Promise<void> {
  const problem = await outputDirProblem(outDir);
  if (problem !== null) throw refuse(outDir, problem);
  const charts = join(outDir, CHARTS_DIR);
  if (await isFolder(charts) === false) throw refuse(outDir, `"${charts}" is a file, not a folder`);
  for (const name of documents) {
    const path = join(outDir, name);
    if (await isFolder(path) === true) throw refuse(outDir, `"${path}" is a folder`);
  }
}

/**
 * Writes the report's files into `outDir`, all or none, creating `outDir` and its `charts/`.
 *
 * @param outDir The output folder, checked with {@linkcode checkReportOutDir}.
 * @param files Paths inside `outDir` with their bytes, in the order they are put in place: the
 *   charts before the documents that show them.
 * @throws {ReportOutputError} When any file cannot be written; the previous report is unchanged
 *   then, and folders created for it are removed again.
 */
export async function writeReportFiles(
  outDir: string,
  files: readonly { path: string; bytes: Uint8Array }[],
): Promise<void> {
  const folders = [outDir, join(outDir, CHARTS_DIR)];
  const created: string[] = [];
  try {
    for (const folder of folders) {
      if (await isFolder(folder) !== null) continue;
      await Deno.mkdir(folder, { recursive: true });
      created.unshift(folder);
    }
    await writeFilesAtomic(files);
  } catch (error) {
    for (const folder of created) await Deno.remove(folder).catch(() => {});
    if (error instanceof ReportOutputError) throw error;
    const what = error instanceof WriteFilesError
      ? `${error.reason} (writing "${error.path}")`
      : osReason(error);
    const cause = error instanceof WriteFilesError ? error.cause : error;
    const full = cause instanceof Error && "code" in cause && cause.code === "ENOSPC";
    throw new ReportOutputError(
      `Cannot write the report to "${outDir}": ${what}; the report there is unchanged: ` +
        `${full ? "free some space or " : ""}pass --out another folder`,
    );
  }
}
