/**
 * The on-disk cache of an encoded dataset (private to `dataset.ts`).
 *
 * File layout, version 1 (all integers little-endian; files written on a big-endian host
 * record that and are rejected elsewhere):
 *
 * ```
 * offset 0   8 bytes   magic "RNNBDATA"
 * offset 8   u32       format version (1)
 * offset 12  u32       H: byte length of the header
 * offset 16  H bytes   header: UTF-8 JSON, {@link CacheHeader}
 * then       0–3 zero bytes, so the payload starts at a multiple of 4
 * payload    train ids  i32 [nTrain, maxLen] row-major
 *            test ids   i32 [nTest, maxLen]
 *            train labels u8 [nTrain]
 *            test labels  u8 [nTest]
 * ```
 *
 * The header carries the SHA-256 of the payload, so a truncated, torn or bit-flipped file
 * is detected, never used.
 *
 * @module
 */

import { writeFileAtomic } from "../util/atomic.ts";
import { createHash } from "node:crypto";
import type { Padding } from "./encode.ts";

/** The first 8 bytes of every cache file. */
export const CACHE_MAGIC = "RNNBDATA";
/** The cache format this code reads and writes. */
export const CACHE_VERSION = 1;

const PREFIX_BYTES = 16;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The JSON header of a cache file. */
export interface CacheHeader {
  datasetHash: string;
  vocabSize: number;
  maxLen: number;
  padding: Padding;
  nTrain: number;
  nTest: number;
  littleEndian: boolean;
  /** Hex SHA-256 of the payload bytes. */
  payloadSha256: string;
}

/** The arrays a cache file holds. */
export interface CachePayload {
  trainIds: Int32Array;
  testIds: Int32Array;
  trainLabels: Uint8Array;
  testLabels: Uint8Array;
}

/** What {@link readCache} found. */
export type CacheRead =
  | { kind: "missing" }
  | { kind: "invalid"; why: string }
  | { kind: "ok"; header: CacheHeader; payload: CachePayload };

/** What the caller expects the file to hold. */
export interface CacheExpectation {
  datasetHash: string;
  maxLen: number;
  padding: Padding;
}

function bytesOf(a: Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function payloadParts(p: CachePayload): Uint8Array[] {
  return [bytesOf(p.trainIds), bytesOf(p.testIds), bytesOf(p.trainLabels), bytesOf(p.testLabels)];
}

function sha256Hex(parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const part of parts) h.update(part);
  return h.digest("hex");
}

/**
 * Write a cache file atomically: a temporary file in the same folder, then a rename.
 * @param path final path of the file
 * @param header everything but `littleEndian` and `payloadSha256`, which are filled in
 * @param payload the arrays
 */
export async function writeCache(
  path: string,
  header: Omit<CacheHeader, "littleEndian" | "payloadSha256">,
  payload: CachePayload,
): Promise<void> {
  const parts = payloadParts(payload);
  const full: CacheHeader = {
    ...header,
    littleEndian: LITTLE_ENDIAN,
    payloadSha256: sha256Hex(parts),
  };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const pad = (4 - ((PREFIX_BYTES + json.length) % 4)) % 4;
  const prefix = new Uint8Array(PREFIX_BYTES + json.length + pad);
  prefix.set(new TextEncoder().encode(CACHE_MAGIC), 0);
  const view = new DataView(prefix.buffer);
  view.setUint32(8, CACHE_VERSION, true);
  view.setUint32(12, json.length, true);
  prefix.set(json, PREFIX_BYTES);

  await writeFileAtomic(path, [prefix, ...parts], { what: "dataset cache" });
}

/**
 * Read and fully validate a cache file.
 * @param path the file
 * @param expect what it must hold
 * @returns `missing` when there is no file, `invalid` with the reason when it cannot be
 *   trusted, otherwise the header and arrays
 */
export async function readCache(path: string, expect: CacheExpectation): Promise<CacheRead> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "missing" };
    return { kind: "invalid", why: `it cannot be read (${e instanceof Error ? e.message : e})` };
  }
  return parseCache(bytes, expect);
}

