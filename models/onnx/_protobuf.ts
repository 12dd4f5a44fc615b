/**
 * The protobuf wire format, the little that ONNX files need: a writer (varints, 32-bit
 * floats, length-delimited fields, packed int64) and a reader that walks the fields of one
 * message and says exactly where a file ends early.
 *
 * Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (3 and 4, groups, are
 * never used by ONNX and are rejected).
 *
 * @module
 */

const utf8 = new TextEncoder();

/** Builds one protobuf message; nested messages are built separately and embedded. */
export class PbWriter {
  #chunks: Uint8Array[] = [];
  #scratch: number[] = [];
  #length = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#length + this.#scratch.length;
  }

  #flush(): void {
    if (this.#scratch.length === 0) return;
    this.#chunks.push(Uint8Array.from(this.#scratch));
    this.#length += this.#scratch.length;
    this.#scratch = [];
  }

  #raw(v: bigint | number): void {
    // Negative int64 values are written as their 64-bit two's complement (10 bytes).
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.#scratch.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.#scratch.push(Number(x));
  }

  #tag(field: number, wire: 0 | 2 | 5): void {
    this.#raw((field << 3) | wire);
  }

  /** Writes an integer field (int32, int64, enum, bool). */
  varint(field: number, v: number | bigint): this {
    if (typeof v === "number" && !Number.isSafeInteger(v)) {
      throw new RangeError(`Cannot write protobuf field ${field}: ${v} is not a safe integer`);
    }
    this.#tag(field, 0);
    this.#raw(v);
    return this;
  }

  /** Writes a 32-bit float field. */
  float32(field: number, v: number): this {
    this.#tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.#scratch.push(...b);
    return this;
  }

  /** Writes a length-delimited field holding raw bytes (copied lazily, not re-encoded). */
  bytes(field: number, data: Uint8Array): this {
    this.#tag(field, 2);
    this.#raw(data.length);
    this.#flush();
    this.#chunks.push(data);
    this.#length += data.length;
    return this;
  }

  /** Writes a UTF-8 string field. */
  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  /** Embeds a nested message. */
  message(field: number, m: PbWriter): this {
    return this.bytes(field, m.finish());
  }

  /** Writes a packed repeated int64 field. */
  packedInt64(field: number, values: readonly (number | bigint)[]): this {
    const inner = new PbWriter();
    for (const v of values) inner.#raw(v);
    return this.bytes(field, inner.finish());
  }

  /** The encoded message. */
  finish(): Uint8Array {
    this.#flush();
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    const out = new Uint8Array(this.#length);
    let o = 0;
    for (const c of this.#chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.#chunks = [out];
    return out;
  }
}

/** One field of a message as read: an integer, or the byte range of a length-delimited value. */
export type PbField =
  | { readonly field: number; readonly wire: 0 | 1 | 5; readonly value: bigint }
  | { readonly field: number; readonly wire: 2; readonly start: number; readonly end: number };

/** A malformed or truncated protobuf; `offset` is where reading failed. */
export class PbError extends Error {
  /** Byte offset into the buffer where the problem was found. */
  readonly offset: number;
  /** True when the data ends before a field does (a truncated file). */
  readonly truncated: boolean;
  constructor(message: string, offset: number, truncated: boolean) {
    super(message);
    this.name = "PbError";
    this.offset = offset;
    this.truncated = truncated;
  }
}

function readVarint(buf: Uint8Array, pos: number, end: number): [bigint, number] {
  let x = 0n, shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new PbError(`varint runs past byte ${end}`, pos, true);
    const b = buf[pos++]!;
    x |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [x, pos];
    shift += 7n;
  }
  throw new PbError("varint longer than 10 bytes", pos, false);
}

/**
 * Walks the fields of one message in `buf[start, end)`.
 * @throws {PbError} on a bad wire type, an over-long varint or a field that runs past `end`
 */
export function* pbFields(buf: Uint8Array, start = 0, end = buf.length): Generator<PbField> {
  let pos = start;
  while (pos < end) {
    const at = pos;
    const [tag, p1] = readVarint(buf, pos, end);
    pos = p1;
    const field = Number(tag >> 3n), wire = Number(tag & 7n);
    if (field === 0) throw new PbError(`field number 0 at byte ${at}`, at, false);
    if (wire === 0) {
      const [value, p2] = readVarint(buf, pos, end);
      pos = p2;
      yield { field, wire, value };
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (pos + n > end) {
        throw new PbError(
          `field ${field} at byte ${at} needs ${n} bytes past byte ${end}`,
          at,
          true,
        );
      }
      const dv = new DataView(buf.buffer, buf.byteOffset + pos, n);
      const value = wire === 1 ? dv.getBigUint64(0, true) : BigInt(dv.getUint32(0, true));
      pos += n;
      yield { field, wire, value };
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos, end);
      pos = p2;
      if (BigInt(pos) + len > BigInt(end)) {
        throw new PbError(
          `field ${field} at byte ${at} declares ${len} bytes but only ${end - pos} remain`,
          at,
          true,
        );
      }
      yield { field, wire, start: pos, end: pos + Number(len) };
      pos += Number(len);
    } else {
      throw new PbError(`unsupported wire type ${wire} at byte ${at}`, at, false);
    }
  }
}
