/**
 * The host's token sort for the embedding gradient: the (b, t) positions of a batch grouped
 * by token id, in the index layout the `rb_emb_seg` and `rb_emb_rows` kernels read. The
 * CUDA engine runs it while the GPU runs the recurrence.
 *
 * @module
 */
import { EMB_SEGMENT } from "../../../models/codegen/cuda.ts";

/**
 * Sorts the (b, t) positions of a batch by token id, stably, into the index buffer the
 * embedding-gradient kernels read: `order [N]` (positions grouped by token, ascending
 * within a token), `segStart [nseg + 1]` (runs of at most {@linkcode EMB_SEGMENT}
 * positions of one token), `uniqRow [nu]` (the tokens), `uniqSeg [nu + 1]` (each token's
 * first run). Reuses its buffers; O(N + distinct tokens).
 */
export class TokenSorter {
  readonly #count: Int32Array;
  readonly #start: Int32Array;
  readonly #uniq: Int32Array;
  #nu = 0;
  #n = 0;
  #from: { rows: Uint32Array; T: number } | null = null;
  /** The packed index: order, segStart, uniqRow, uniqSeg. */
  readonly buffer: Int32Array;

  /**
   * @param vocabSize V: ids are in [0, V)
   * @param maxN the most positions of a batch
   */
  constructor(readonly vocabSize: number, maxN: number) {
    this.#count = new Int32Array(vocabSize);
    this.#start = new Int32Array(vocabSize);
    this.#uniq = new Int32Array(maxN);
    this.buffer = new Int32Array(4 * maxN + 2);
  }

  /**
   * First pass: counts the tokens of `ids [N]`, checking every id is in [0, V). With
   * `from`, the batch is not a copy: position `b·T + t` is `ids[from.rows[b]·T + t]`, so
   * `ids` is the whole split `[n, T]` and no gathered batch is needed.
   * @throws RangeError naming the first bad id (nothing is left counted)
   */
  count(ids: Int32Array, N: number, from?: { rows: Uint32Array; T: number }): void {
    const count = this.#count, uniq = this.#uniq, V = this.vocabSize;
    for (let u = 0; u < this.#nu; u++) count[uniq[u]!] = 0; // an unfinished earlier count
    this.#nu = 0;
    let nu = 0;
    const T = from?.T ?? N, B = from ? N / T : 1;
    for (let b = 0; b < B; b++) {
      const base = from ? from.rows[b]! * T : 0;
      for (let t = 0; t < T; t++) {
        const tok = ids[base + t]!;
        if (!(tok >= 0 && tok < V)) {
          for (let u = 0; u < nu; u++) count[uniq[u]!] = 0;
          throw new RangeError(`Token id ${tok} is outside [0, ${V})`);
        }
        if (count[tok]!++ === 0) uniq[nu++] = tok;
      }
    }
    this.#nu = nu;
    this.#n = N;
    this.#from = from ?? null;
  }

  /**
   * Second pass: writes the index for the ids last counted (`ids` is the array `count`
   * was given, with the same `from`).
   * @returns offsets (in int32 elements) of each part and the used length
   */
  finish(ids: Int32Array): {
    segStart: number;
    uniqRow: number;
    uniqSeg: number;
    nseg: number;
    nu: number;
    length: number;
  } {
    const N = this.#n, nu = this.#nu;
    const count = this.#count, start = this.#start, uniq = this.#uniq, buf = this.buffer;
    let nseg = 0;
    for (let u = 0; u < nu; u++) nseg += Math.ceil(count[uniq[u]!]! / EMB_SEGMENT);
    const segStart = N, uniqRow = segStart + nseg + 1, uniqSeg = uniqRow + nu;
    let pos = 0, s = 0;
    for (let u = 0; u < nu; u++) {
      const tok = uniq[u]!, c = count[tok]!;
      start[tok] = pos;
      buf[uniqRow + u] = tok;
      buf[uniqSeg + u] = s;
      for (let k = 0; k < c; k += EMB_SEGMENT) buf[segStart + s++] = pos + k;
      pos += c;
      count[tok] = 0;
    }
    buf[segStart + nseg] = N;
    buf[uniqSeg + nu] = nseg;
    const from = this.#from;
    if (from === null) {
      for (let i = 0; i < N; i++) buf[start[ids[i]!]!++] = i;
    } else {
      const T = from.T, B = N / T;
      for (let b = 0, i = 0; b < B; b++) {
        const base = from.rows[b]! * T;
        for (let t = 0; t < T; t++, i++) buf[start[ids[base + t]!]!++] = i;
      }
    }
    this.#nu = 0;
    return { segStart, uniqRow, uniqSeg, nseg, nu, length: uniqSeg + nu + 1 };
  }
}
