import {
  deepStrictEqual as assertEquals,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { tokenize } from "../data/tokenizer.ts";
import { featureSet, logCountRatio, nbsvmAccuracy, trainNbsvm } from "./nbsvm.ts";

Deno.test("featureSet() holds each unigram and adjacent bigram once, sorted", () => {
  const f = featureSet(["a", "b", "a", "b"], 2 ** 20);
  // unigrams a, b; bigrams "a b", "b a": four distinct n-grams (barring a collision)
  assertEquals(f.length, 4);
  assert(f.every((x, i) => i === 0 || x > f[i - 1]!));
  assertEquals(featureSet(["b", "a"], 2 ** 20).length, 3);
  // order matters for bigrams: "a b" and "b a" hash apart
  assert(featureSet(["a", "b"], 2 ** 20).join() !== featureSet(["b", "a"], 2 ** 20).join());
  assertThrows(() => featureSet(["a"], 1000), /power of two/);
});

Deno.test("logCountRatio() follows Wang & Manning's formula with smoothing alpha", () => {
  // Two buckets; bucket 0 in one positive review, bucket 1 in one negative review.
  const r = logCountRatio([Uint32Array.of(0), Uint32Array.of(1)], [1, 0], 2, 1);
  // p = [2, 1], q = [1, 2]: r = log((p/3) / (q/3)) = [log 2, -log 2]
  assert(Math.abs(r[0]! - Math.log(2)) < 1e-6 && Math.abs(r[1]! + Math.log(2)) < 1e-6);
});

Deno.test("trainNbsvm() separates reviews that differ by a sentiment word and a bigram", () => {
  const pos = ["a good film", "good acting and a good plot", "not bad at all", "really good"];
  const neg = ["a bad film", "bad acting and a bad plot", "not good at all", "really bad"];
  const texts = [...pos, ...neg];
  const labels = Uint8Array.from(texts, (_, i) => i < pos.length ? 1 : 0);
  const features = texts.map((t) => featureSet(tokenize(t), 2 ** 16));
  const model = trainNbsvm(features, labels, { buckets: 2 ** 16, epochs: 20 });
  assertEquals(nbsvmAccuracy(model, features, labels), 1);
  const same = trainNbsvm(features, labels, { buckets: 2 ** 16, epochs: 20 });
  assertEquals([...same.weights], [...model.weights], "the same seed gives the same model");
});
