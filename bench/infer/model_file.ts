/**
 * Opening `.onnx` files for parity checks and benchmarks, with errors that name the file
 * and say what is wrong with it: missing, empty, truncated, not ONNX, or a model whose
 * input is not token ids. ONNX Runtime sessions are created here too, so every caller
 * gets the same options and the same error wording.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { type ModelInfo, OnnxFormatError, readModelInfo } from "../../models/onnx/proto.ts";

/** Execution providers the benchmark knows. */
export const PROVIDERS = ["cpu", "cuda"] as const;
/** An ONNX Runtime execution provider. */
export type Provider = (typeof PROVIDERS)[number];

/** A model file read and checked: its bytes, header, and what its input expects. */
export interface OnnxFile {
  /** The path as given. */
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly info: ModelInfo;
  /** The single input's name. */
  readonly inputName: string;
  /** Its element type: int64 (rnnbench's exports) or int32. */
  readonly inputType: "int64" | "int32";
  /** Sequence length from the input's second dimension, else metadata `maxLen`; null if neither. */
  readonly seqLen: number | null;
  /** Vocabulary size from metadata `vocabSize`; null when absent. */
  readonly vocabSize: number | null;
}

/** Type codes of `TensorProto.DataType` the token-id input may have. */
const ID_TYPES: Readonly<Record<number, "int64" | "int32">> = { 7: "int64", 6: "int32" };

/**
 * Reads an `.onnx` file and checks it is a model this suite can feed with token ids.
 *
 * @param path the file
 * @returns the file's bytes, header and input description
 * @throws {Error} naming the file when it is missing, empty, truncated, not ONNX, or its
 *   input is not one rank-2 integer tensor `[batch, seq]`
 */
export async function readOnnxFile(path: string): Promise<OnnxFile> {
  const what = `Cannot read ONNX model "${path}"`;
  let bytes: Uint8Array;
  try {
    const st = await Deno.stat(path);
    if (!st.isFile) throw new Error(`${what}: it is not a file; pass the path of a .onnx file`);
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `${what}: the file does not exist; pass the path of a .onnx file ` +
          `(deno task bench writes them to <out>/<run-id>.onnx)`,
      );
    }
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new Error(`${what}: permission denied; run with --allow-read`);
    }
    throw e;
  }
  if (bytes.length === 0) throw new Error(`${what}: the file is empty; export the model again`);
  let info: ModelInfo;
  try {
    info = readModelInfo(bytes);
  } catch (e) {
    if (e instanceof OnnxFormatError) {
      throw new Error(
        `${what}: ${e.message}; ` +
          (e.truncated ? "export or copy the model again" : "pass a model saved in ONNX format"),
      );
    }
    throw e;
  }
  if (info.inputs.length !== 1) {
    throw new Error(
      `${what}: the model has ${info.inputs.length} inputs ` +
        `(${info.inputs.map((i) => i.name).join(", ")}), the benchmark feeds exactly one: ` +
        `token ids [batch, seq]`,
    );
  }
  const input = info.inputs[0]!;
  const inputType = ID_TYPES[input.elemType];
  if (inputType === undefined || input.dims === null || input.dims.length !== 2) {
    throw new Error(
      `${what}: its input "${input.name}" is not an int64 or int32 tensor [batch, seq] ` +
        `(element type ${input.elemType}, dims ${JSON.stringify(input.dims)})`,
    );
  }
  const dimSeq = input.dims[1];
  const metaInt = (k: string): number | null => {
    const v = info.metadata[k];
    const n = v === undefined ? NaN : Number(v);
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  const seqLen = typeof dimSeq === "number" && dimSeq > 0 ? dimSeq : metaInt("maxLen");
  return {
    path,
    bytes,
    info,
    inputName: input.name,
    inputType,
    seqLen,
    vocabSize: metaInt("vocabSize"),
  };
}

/** Session options shared by parity checks and benchmarks. */
export interface SessionOptions {
  /**
   * Execution provider.
   * @default {"cpu"}
   */
  readonly provider?: Provider;
  /**
   * Intra-op threads; 1 when workers provide the parallelism.
   * @default {1}
   */
  readonly threads?: number;
}

/**
 * Creates an ONNX Runtime session (graph optimisation "all", sequential execution), with
 * ONNX Runtime's own error wrapped in one that names the model.
 *
 * @param model the model's bytes
 * @param label how to name the model in errors (its path)
 * @param opts provider and threads
 * @returns the session
 */
export async function openSession(
  model: Uint8Array,
  label: string,
  opts: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const { provider = "cpu", threads = 1 } = opts;
  try {
    return await ort.InferenceSession.create(model, {
      executionProviders: [provider],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw new Error(
      `Cannot load ONNX model "${label}" in onnxruntime-node ${ort.env.versions.node} ` +
        `(${provider}): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** The provider library onnxruntime-node loads for `provider`, or null if unknown. */
function providerLibrary(provider: Provider): string | null {
  if (provider === "cpu") return null;
  const arch = ({ x86_64: "x64", aarch64: "arm64" } as Record<string, string>)[Deno.build.arch];
  if (arch === undefined) return null;
  try {
    // dist/index.js → bin/napi-v6/<os>/<arch>/, where the postinstall puts provider libraries.
    const dir = new URL(
      `../bin/napi-v6/${Deno.build.os}/${arch}/`,
      import.meta.resolve("onnxruntime-node"),
    );
    const ext = Deno.build.os === "windows" ? "dll" : Deno.build.os === "darwin" ? "dylib" : "so";
    const name = Deno.build.os === "windows"
      ? `onnxruntime_providers_${provider}.${ext}`
      : `libonnxruntime_providers_${provider}.${ext}`;
    return dir.protocol === "file:" ? decodeURIComponent(new URL(name, dir).pathname) : null;
  } catch {
    return null;
  }
}

/**
 * Says why an execution provider cannot be used here, or null when it can. When the
 * provider's library is known to be missing, says so without trying; otherwise tries to
 * create a session with that provider alone (ONNX Runtime then fails rather than falling
 * back to cpu).
 *
 * @param provider the provider
 * @param model a model to try it on
 * @returns null when a session with `provider` was created, else the reason
 */
export async function providerUnavailable(
  provider: Provider,
  model: Uint8Array,
): Promise<string | null> {
  if (provider === "cpu") return null;
  const version = ort.env.versions.node;
  const listed = ort.listSupportedBackends().find((b) => b.name === provider);
  if (listed === undefined) {
    return `this onnxruntime-node ${version} build does not list the ${provider} provider`;
  }
  const lib = providerLibrary(provider);
  const missing = `onnxruntime-node ${version} was installed without its ${provider} provider ` +
    `library (the package's postinstall downloads it from NuGet: reinstall with network ` +
    `access, e.g. ONNXRUNTIME_NODE_INSTALL=cuda12, on a machine with CUDA 12 and cuDNN 9)`;
  if (!listed.bundled && lib !== null) {
    try {
      await Deno.stat(lib);
    } catch {
      return `${missing}: ${lib} does not exist`;
    }
  }
  try {
    const s = await ort.InferenceSession.create(model, {
      executionProviders: [provider],
      logSeverityLevel: 4,
    });
    await s.release();
    return null;
  } catch (e) {
    return `the ${provider} provider failed to start; onnxruntime said: ${(e as Error).message}`;
  }
}
