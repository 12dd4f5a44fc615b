/**
 * Test helpers: a tiny exported LSTM written to a temporary file, and its reference logits.
 *
 * @module
 */
import { referenceForward } from "../../models/reference.ts";
import { tinyBatch, tinyLayout, tinyParams } from "../../models/_testing.ts";
import { exportOnnx, type OnnxStyle } from "../../models/onnx/export.ts";

/** Sequence length of the tiny model. */
export const TINY_T = 7;

/** A tiny LSTM exported in `style`, saved to a temporary directory (removed by `cleanup`). */
export async function tinyOnnxFile(style: OnnxStyle = "scan"): Promise<{
  dir: string;
  path: string;
  bytes: Uint8Array;
  logitsFor(ids: Int32Array, B: number): Float32Array;
  cleanup(): Promise<void>;
}> {
  const layout = tinyLayout("lstm");
  const p = tinyParams(layout);
  const bytes = exportOnnx(layout, p, {
    style,
    maxLen: TINY_T,
    metadata: { profile: "smoke" },
  });
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-onnx-" });
  const path = `${dir}/tiny.onnx`;
  await Deno.writeFile(path, bytes);
  return {
    dir,
    path,
    bytes,
    logitsFor: (ids, B) => Float32Array.from(referenceForward(layout, p, ids, B, TINY_T).logits),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Random ids for the tiny model. */
export function tinyIds(B: number, seed = 5): Int32Array {
  return tinyBatch(B, TINY_T, tinyLayout("lstm").config.vocabSize, seed).ids;
}

/** Asserts that `f` rejects with a message matching every pattern. */
export async function rejectsWith(f: () => Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  try {
    await f();
  } catch (e) {
    const m = (e as Error).message;
    for (const p of patterns) {
      if (!p.test(m)) throw new Error(`message ${JSON.stringify(m)} lacks ${p}`);
    }
    return;
  }
  throw new Error("expected an error, got none");
}