/**
 * Validate the bytes of a cache file (see {@link readCache}).
 * @param bytes the file's content
 * @param expect what it must hold
 */
export function parseCache(bytes: Uint8Array, expect: CacheExpectation): CacheRead {
  const invalid = (why: string): CacheRead => ({ kind: "invalid", why });
  if (bytes.length < PREFIX_BYTES) return invalid(`it is only ${bytes.length} bytes long`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== CACHE_MAGIC) return invalid(`it does not start with the magic "${CACHE_MAGIC}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CACHE_VERSION) {
    return invalid(`its format version is ${version}, this code reads ${CACHE_VERSION}`);
  }
  const headerLength = view.getUint32(12, true);
  if (PREFIX_BYTES + headerLength > bytes.length) {
    return invalid(`its header of ${headerLength} bytes runs past the end of the file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength),
      ),
    );
  } catch {
    return invalid("its header is not valid JSON");
  }
  const why = headerProblem(header, expect);
  if (why !== undefined) return invalid(why);
  const h = header as CacheHeader;

  const start = PREFIX_BYTES + headerLength + (4 - ((PREFIX_BYTES + headerLength) % 4)) % 4;
  const trainIdsBytes = h.nTrain * h.maxLen * 4;
  const testIdsBytes = h.nTest * h.maxLen * 4;
  const expected = start + trainIdsBytes + testIdsBytes + h.nTrain + h.nTest;
  if (bytes.length !== expected) {
    return invalid(`it is ${bytes.length} bytes long, its header implies ${expected}`);
  }
  // Deno.readFile gives a fresh buffer at offset 0, so `start` is 4-aligned; copy otherwise.
  const buf = (bytes.byteOffset + start) % 4 === 0 ? bytes : bytes.slice();
  const base = buf.byteOffset + start;
  const payload: CachePayload = {
    trainIds: new Int32Array(buf.buffer, base, h.nTrain * h.maxLen),
    testIds: new Int32Array(buf.buffer, base + trainIdsBytes, h.nTest * h.maxLen),
    trainLabels: new Uint8Array(buf.buffer, base + trainIdsBytes + testIdsBytes, h.nTrain),
    testLabels: new Uint8Array(
      buf.buffer,
      base + trainIdsBytes + testIdsBytes + h.nTrain,
      h.nTest,
    ),
  };
  if (sha256Hex(payloadParts(payload)) !== h.payloadSha256) {
    return invalid("its payload does not match the checksum in its header");
  }
  for (const [name, ids] of [["train", payload.trainIds], ["test", payload.testIds]] as const) {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= h.vocabSize) {
        return invalid(`${name} id ${id} at ${i} is outside the vocabulary of ${h.vocabSize}`);
      }
    }
  }
  for (
    const [name, labels] of [["train", payload.trainLabels], ["test", payload.testLabels]] as const
  ) {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i]! > 1) return invalid(`${name} label ${labels[i]} at ${i} is not 0 or 1`);
    }
  }
  return { kind: "ok", header: h, payload };
}

function headerProblem(x: unknown, expect: CacheExpectation): string | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return "its header is not an object";
  const h = x as Record<string, unknown>;
  const count = (k: string) => typeof h[k] === "number" && Number.isSafeInteger(h[k]) && h[k] >= 0;
  for (const k of ["vocabSize", "maxLen", "nTrain", "nTest"]) {
    if (!count(k)) return `its header field "${k}" is not a non-negative integer`;
  }
  if (typeof h.payloadSha256 !== "string") return `its header has no payload checksum`;
  if (h.datasetHash !== expect.datasetHash) {
    return `it holds dataset ${JSON.stringify(h.datasetHash)}, expected ${expect.datasetHash}`;
  }
  if (h.maxLen !== expect.maxLen || h.padding !== expect.padding) {
    return `its header says maxLen ${h.maxLen} and padding ${
      JSON.stringify(h.padding)
    }, expected ${expect.maxLen} and "${expect.padding}"`;
  }
  if (h.littleEndian !== LITTLE_ENDIAN) return "it was written on a host of other byte order";
  if ((h.vocabSize as number) < 1) return "its vocabulary is empty";
  return undefined;
}
