/**
 * A string interner keyed by spans of a larger string (private to `dataset.ts`).
 *
 * Counting 6.7 million tokens in a `Map<string, …>` spends most of its time creating each
 * token string and hashing it in the engine; this table hashes the span's characters
 * directly (FNV-1a, open addressing) and creates a string only for a new token.
 *
 * @module
 */

const EMPTY = -1;

/** Distinct tokens, numbered 0, 1, 2, … in the order first seen. */
export class TokenInterner {
  /** The tokens by number. */
  readonly tokens: string[] = [];
  #slots = new Int32Array(1 << 16).fill(EMPTY);
  #hashes = new Int32Array(1 << 15);

  /** Number of distinct tokens. */
  get size(): number {
    return this.tokens.length;
  }

  /**
   * The number of the token `line.slice(start, end)`.
   * @param line the string holding the token
   * @param start first character of the token
   * @param end one past its last character
   * @param insert whether to add a token not seen yet
   * @returns its number, or -1 when it is new and `insert` is false
   */
  find(line: string, start: number, end: number, insert: boolean): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ line.charCodeAt(i), 0x01000193);
    const slots = this.#slots;
    const mask = slots.length - 1;
    let k = h & mask;
    for (;;) {
      const id = slots[k]!;
      if (id === EMPTY) break;
      if (this.#hashes[id] === h && sameSpan(this.tokens[id]!, line, start, end)) return id;
      k = (k + 1) & mask;
    }
    if (!insert) return -1;
    const id = this.tokens.length;
    this.tokens.push(line.slice(start, end));
    if (id === this.#hashes.length) {
      const grown = new Int32Array(id * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[id] = h;
    slots[k] = id;
    if (2 * this.tokens.length > slots.length) this.#rehash(slots.length * 2);
    return id;
  }

  #rehash(capacity: number): void {
    const slots = new Int32Array(capacity).fill(EMPTY);
    const mask = capacity - 1;
    for (let id = 0; id < this.tokens.length; id++) {
      let k = this.#hashes[id]! & mask;
      while (slots[k] !== EMPTY) k = (k + 1) & mask;
      slots[k] = id;
    }
    this.#slots = slots;
  }
}

function sameSpan(token: string, line: string, start: number, end: number): boolean {
  if (token.length !== end - start) return false;
  for (let j = 0; j < token.length; j++) {
    if (token.charCodeAt(j) !== line.charCodeAt(start + j)) return false;
  }
  return true;
}
