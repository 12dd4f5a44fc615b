import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { loadDataset } from "../data/dataset.ts";
import { carveValidation, validationSplitRows } from "../data/validation.ts";
import { VALIDATION_SEED } from "../run.ts";
import { REFERENCE_MODEL, trainReferenceLine } from "./reference_line.ts";

const root = new URL("../..", import.meta.url).pathname;

Deno.test("trainReferenceLine() with a validation share evaluates the runs' validation rows, not test", async () => {
  const line = await trainReferenceLine({
    source: "fixture",
    validation: 0.2,
    validationSeed: VALIDATION_SEED,
    log: () => {},
  });
  const ds = await loadDataset(
    { source: "fixture", maxLen: 8, padding: "end", cacheDir: `${root}.cache/data` },
  );
  const runs = carveValidation(ds.train, 0.2, VALIDATION_SEED);
  assertEquals(line.model, REFERENCE_MODEL);
  assertEquals(line.validationSize, runs.validation.n);
  assertEquals(line.testSize, runs.validation.n);
  assertEquals(line.trainSize, runs.train.n);
  assert(line.testAccuracy >= 0 && line.testAccuracy <= 1 && line.trainSeconds >= 0);
});

Deno.test("trainReferenceLine() carves its validation split as the runs do (chunks)", async () => {
  const line = await trainReferenceLine({
    source: "fixture",
    validation: 0.2,
    validationSeed: VALIDATION_SEED,
    validationCarve: "chunks",
    log: () => {},
  });
  const ds = await loadDataset(
    { source: "fixture", maxLen: 8, padding: "end", cacheDir: `${root}.cache/data` },
  );
  const rows = validationSplitRows(ds.train, 0.2, VALIDATION_SEED, "chunks");
  assertEquals(line.validationCarve, "chunks");
  assertEquals([line.trainSize, line.testSize], [
    rows.trainRows.length,
    rows.validationRows.length,
  ]);
  // The evaluated reviews are the chunks carve's, not the random carve's: the accuracy differs.
  const random = await trainReferenceLine({
    source: "fixture",
    validation: 0.2,
    validationSeed: VALIDATION_SEED,
    log: () => {},
  });
  assertEquals(random.validationCarve, "random");
  assert(random.testAccuracy !== line.testAccuracy, `both ${line.testAccuracy}`);
});

Deno.test("trainReferenceLine() without validation evaluates the whole test split", async () => {
  const line = await trainReferenceLine({
    source: "fixture",
    validation: 0,
    validationSeed: VALIDATION_SEED,
    log: () => {},
  });
  const ds = await loadDataset(
    { source: "fixture", maxLen: 8, padding: "end", cacheDir: `${root}.cache/data` },
  );
  assertEquals([line.trainSize, line.testSize, line.validationSize], [ds.train.n, ds.test.n, null]);
});
