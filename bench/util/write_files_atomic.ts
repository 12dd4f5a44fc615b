/**
 * Replacing a set of files together, such as a report's Markdown, HTML and charts. Every file
 * is first written in full beside its target under a hidden staging name (through
 * {@linkcode writeFileAtomic}, so flushed to disk); only when all are staged are they renamed
 * over their targets, in the order given. A failure while writing — a full disk, a read-only
 * folder — leaves every previous file as it was and no staging file behind. Renames write no
 * data, so only a crash between them can leave some targets new and others old.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { WriteError, writeFileAtomic } from "./atomic.ts";
import { osReason } from "./output_path.ts";

/** One file of {@linkcode writeFilesAtomic}. */
export interface FileToWrite {
  /** The target; its folder must exist. */
  readonly path: string;
  /** The complete new content. */
  readonly bytes: Uint8Array;
}

/** A file of a set could not be written; `path` names its target. */
export class WriteFilesError extends Error {
  /** The target that could not be written. */
  readonly path: string;
  /** The operating system's reason, e.g. `"No space left on device"`. */
  readonly reason: string;

  /**
   * @param path The target.
   * @param cause What was thrown.
   */
  constructor(path: string, cause: unknown) {
    // The staged file's own WriteError names the temporary file: report the target instead.
    const reason = osReason(cause instanceof WriteError ? cause.cause : cause);
    super(`Cannot write "${path}": ${reason}`, { cause });
    this.name = "WriteFilesError";
    this.path = path;
    this.reason = reason;
  }
}

/**
 * Writes `files` so that either all replace their targets or none does.
 *
 * @param files The files, in the order they are renamed into place (put a file that refers to
 *   others last).
 * @throws {WriteFilesError} Naming the first file that could not be written or renamed; the
 *   targets not yet renamed keep their previous content.
 *
 * @example
 * ```ts ignore
 * const text = (s: string) => new TextEncoder().encode(s);
 * await writeFilesAtomic([
 *   { path: "out/chart.png", bytes: png },
 *   { path: "out/report.md", bytes: text("![chart](chart.png)\n") },
 * ]);
 * ```
 */
export async function writeFilesAtomic(files: readonly FileToWrite[]): Promise<void> {
  const staged: { temp: string; path: string }[] = [];
  const discard = () => Promise.all(staged.map((s) => Deno.remove(s.temp).catch(() => {})));
  for (const file of files) {
    const tag = crypto.randomUUID().slice(0, 8);
    const temp = join(dirname(file.path), `.${basename(file.path)}.${tag}.staged`);
    try {
      await writeFileAtomic(temp, file.bytes);
    } catch (error) {
      await discard();
      throw new WriteFilesError(file.path, error);
    }
    staged.push({ temp, path: file.path });
  }
  while (staged.length > 0) {
    const s = staged[0]!;
    try {
      await Deno.rename(s.temp, s.path);
    } catch (error) {
      await discard();
      throw new WriteFilesError(s.path, error);
    }
    staged.shift();
  }
}
