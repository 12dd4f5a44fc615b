import { encodeModel } from "../../models/onnx/proto.ts";
import { readOnnxFile } from "./model_file.ts";
import { benchmarkOnnx } from "./benchmark.ts";
import { checkParity } from "./parity.ts";
import { rejectsWith, tinyOnnxFile } from "./_testing.ts";

Deno.test("readOnnxFile() reads the input shape and metadata of an export", async () => {
  const m = await tinyOnnxFile();
  try {
    const f = await readOnnxFile(m.path);
    if (f.inputName !== "ids" || f.inputType !== "int64" || f.seqLen !== 7 || f.vocabSize !== 11) {
      throw new Error(JSON.stringify({ ...f, bytes: f.bytes.length }));
    }
  } finally {
    await m.cleanup();
  }
});

Deno.test("a missing, empty, truncated or non-ONNX model file gives an error naming the file", async () => {
  const m = await tinyOnnxFile();
  try {
    const missing = `${m.dir}/nope.onnx`;
    const empty = `${m.dir}/empty.onnx`, cut = `${m.dir}/cut.onnx`, text = `${m.dir}/text.onnx`;
    await Deno.writeFile(empty, new Uint8Array(0));
    await Deno.writeFile(cut, m.bytes.subarray(0, Math.floor(m.bytes.length * 0.6)));
    await Deno.writeTextFile(text, "name,value\nfoo,1\n");
    const q = (p: string) => new RegExp(`"${p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}"`);
    const cases: [string, RegExp][] = [
      [missing, /does not exist/],
      [empty, /file is empty/],
      [cut, /truncated/],
      [text, /not an ONNX model/],
      [m.dir, /not a file/],
    ];
    for (const [path, why] of cases) {
      await rejectsWith(() => readOnnxFile(path), q(path), why);
      await rejectsWith(
        () => benchmarkOnnx(path, { batchSizes: [1], workers: 1, providers: ["cpu"] }),
        q(path),
        why,
      );
      await rejectsWith(
        () => checkParity(path, new Int32Array(7), 1, 7, new Float32Array(1)),
        q(path),
        why,
      );
    }
  } finally {
    await m.cleanup();
  }
});

Deno.test("readOnnxFile() refuses a model whose input is not integer token ids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/relu.onnx`;
    await Deno.writeFile(
      path,
      encodeModel({
        irVersion: 10,
        opset: 21,
        producerName: "test",
        producerVersion: "",
        docString: "",
        metadata: {},
        graph: {
          name: "g",
          nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
          initializers: [],
          inputs: [{ name: "x", elemType: "float", dims: ["n", 3] }],
          outputs: [{ name: "y", elemType: "float", dims: ["n", 3] }],
        },
      }),
    );
    await rejectsWith(() => readOnnxFile(path), /relu\.onnx/, /input "x" is not an int64 or int32/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
