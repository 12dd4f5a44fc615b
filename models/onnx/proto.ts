/**
 * The subset of the ONNX file format (`onnx.proto`, proto2) that rnnbench writes and reads:
 * a model with one graph (nodes, initializers, typed inputs and outputs, subgraphs as node
 * attributes) and string metadata. Field numbers follow `onnx/onnx.proto`.
 *
 * {@linkcode encodeModel} writes a model; {@linkcode readModelInfo} reads back a file's
 * header (IR version, opsets, producer, metadata, graph inputs and outputs) without
 * decoding the weights, and says precisely why a file is not a readable ONNX model.
 *
 * @module
 */
import { PbError, type PbField, pbFields, PbWriter } from "./_protobuf.ts";

/** Tensor element types used here, with their `TensorProto.DataType` codes. */
export const DATA_TYPE = { float: 1, int64: 7 } as const;
/** A tensor element type used here. */
export type ElemType = keyof typeof DATA_TYPE;

/** A constant tensor: an initializer, or the value of a tensor attribute. */
export interface TensorDef {
  readonly name: string;
  readonly dims: readonly number[];
  /** float32 or int64 elements, row-major; the length must equal the product of `dims`. */
  readonly data: Float32Array | BigInt64Array;
}

/** A node attribute value, tagged by its ONNX attribute type. */
export type AttrValue =
  | { readonly i: number }
  | { readonly ints: readonly number[] }
  | { readonly f: number }
  | { readonly s: string }
  | { readonly strings: readonly string[] }
  | { readonly t: TensorDef }
  | { readonly g: GraphDef };

