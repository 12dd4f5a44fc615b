/**
 * Checkpoints: after an epoch (every epoch, or once `--checkpoint-every` seconds have passed
 * since the run's last one), a run's parameters, Adam state and partial results are written
 * atomically, so `bench --resume` continues an interrupted invocation from the last
 * checkpointed epoch and ends with the same numbers as an uninterrupted run.
 *
 * File format, version 2 (little-endian): magic "RNNBCKPT" (8 bytes), version u32, header
 * length u32, header JSON (UTF-8, padded with spaces to a multiple of 4), then three float32
 * arrays of `paramCount` each: parameters, Adam m, Adam v; last, the SHA-256 (32 bytes) of
 * every byte before it. A file whose checksum does not match (torn, truncated, zeroed,
 * bit-flipped) is refused, never used. Regenerate: any `bench` run writes them under
 * `<out>/.state/`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { writeFileAtomic } from "./util/atomic.ts";
import type { EpochResult, TimeToAccuracy } from "./results/types.ts";

/** The magic bytes at the start of a checkpoint. */
export const CHECKPOINT_MAGIC = "RNNBCKPT";
/** The checkpoint format version this code reads and writes. */
export const CHECKPOINT_VERSION = 2;
/** Bytes of the trailing SHA-256. */
const CHECKSUM_BYTES = 32;

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** What a checkpoint's header holds besides the arrays. */
export interface CheckpointHeader {
  /** The run it belongs to. */
  runId: string;
  /** Must match the run's resolved config, or the checkpoint is refused. */
  configKey: string;
  /** Completed epochs (0 = only the evaluation before training). */
  epoch: number;
  /** Results of epochs 0..epoch. */
  epochs: EpochResult[];
  /** Time to accuracy, if already reached. */
  timeToAccuracy: TimeToAccuracy | null;
  /** Adam's step count. */
  step: number;
  /** Number of parameters. */
  paramCount: number;
}

/** A checkpoint: header and arrays. */
export interface Checkpoint {
  header: CheckpointHeader;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** Raised for a checkpoint that cannot be used; names the file and why. */
export class CheckpointError extends Error {
  constructor(path: string, why: string) {
    super(`Cannot read checkpoint "${path}": ${why}`);
  }
}

/** Serialises a checkpoint. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const n = c.header.paramCount;
  if (c.params.length !== n || c.m.length !== n || c.v.length !== n) {
    throw new RangeError(`Checkpoint arrays must all have ${n} elements`);
  }
  const head = new TextEncoder().encode(JSON.stringify(c.header));
  const pre = 8 + 4 + 4 + head.length;
  const pad = (4 - (pre % 4)) % 4;
  const out = new Uint8Array(pre + pad + 3 * 4 * n + CHECKSUM_BYTES);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, CHECKPOINT_VERSION, true);
  dv.setUint32(12, head.length + pad, true);
  out.set(head, 16);
  out.fill(0x20, 16 + head.length, pre + pad); // JSON-safe padding (spaces)
  let off = pre + pad;
  for (const a of [c.params, c.m, c.v]) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  out.set(sha256(out.subarray(0, off)), off);
  return out;
}

/**
 * Parses and validates a checkpoint.
 * @throws CheckpointError naming the file and what is wrong
 */
export function decodeCheckpoint(path: string, bytes: Uint8Array): Checkpoint {
  if (bytes.length < 16) throw new CheckpointError(path, `only ${bytes.length} bytes (truncated)`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== CHECKPOINT_MAGIC) throw new CheckpointError(path, "not an rnnbench checkpoint");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      path,
      `format version ${version}, this rnnbench reads ${CHECKPOINT_VERSION}`,
    );
  }
  const headLen = dv.getUint32(12, true);
  if (16 + headLen + CHECKSUM_BYTES > bytes.length) {
    throw new CheckpointError(path, "header runs past the end (truncated)");
  }
  const parseHeader = (): CheckpointHeader | null => {
    try {
      return JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headLen)));
    } catch {
      return null;
    }
  };
  const start = 16 + headLen;
  /** Why the length does not fit `header`'s parameter count, or null when it does (or it has none). */
  const lengthProblem = (header: CheckpointHeader | null): string | null => {
    const n = header?.paramCount;
    if (!Number.isInteger(n)) return null;
    const want = start + 12 * n! + CHECKSUM_BYTES;
    return bytes.length === want
      ? null
      : `expected ${want} bytes for ${n} parameters, found ${bytes.length} (truncated?)`;
  };
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  const sum = sha256(body);
  if (!sum.every((b, i) => b === bytes[body.length + i])) {
    const why = lengthProblem(parseHeader()) ??
      "its SHA-256 checksum does not match its content (the file is damaged)";
    throw new CheckpointError(path, why);
  }
  const header = parseHeader();
  if (header === null) throw new CheckpointError(path, "header is not JSON");
  const n = header?.paramCount;
  if (
    typeof header !== "object" || !Number.isInteger(n) || n < 0 ||
    typeof header.runId !== "string" || !Number.isInteger(header.epoch) ||
    !Array.isArray(header.epochs) || header.epochs.length !== header.epoch + 1 ||
    !Number.isInteger(header.step)
  ) {
    throw new CheckpointError(path, "header fields are missing or inconsistent");
  }
  const mismatch = lengthProblem(header);
  if (mismatch !== null) throw new CheckpointError(path, mismatch);
  const copy = (i: number) =>
    new Float32Array(bytes.slice(start + i * 4 * n, start + (i + 1) * 4 * n).buffer);
  const params = copy(0), m = copy(1), v = copy(2);
  for (const a of [params, m, v]) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]!)) throw new CheckpointError(path, `non-finite value at ${i}`);
    }
  }
  return { header, params, m, v };
}

/**
 * Writes a checkpoint atomically and durably.
 * @throws WriteError naming the file when it cannot be written (the previous one is intact)
 */
export async function writeCheckpoint(path: string, c: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(c), { what: "checkpoint" });
}

/** Reads a checkpoint, or null when there is none. @throws CheckpointError if unusable */
export async function readCheckpoint(path: string): Promise<Checkpoint | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new CheckpointError(path, (e as Error).message);
  }
  return decodeCheckpoint(path, bytes);
}
