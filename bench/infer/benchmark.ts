/**
 * Inference benchmark of an ONNX model in onnxruntime-node: sequences per second at
 * several batch sizes and latency percentiles at batch 1, per execution provider.
 *
 * Method. W Deno Workers each hold one session with one intra-op thread (`session.run`
 * blocks its thread, so workers are how several cores are used). Per batch size: every
 * worker first runs one call, then calls for `warmupSeconds`; the warm-up's mean call time
 * sets the calls per repeat so that one repeat lasts about `minSeconds`. Each of `repeats`
 * repeats starts all workers at once and ends when the last finishes; its throughput is
 * W · calls · batch / wall time. The reported throughput is the MEDIAN over repeats.
 * Latency (batch 1 only) pools the per-call times of every worker in every repeat, each
 * timed around `await session.run()`; percentiles are nearest-rank
 * (the ⌈p/100 · n⌉-th smallest of n samples). Inputs are random token ids in
 * `[0, vocabSize)`, fixed per worker and batch size.
 *
 * A provider that cannot start (e.g. CUDA without its provider library) yields results
 * with `unavailable` set to ONNX Runtime's reason; there is never a silent fallback to cpu.
 *
 * @module
 */
import type { InferenceResult } from "../results/types.ts";
import { type OnnxFile, type Provider, providerUnavailable, readOnnxFile } from "./model_file.ts";
import type { WorkerReply, WorkerRequest } from "./_worker.ts";

export type { InferenceResult };

/** Options of {@linkcode benchmarkOnnx}. */
export interface BenchmarkOptions {
  /** Batch sizes to measure throughput at (latency is measured at batch size 1). */
  readonly batchSizes: readonly number[];
  /** Parallel workers, one session each. */
  readonly workers: number;
  /** Execution providers; unavailable ones are reported, not skipped. */
  readonly providers: readonly Provider[];
  /**
   * Sequence length fed to the model.
   * @default {the model's declared input length, else its `maxLen` metadata}
   */
  readonly seqLen?: number;
  /**
   * Token ids are drawn from `[0, vocabSize)`.
   * @default {the model's `vocabSize` metadata}
   */
  readonly vocabSize?: number;
  /**
   * Approximate seconds per repeat.
   * @default {1}
   */
  readonly minSeconds?: number;
  /**
   * Timed repeats per batch size; the median is reported.
   * @default {3}
   */
  readonly repeats?: number;
  /**
   * Warm-up seconds per batch size, after one untimed call.
   * @default {0.3}
   */
  readonly warmupSeconds?: number;
  /**
   * Seed of the random token ids.
   * @default {1}
   */
  readonly seed?: number;
  /** Called with a line of progress now and then. */
  readonly onProgress?: (line: string) => void;
}

/** The median of some numbers (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("Cannot take the median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The nearest-rank percentile: the ⌈p/100 · n⌉-th smallest value (p in (0, 100]).
 * @param xs samples (any order)
 * @param p percentile
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new RangeError("Cannot take a percentile of no values");
  if (!(p > 0 && p <= 100)) throw new RangeError(`Percentile must be in (0, 100], got ${p}`);
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** A worker and its one outstanding request. */
class BenchWorker {
  readonly #w: Worker;
  #pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | null = null;

  constructor(readonly index: number) {
    this.#w = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
    this.#w.onmessage = (e: MessageEvent<WorkerReply>) => {
      const p = this.#pending;
      this.#pending = null;
      p?.resolve(e.data);
    };
    this.#w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const p = this.#pending;
      this.#pending = null;
      p?.reject(new Error(`worker ${this.index} crashed: ${e.message}`));
    };
  }

  request(m: WorkerRequest): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#w.postMessage(m);
    });
  }

  terminate(): void {
    this.#w.terminate();
  }
}

async function all(
  workers: readonly BenchWorker[],
  m: WorkerRequest,
  what: string,
): Promise<WorkerReply[]> {
  const replies = await Promise.all(workers.map((w) => w.request(m)));
  const bad = replies.findIndex((r) => r.type === "error");
  if (bad >= 0) {
    throw new Error(`${what}: worker ${bad}: ${(replies[bad] as { message: string }).message}`);
  }
  return replies;
}

const callsOf = (replies: readonly WorkerReply[]): number[][] =>
  replies.map((r) => (r as { callMs: number[] }).callMs);

/**
 * Benchmarks an ONNX model file (see the module doc for the method).
 *
 * @param path the `.onnx` file; its single input must be int64/int32 token ids `[batch, seq]`
 * @param opts batch sizes, workers, providers and timing
 * @returns one result per provider and batch size, in that order
 * @throws {Error} naming the file when it is missing, truncated or not ONNX, or when a
 *   worker fails
 * @example
 * ```ts ignore
 * import { benchmarkOnnx } from "./benchmark.ts";
 * const results = await benchmarkOnnx("out/run-1.onnx", {
 *   batchSizes: [1, 64, 1000],
 *   workers: navigator.hardwareConcurrency,
 *   providers: ["cpu", "cuda"],
 * });
 * console.table(results);
 * ```
 */