/** One operator application. */
export interface NodeDef {
  /** ONNX operator name, e.g. "MatMul". */
  readonly op: string;
  /** Input value names; "" marks an omitted optional input. */
  readonly inputs: readonly string[];
  /** Output value names; "" marks an omitted optional output. */
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

/** A typed graph input or output; a string dimension is symbolic (e.g. "batch"). */
export interface ValueInfo {
  readonly name: string;
  readonly elemType: ElemType;
  /** Dimensions; null when the rank itself is unknown. */
  readonly dims: readonly (number | string)[] | null;
}

/** A graph (the main graph or a subgraph such as a `Scan` body). */
export interface GraphDef {
  readonly name: string;
  readonly nodes: readonly NodeDef[];
  readonly initializers: readonly TensorDef[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

/** A whole model file. */
export interface ModelDef {
  readonly irVersion: number;
  /** Opset of the default ("ai.onnx") domain. */
  readonly opset: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  readonly graph: GraphDef;
  readonly metadata: Readonly<Record<string, string>>;
}

function tensorBytes(t: TensorDef): Uint8Array {
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new RangeError(
      `Cannot encode tensor "${t.name}": ${t.data.length} elements for dims [${t.dims}]`,
    );
  }
  // raw_data is little-endian; every platform Deno runs on is little-endian.
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function tensor(t: TensorDef): PbWriter {
  const w = new PbWriter().packedInt64(1, t.dims);
  w.varint(2, t.data instanceof Float32Array ? DATA_TYPE.float : DATA_TYPE.int64);
  return w.string(8, t.name).bytes(9, tensorBytes(t));
}

function attribute(name: string, v: AttrValue): PbWriter {
  const w = new PbWriter().string(1, name);
  // AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, INTS 7, STRINGS 8.
  if ("i" in v) w.varint(3, v.i).varint(20, 2);
  else if ("ints" in v) w.packedInt64(8, v.ints).varint(20, 7);
  else if ("f" in v) w.float32(2, v.f).varint(20, 1);
  else if ("s" in v) w.string(4, v.s).varint(20, 3);
  else if ("strings" in v) {
    for (const s of v.strings) w.string(9, s);
    w.varint(20, 8);
  } else if ("t" in v) w.message(5, tensor(v.t)).varint(20, 4);
  else w.message(6, graph(v.g)).varint(20, 5);
  return w;
}

function node(n: NodeDef): PbWriter {
  const w = new PbWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

function valueInfo(v: ValueInfo): PbWriter {
  const tt = new PbWriter().varint(1, DATA_TYPE[v.elemType]);
  if (v.dims !== null) {
    const shape = new PbWriter();
    for (const d of v.dims) {
      shape.message(
        1,
        typeof d === "number" ? new PbWriter().varint(1, d) : new PbWriter().string(2, d),
      );
    }
    tt.message(2, shape);
  }
  return new PbWriter().string(1, v.name).message(2, new PbWriter().message(1, tt));
}

function graph(g: GraphDef): PbWriter {
  const w = new PbWriter();
  for (const n of g.nodes) w.message(1, node(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensor(t));
  for (const v of g.inputs) w.message(11, valueInfo(v));
  for (const v of g.outputs) w.message(12, valueInfo(v));
  return w;
}

/**
 * Serialises a model to the ONNX protobuf format.
 *
 * @param m the model
 * @returns the bytes of a `.onnx` file
 * @example
 * ```ts
 * import { encodeModel } from "./proto.ts";
 * const bytes = encodeModel({
 *   irVersion: 10, opset: 21, producerName: "demo", producerVersion: "0", docString: "",
 *   metadata: {},
 *   graph: {
 *     name: "g", initializers: [],
 *     nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
 *     inputs: [{ name: "x", elemType: "float", dims: ["n"] }],
 *     outputs: [{ name: "y", elemType: "float", dims: ["n"] }],
 *   },
 * });
 * console.log(bytes.length);
 * ```
 */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new PbWriter().varint(1, m.irVersion);
  w.string(2, m.producerName).string(3, m.producerVersion);
  if (m.docString !== "") w.string(6, m.docString);
  w.message(8, new PbWriter().string(1, "").varint(2, m.opset));
  for (const [k, v] of Object.entries(m.metadata)) {
    w.message(14, new PbWriter().string(1, k).string(2, v));
  }
  // The graph (nearly all the bytes) goes last, so a file cut short anywhere after the
  // header is reported as truncated rather than as missing a field.
  w.message(7, graph(m.graph));
  return w.finish();
}

/** What {@linkcode readModelInfo} reads from a file without decoding its weights. */
export interface ModelInfo {
  readonly irVersion: number;
  /** Imported operator sets; the default domain is "". */
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Graph inputs that are not initializers, with their element type code and dims. */
  readonly inputs: readonly ModelValueInfo[];
  readonly outputs: readonly ModelValueInfo[];
}

/** A graph input or output as read: element type code (1 float, 7 int64, …) and dims. */
export interface ModelValueInfo {
  readonly name: string;
  readonly elemType: number;
  /** Dimensions (numbers, symbolic names, or null when neither is set); null: unknown rank. */
  readonly dims: readonly (number | string | null)[] | null;
}

/** A file that is not a readable ONNX model; `truncated` says whether it ends early. */
export class OnnxFormatError extends Error {
  /** True when the data ends in the middle of a field. */
  readonly truncated: boolean;
  constructor(message: string, truncated: boolean) {
    super(message);
    this.name = "OnnxFormatError";
    this.truncated = truncated;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads the header of an ONNX model: IR version, opsets, producer, metadata and the
 * graph's inputs and outputs. Walks every top-level field, so a file cut short anywhere
 * is detected, but skips node and weight contents.
 *
 * @param bytes the file's contents
 * @returns what the file declares
 * @throws {OnnxFormatError} when the bytes are not protobuf, are cut short, or lack the
 *   fields every ONNX model has (ir_version, a graph, an opset import)
 */
export function readModelInfo(bytes: Uint8Array): ModelInfo {
  const fields = (start: number, end: number): PbField[] => [...pbFields(bytes, start, end)];
  const str = (f: PbField): string => {
    if (f.wire !== 2) throw new PbError(`field ${f.field} should be a string`, 0, false);
    return utf8.decode(bytes.subarray(f.start, f.end));
  };
  const int = (f: PbField): number => {
    if (f.wire !== 0) throw new PbError(`field ${f.field} should be a varint`, 0, false);
    return Number(BigInt.asIntN(64, f.value));
  };
  const sub = (f: PbField): PbField[] => {
    if (f.wire !== 2) throw new PbError(`field ${f.field} should be a message`, 0, false);
    return fields(f.start, f.end);
  };
  const value = (f: PbField): ModelValueInfo => {
    let name = "", elemType = 0;
    let dims: (number | string | null)[] | null = null;
    for (const g of sub(f)) {
      if (g.field === 1) name = str(g);
      if (g.field !== 2) continue;
      for (const t of sub(g)) {
        if (t.field !== 1) continue; // only tensor types are described
        for (const tt of sub(t)) {
          if (tt.field === 1) elemType = int(tt);
          if (tt.field !== 2) continue;
          dims = [];
          for (const d of sub(tt)) {
            if (d.field !== 1) continue;
            let dim: number | string | null = null;
            for (const dv of sub(d)) {
              if (dv.field === 1) dim = int(dv);
              if (dv.field === 2) dim = str(dv);
            }
            dims.push(dim);
          }
        }
      }
    }
    return { name, elemType, dims };
  };
  try {
    let irVersion: number | null = null, sawGraph = false;
    let producerName = "", producerVersion = "";
    const opsets: { domain: string; version: number }[] = [];
    const metadata: Record<string, string> = {};
    const inputs: ModelValueInfo[] = [], outputs: ModelValueInfo[] = [];
    for (const f of fields(0, bytes.length)) {
      if (f.field === 1) irVersion = int(f);
      else if (f.field === 2) producerName = str(f);
      else if (f.field === 3) producerVersion = str(f);
      else if (f.field === 8) {
        let domain = "", version = 0;
        for (const g of sub(f)) {
          if (g.field === 1) domain = str(g);
          if (g.field === 2) version = int(g);
        }
        opsets.push({ domain, version });
      } else if (f.field === 14) {
        let k = "", v = "";
        for (const g of sub(f)) {
          if (g.field === 1) k = str(g);
          if (g.field === 2) v = str(g);
        }
        metadata[k] = v;
      } else if (f.field === 7) {
        sawGraph = true;
        const inits = new Set<string>();
        const ins: ModelValueInfo[] = [];
        for (const g of sub(f)) {
          if (g.field === 5) {
            for (const t of sub(g)) if (t.field === 8) inits.add(str(t));
          } else if (g.field === 11) ins.push(value(g));
          else if (g.field === 12) outputs.push(value(g));
        }
        inputs.push(...ins.filter((i) => !inits.has(i.name)));
      }
    }
    const missing = [
      irVersion === null ? "ir_version" : null,
      sawGraph ? null : "graph",
      opsets.length === 0 ? "opset_import" : null,
    ].filter((x) => x !== null);
    if (missing.length > 0) {
      throw new OnnxFormatError(
        `not an ONNX model: it parses as protobuf but lacks ${missing.join(", ")}`,
        false,
      );
    }
    return {
      irVersion: irVersion!,
      opsets,
      producerName,
      producerVersion,
      metadata,
      inputs,
      outputs,
    };
  } catch (e) {
    if (e instanceof OnnxFormatError) throw e;
    if (e instanceof PbError) {
      throw new OnnxFormatError(
        e.truncated
          ? `the file is truncated (${bytes.length} bytes): ${e.message}`
          : `not an ONNX model: not valid protobuf (${e.message})`,
        e.truncated,
      );
    }
    if (e instanceof TypeError) {
      throw new OnnxFormatError(`not an ONNX model: a string field is not UTF-8`, false);
    }
    throw e;
  }
}
