import { pbFields, PbWriter } from "./_protobuf.ts";
import { encodeModel, type ModelDef, OnnxFormatError, readModelInfo } from "./proto.ts";

const model: ModelDef = {
  irVersion: 10,
  opset: 21,
  producerName: "test",
  producerVersion: "1",
  docString: "doc",
  metadata: { a: "1", "ключ": "значение" },
  graph: {
    name: "g",
    nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"], attrs: { k: { ints: [-1, 2] } } }],
    initializers: [{ name: "w", dims: [2], data: Float32Array.of(1, 2) }],
    inputs: [
      { name: "x", elemType: "float", dims: ["n", 3] },
      { name: "w", elemType: "float", dims: [2] },
    ],
    outputs: [{ name: "y", elemType: "float", dims: null }],
  },
};

function expectFormatError(bytes: Uint8Array, pattern: RegExp, truncated: boolean): void {
  try {
    readModelInfo(bytes);
  } catch (e) {
    if (!(e instanceof OnnxFormatError)) throw e;
    if (!pattern.test(e.message) || e.truncated !== truncated) {
      throw new Error(`unexpected error (truncated=${e.truncated}): ${e.message}`);
    }
    return;
  }
  throw new Error("no error");
}

Deno.test("readModelInfo() reads back what encodeModel() wrote", () => {
  const info = readModelInfo(encodeModel(model));
  const got = JSON.stringify(info);
  const want = JSON.stringify({
    irVersion: 10,
    opsets: [{ domain: "", version: 21 }],
    producerName: "test",
    producerVersion: "1",
    metadata: { a: "1", "ключ": "значение" },
    inputs: [{ name: "x", elemType: 1, dims: ["n", 3] }],
    outputs: [{ name: "y", elemType: 1, dims: null }],
  });
  if (got !== want) throw new Error(`got ${got}\nwant ${want}`);
});

Deno.test("negative int64 values round-trip as 10-byte varints", () => {
  const bytes = new PbWriter().varint(3, -1).varint(4, 300).finish();
  if (bytes.length !== 1 + 10 + 1 + 2) throw new Error(`length ${bytes.length}`);
  const [a, b] = [...pbFields(bytes)];
  if (a?.wire !== 0 || BigInt.asIntN(64, a.value) !== -1n) throw new Error("bad -1");
  if (b?.wire !== 0 || b.value !== 300n || b.field !== 4) throw new Error("bad 300");
});

Deno.test("readModelInfo() says a file cut short anywhere is truncated", () => {
  const bytes = encodeModel(model);
  for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 40]) {
    expectFormatError(bytes.subarray(0, cut), /the file is truncated/, true);
  }
});

Deno.test("readModelInfo() says text and random bytes are not ONNX", () => {
  expectFormatError(new TextEncoder().encode('{"not": "onnx"}'), /not an ONNX model/, false);
  expectFormatError(
    new TextEncoder().encode("hello world, this is text"),
    /not an ONNX model/,
    false,
  );
  // Valid protobuf, but not a model: one varint field 1 only.
  expectFormatError(new PbWriter().varint(1, 7).finish(), /lacks graph, opset_import/, false);
});
