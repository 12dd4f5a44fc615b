/**
 * The suite's own JSON outputs that are not results files, which `report` skips, naming them,
 * when it finds them among its inputs (in a folder it reads, or named by a shell glob):
 *
 * - the peers sidecar `<id>.peers.json` that `bench --peers torch` writes beside the results
 *   file (`bench/peers/sidecar.ts`);
 * - the summary `gpu-check-<time>.json` that `gpu-check` writes into its `--out`, `results/`
 *   by default (`bench/tools/gpu_check.ts`);
 * - the file of `infer --json FILE`, wherever the user put it (`bench/infer/infer_json.ts`).
 *
 * Only a file that is not a results file is asked about: one with a `schemaVersion` is always
 * read (and refused when bad) as a results file. The sidecar and the summary are known by
 * their names, so that even a damaged one is skipped; the infer file by its content.
 *
 * @module
 */

import { basename } from "node:path";
import { isInferJson } from "../bench/infer/infer_json.ts";
import { isPeersSidecar, PEERS_SIDECAR_SUFFIX } from "../bench/peers/sidecar.ts";

/** How `gpu-check` names its summary (see `bench/tools/gpu_check.ts`). */
const GPU_CHECK_SUMMARY = /^gpu-check-[0-9TZ]+\.json$/;

/** A file skipped because it is another output of the suite. */
export interface SkippedFile {
  /** The file, as found. */
  readonly path: string;
  /** What it is, e.g. "the peers sidecar of `bench --peers`". */
  readonly kind: string;
}

/**
 * What other output of the suite a file that is not a results file is.
 *
 * @param path The file, which failed to read as a results file.
 * @returns What it is, or null when it is none of the suite's outputs (then it is a bad
 *   results file, or a stranger).
 */
export async function suiteOutputKind(path: string): Promise<string | null> {
  let value: unknown = undefined;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch { /* damaged, or not a file: only its name can tell */ }
  if (typeof value === "object" && value !== null && "schemaVersion" in value) return null;
  const name = basename(path);
  if (name.endsWith(PEERS_SIDECAR_SUFFIX) || isPeersSidecar(value)) {
    return "the peers sidecar of `bench --peers`";
  }
  if (GPU_CHECK_SUMMARY.test(name)) return "the summary of `gpu-check`";
  if (isInferJson(value)) return "the output of `infer --json`";
  return null;
}

/**
 * Lists skipped files for a sentence, e.g. `"a.peers.json", the peers sidecar of …`.
 * @param skipped The files.
 * @returns Each file with what it is, separated by semicolons.
 */
export function describeSkipped(skipped: readonly SkippedFile[]): string {
  return skipped.map((s) => `"${s.path}", ${s.kind}`).join("; ");
}
