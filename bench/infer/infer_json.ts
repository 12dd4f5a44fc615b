/**
 * The file `infer --json FILE` writes: every result with the machine and the command line. It
 * holds no training runs, so `report` recognises it (by its shape) and skips it when it sits
 * among results files. It is replaced atomically: a failed write (a full disk) leaves the
 * previous file as it was.
 *
 * @module
 */
import type { MachineInfo } from "../util/machine.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { osReason } from "../util/output_path.ts";
import type { InferenceResult } from "./benchmark.ts";

/** One model's results. */
export interface InferModelResults {
  readonly path: string;
  /** The sequence length fed (null never reaches here: the benchmark refuses it). */
  readonly seqLen: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly inference: readonly InferenceResult[];
}

/** What the file holds. */
export interface InferJson {
  /** When it was written (ISO 8601). */
  readonly date: string;
  /** The command line, e.g. `deno task infer m.onnx --json x.json`. */
  readonly command: string;
  readonly machine: MachineInfo;
  readonly models: readonly InferModelResults[];
}

/**
 * Whether a parsed JSON value has the shape of an `infer --json` file.
 * @param value Any parsed JSON.
 */
export function isInferJson(value: unknown): value is InferJson {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.date === "string" && typeof v.command === "string" &&
    v.command.includes("infer") && typeof v.machine === "object" && Array.isArray(v.models);
}

/**
 * Writes the file atomically; its folder must exist (check it first with `outputFileProblem`).
 * @param path Where.
 * @param value What.
 * @throws {Error} One line naming the file and why.
 */
export async function writeInferJson(path: string, value: InferJson): Promise<void> {
  try {
    await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n"));
  } catch (error) {
    throw new Error(
      `Cannot write --json "${path}": ${osReason(error)}; the results are in the table above`,
      { cause: error },
    );
  }
}
