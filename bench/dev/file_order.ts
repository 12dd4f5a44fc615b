/**
 * Measures how the IMDB package's file order groups a movie's reviews, and what that does to a
 * validation split: the figures of bench/notes/data.md ("The file order and the validation
 * carves").
 *
 * ```sh
 * deno run -A bench/dev/file_order.ts
 * ```
 *
 * 1. For each class of train, in file order: a review's RARE NAMES are its capitalised words
 *    of 4 or more letters that 2 to 30 reviews of the class contain (IMDB has at most 30
 *    reviews per movie, so a movie's title and cast words are rare names). A review's nearest
 *    review is the one sharing the most rare names with it (at least 2); the tool prints how
 *    often that review lies within 30 rows of it. Reviews in a random order would put it
 *    within 30 rows about 60 / 12,500 = 0.5 % of the time.
 * 2. The NBSVM reference line (bench/reference/) trained and evaluated on each validation
 *    carve of 0.2 of train (seed 1, as the sweeps), and on train against test.
 *
 * @module
 */
import { loadImdbPackage } from "../data/imdb.ts";
import { VALIDATION_CARVES } from "../data/validation.ts";
import { trainReferenceLine } from "../reference/reference_line.ts";
import { VALIDATION_SEED } from "../run.ts";

/** The words of a review that can name a movie, its cast or its places. */
function capitalised(text: string): Set<string> {
  return new Set(text.match(/\b[A-Z][a-z]{3,}\b/g) ?? []);
}

/**
 * For each review that shares 2 or more rare names with another, the distance in rows to the
 * review sharing the most (the first of equals).
 */
function nearestDistances(texts: readonly string[]): number[] {
  const words = texts.map(capitalised);
  const df = new Map<string, number>();
  for (const w of words) for (const x of w) df.set(x, (df.get(x) ?? 0) + 1);
  const holders = new Map<string, number[]>();
  const rare = words.map((w, i) => {
    const r = [...w].filter((x) => df.get(x)! >= 2 && df.get(x)! <= 30);
    for (const x of r) {
      const list = holders.get(x) ?? [];
      list.push(i);
      holders.set(x, list);
    }
    return r;
  });
  const distances: number[] = [];
  rare.forEach((r, i) => {
    const shared = new Map<number, number>();
    for (const x of r) {
      for (const j of holders.get(x)!) if (j !== i) shared.set(j, (shared.get(j) ?? 0) + 1);
    }
    let best = -1, most = 1;
    for (const [j, k] of shared) if (k > most) [best, most] = [j, k];
    if (best >= 0) distances.push(Math.abs(best - i));
  });
  return distances;
}

const { train } = await loadImdbPackage();
for (const cls of [0, 1]) {
  const texts = train.filter((r) => r.label === cls).map((r) => r.text);
  const d = nearestDistances(texts);
  const within = (n: number) => (d.filter((x) => x <= n).length / d.length).toFixed(3);
  console.log(
    `train, label ${cls}: ${d.length} of ${texts.length} reviews share ≥ 2 rare names with ` +
      `another; the nearest is within 30 rows for ${within(30)}, within 300 for ${within(300)}`,
  );
}
for (const carve of VALIDATION_CARVES) {
  await trainReferenceLine({
    source: "imdb",
    validation: 0.2,
    validationSeed: VALIDATION_SEED,
    validationCarve: carve,
    log: (line) => console.log(`carve ${carve}: ${line}`),
  });
}
await trainReferenceLine({
  source: "imdb",
  validation: 0,
  validationSeed: VALIDATION_SEED,
  log: (line) => console.log(`no carve: ${line}`),
});