export async function benchmarkOnnx(
  path: string,
  opts: BenchmarkOptions,
): Promise<InferenceResult[]> {
  const file = await readOnnxFile(path);
  const what = `Cannot benchmark ONNX model "${path}"`;
  const seqLen = opts.seqLen ?? file.seqLen;
  const vocabSize = opts.vocabSize ?? file.vocabSize;
  if (seqLen === null || !Number.isInteger(seqLen) || seqLen < 1) {
    throw new Error(
      `${what}: its input length is not fixed and it has no maxLen metadata; pass seqLen (--seq-len)`,
    );
  }
  if (vocabSize === null || !Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error(`${what}: it has no vocabSize metadata; pass vocabSize (--vocab-size)`);
  }
  if (opts.batchSizes.length === 0 || opts.batchSizes.some((b) => !Number.isInteger(b) || b < 1)) {
    throw new RangeError(
      `${what}: batch sizes must be positive integers, got [${opts.batchSizes}]`,
    );
  }
  if (!Number.isInteger(opts.workers) || opts.workers < 1) {
    throw new RangeError(`${what}: workers must be a positive integer, got ${opts.workers}`);
  }
  const results: InferenceResult[] = [];
  for (const provider of opts.providers) {
    const unavailable = await providerUnavailable(provider, file.bytes);
    if (unavailable !== null) {
      opts.onProgress?.(`${provider}: unavailable: ${unavailable}`);
      for (const batchSize of opts.batchSizes) {
        results.push({
          provider,
          batchSize,
          workers: opts.workers,
          sequencesPerSecond: null,
          latencyMs: null,
          unavailable,
        });
      }
      continue;
    }
    results.push(...await measureProvider(file, provider, seqLen, vocabSize, opts));
  }
  return results;
}

async function measureProvider(
  file: OnnxFile,
  provider: Provider,
  seqLen: number,
  vocabSize: number,
  opts: BenchmarkOptions,
): Promise<InferenceResult[]> {
  const { minSeconds = 1, repeats = 3, warmupSeconds = 0.3, seed = 1 } = opts;
  const W = opts.workers;
  const workers = Array.from({ length: W }, (_, i) => new BenchWorker(i));
  const results: InferenceResult[] = [];
  try {
    const what = `Cannot benchmark ONNX model "${file.path}" (${provider})`;
    await Promise.all(workers.map((w, i) =>
      w.request({
        type: "init",
        model: file.bytes,
        label: file.path,
        provider,
        inputName: file.inputName,
        inputType: file.inputType,
        seqLen,
        vocabSize,
        seed: seed + i,
      }).then((r) => {
        if (r.type === "error") throw new Error(`${what}: worker ${i}: ${r.message}`);
      })
    ));
    for (const batchSize of opts.batchSizes) {
      const at = `${what} at batch ${batchSize}`;
      const run = (calls: number) => all(workers, { type: "run", batchSize, calls }, at);
      const first = Math.max(...callsOf(await run(1)).flat());
      const warm = callsOf(await run(Math.max(1, Math.ceil((warmupSeconds * 1000) / first))));
      const meanMs = Math.max(...warm.map((c) => c.reduce((a, b) => a + b, 0) / c.length));
      const calls = Math.max(1, Math.round((minSeconds * 1000) / meanMs));
      const rates: number[] = [];
      const samples: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        const replies = await run(calls);
        const wallMs = performance.now() - t0;
        rates.push((W * calls * batchSize) / (wallMs / 1000));
        for (const c of callsOf(replies)) samples.push(...c);
      }
      const sequencesPerSecond = median(rates);
      const latencyMs = batchSize === 1
        ? {
          p50: percentile(samples, 50),
          p95: percentile(samples, 95),
          p99: percentile(samples, 99),
        }
        : null;
      opts.onProgress?.(
        `${provider} batch ${batchSize} × ${W} workers: ${sequencesPerSecond.toFixed(1)} seq/s ` +
          `(repeats: ${rates.map((x) => x.toFixed(0)).join(", ")}; ${calls} calls each)`,
      );
      results.push({
        provider,
        batchSize,
        workers: W,
        sequencesPerSecond,
        latencyMs,
        unavailable: null,
      });
    }
    await Promise.all(workers.map((w) => w.request({ type: "close" })));
  } finally {
    for (const w of workers) w.terminate();
  }
  return results;
}
