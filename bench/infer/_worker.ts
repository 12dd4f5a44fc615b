/**
 * One benchmark worker: a Deno Worker holding one ONNX Runtime session (one intra-op
 * thread), because `session.run` blocks the thread that calls it. Driven by
 * `benchmark.ts` through {@linkcode WorkerRequest} / {@linkcode WorkerReply} messages.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-node";
import { Rng } from "../../models/rng.ts";
import { openSession, type Provider } from "./model_file.ts";

/** Messages to a worker. */
export type WorkerRequest =
  | {
    readonly type: "init";
    readonly model: Uint8Array;
    readonly label: string;
    readonly provider: Provider;
    readonly inputName: string;
    readonly inputType: "int64" | "int32";
    readonly seqLen: number;
    readonly vocabSize: number;
    readonly seed: number;
  }
  /** Run `calls` calls at `batchSize`, timing each. */
  | { readonly type: "run"; readonly batchSize: number; readonly calls: number }
  | { readonly type: "close" };

/** Messages from a worker. */
export type WorkerReply =
  | { readonly type: "ready" }
  /** Per-call durations in milliseconds. */
  | { readonly type: "done"; readonly callMs: number[] }
  | { readonly type: "closed" }
  | { readonly type: "error"; readonly message: string };

let session: ort.InferenceSession | null = null;
let config: Extract<WorkerRequest, { type: "init" }> | null = null;
const feeds = new Map<number, Record<string, ort.Tensor>>();

function feedFor(batchSize: number): Record<string, ort.Tensor> {
  let f = feeds.get(batchSize);
  if (f === undefined) {
    const c = config!;
    const rng = new Rng(c.seed, batchSize);
    const n = batchSize * c.seqLen;
    const ids = Int32Array.from({ length: n }, () => rng.below(c.vocabSize));
    const dims = [batchSize, c.seqLen];
    const tensor = c.inputType === "int64"
      ? new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), dims)
      : new ort.Tensor("int32", ids, dims);
    f = { [c.inputName]: tensor };
    feeds.set(batchSize, f);
  }
  return f;
}

const post = (r: WorkerReply) => self.postMessage(r);

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  try {
    if (m.type === "init") {
      config = m;
      session = await openSession(m.model, m.label, { provider: m.provider, threads: 1 });
      post({ type: "ready" });
    } else if (m.type === "run") {
      const feed = feedFor(m.batchSize);
      const callMs: number[] = [];
      for (let i = 0; i < m.calls; i++) {
        const t0 = performance.now();
        await session!.run(feed);
        callMs.push(performance.now() - t0);
      }
      post({ type: "done", callMs });
    } else {
      await session?.release();
      session = null;
      post({ type: "closed" });
      self.close();
    }
  } catch (err) {
    post({ type: "error", message: (err as Error).message });
  }
};
