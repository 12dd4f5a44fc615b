/**
 * Seeded pseudo-random numbers shared by every engine, so that initialisation and
 * shuffling never depend on the engine: the same seed gives the same weights and the
 * same batch order everywhere.
 *
 * Generator: SplitMix32-seeded sfc32 (Small Fast Counter, Doty-Humphrey), 32-bit state
 * words, period ≥ 2^32. Normals: Box–Muller on two uniforms.
 *
 * @module
 */

/**
 * A deterministic random stream.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = new Rng(42), b = new Rng(42);
 * console.log(a.normal() === b.normal()); // true: same seed, same numbers
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare: number | null = null;

  /**
   * Starts the stream of a seed and sub-stream.
   *
   * @param seed Any integer; streams for different seeds are independent for our use.
   * @param stream Optional sub-stream id, so one seed can derive several streams
   *   (e.g. init vs shuffling) without them overlapping.
   */
  constructor(seed: number, stream = 0) {
    let s = (Math.trunc(seed) ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /**
   * Draws the next 32 random bits.
   * @returns a uniform integer in [0, 2^32)
   */
  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /**
   * Draws a uniform float from two 32-bit draws.
   * @returns a uniform float in [0, 1) with 53 random bits
   */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * Draws a uniform float in a range.
   * @param lo the lower bound (included)
   * @param hi the upper bound (excluded)
   * @returns a uniform float in [lo, hi)
   */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /**
   * Draws a standard normal sample (Box–Muller: each pair of uniforms gives two samples,
   * the second kept for the next call).
   * @returns a sample of N(0, 1)
   */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Fills `out[start..end)` with standard normal samples: exactly the values that as many
   * calls of {@linkcode Rng.normal} would return, and the same state after, only faster (the
   * generator's state kept in locals; a parameter initialisation draws millions).
   * @param out where the samples go
   * @param start the first index written
   * @param end one past the last index written
   */
  fillNormal(out: Float64Array, start: number, end: number): void {
    let i = start;
    if (i < end && this.#spare !== null) {
      out[i++] = this.#spare;
      this.#spare = null;
    }
    let a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const draws = new Uint32Array(4);
    while (i < end) {
      // sfc32 (as nextUint32), inlined: four draws, two uniforms (as uniform)
      let u = 0, v = 0;
      do {
        for (let k = 0; k < 4; k++) {
          const t = (((a + b) >>> 0) + d) >>> 0;
          d = (d + 1) >>> 0;
          a = b ^ (b >>> 9);
          b = (c + (c << 3)) >>> 0;
          c = ((c << 21) | (c >>> 11)) >>> 0;
          c = (c + t) >>> 0;
          draws[k] = t;
          // u is drawn again (two draws) while it is 0, before v's two
          if (k === 1) {
            u = ((draws[0]! >>> 5) * 67108864 + (draws[1]! >>> 6)) / 9007199254740992;
            if (u === 0) break;
          }
        }
      } while (u === 0);
      v = ((draws[2]! >>> 5) * 67108864 + (draws[3]! >>> 6)) / 9007199254740992;
      const r = Math.sqrt(-2 * Math.log(u));
      out[i++] = r * Math.cos(2 * Math.PI * v);
      if (i < end) out[i++] = r * Math.sin(2 * Math.PI * v);
      else this.#spare = r * Math.sin(2 * Math.PI * v);
    }
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
  }

  /**
   * Draws an integer below `n`, rejecting the draws that would bias the modulo.
   * @param n how many values, an integer in [1, 2^32]
   * @returns an integer uniform in [0, n)
   * @throws RangeError when `n` is out of range
   */
  below(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new RangeError(`Cannot draw below ${n}: n must be an integer in [1, 2^32]`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }
}

/**
 * A Fisher–Yates permutation of `0..n-1`.
 * @param n how many indices
 * @param rng the random stream to draw from
 * @returns the permutation
 */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Stream ids, so that init and shuffling of one seed never share random numbers. */
export const STREAM = { init: 1, shuffle: 2, split: 3, dropout: 4 } as const;
