/**
 * NumPy `.npy` files (format 1.0), for handing the suite's encoded data to the Python
 * peers: a writer for little-endian int32, uint8 and float32 C-order arrays, and a reader
 * of what the writer writes (tests, and files coming back).
 *
 * Layout: magic `\x93NUMPY`, version 1.0, a little-endian u16 header length, an ASCII
 * header `{'descr': '<i4', 'fortran_order': False, 'shape': (25000, 200), }` padded with
 * spaces and ended with a newline so the data starts at a multiple of 64 bytes, then the
 * raw data. See numpy's `numpy/lib/format.py`.
 *
 * @module
 */

/** The typed arrays an `.npy` file can hold here, and their numpy `descr`. */
export type NpyArray = Int32Array | Uint8Array | Float32Array;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function descrOf(a: NpyArray): string {
  if (a instanceof Int32Array) return "<i4";
  if (a instanceof Float32Array) return "<f4";
  return "|u1";
}

/**
 * Encodes an array as `.npy` bytes.
 * @param data the elements, C order
 * @param shape the shape; its product must be `data.length`
 * @returns the file's bytes
 * @example
 * ```ts
 * import { encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy(Int32Array.of(1, 2, 3, 4), [2, 2]);
 * console.log(bytes.length % 64 === 16);
 * ```
 */
export function encodeNpy(data: NpyArray, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((p, d) => p * d, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(
      `Cannot write .npy: shape [${shape}] does not hold ${data.length} elements`,
    );
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("Cannot write .npy: this host is big-endian");
  }
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${dims}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += " ".repeat(pad % 64) + "\n";
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/**
 * Decodes `.npy` bytes of the kinds {@linkcode encodeNpy} writes.
 * @throws Error naming what is not understood
 */
export function decodeNpy(bytes: Uint8Array): { data: NpyArray; shape: number[] } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error("Cannot read .npy: no \\x93NUMPY magic");
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || dims === undefined) {
    throw new Error(`Cannot read .npy: header not understood: ${header.trim()}`);
  }
  if (fortran === "True") throw new Error("Cannot read .npy: Fortran order is not supported");
  const shape = dims.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const count = shape.reduce((p, d) => p * d, 1);
  const body = bytes.slice(start + hlen);
  const make = (): NpyArray => {
    switch (descr) {
      case "<i4":
        return new Int32Array(body.buffer, 0, count);
      case "<f4":
        return new Float32Array(body.buffer, 0, count);
      case "|u1":
        return new Uint8Array(body.buffer, 0, count);
      default:
        throw new Error(`Cannot read .npy: dtype ${descr} is not supported`);
    }
  };
  const width = descr === "|u1" ? 1 : 4;
  if (body.byteLength < count * width) {
    throw new Error(`Cannot read .npy: ${body.byteLength} data bytes for ${count} elements`);
  }
  return { data: make(), shape };
}
