import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CACHE_MAGIC } from "./_cache.ts";
import { type DataOptions, type EncodedDataset, encodeSplits, loadDataset } from "./dataset.ts";
import { encodeTokens } from "./encode.ts";
import { DEFAULT_FIXTURE_URL, loadFixture } from "./imdb.ts";
import { tokenize } from "./tokenizer.ts";
import { buildVocab } from "./vocab.ts";
import { fakeImdbPackage } from "./_testing.ts";

const FIXTURE = fileURLToPath(DEFAULT_FIXTURE_URL);

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-data-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function options(cacheDir: string, extra: Partial<DataOptions> = {}): DataOptions {
  return {
    source: "fixture",
    fixturePath: FIXTURE,
    maxLen: 64,
    padding: "end",
    cacheDir,
    ...extra,
  };
}

function sameData(a: EncodedDataset, b: EncodedDataset): void {
  assertEquals(a.datasetHash, b.datasetHash);
  assertEquals(a.vocabSize, b.vocabSize);
  assertEquals(a.train.n, b.train.n);
  assertEquals(a.test.n, b.test.n);
  assert(a.train.ids.every((v, i) => v === b.train.ids[i]), "train ids differ");
  assert(a.test.ids.every((v, i) => v === b.test.ids[i]), "test ids differ");
  assertEquals([...a.train.labels], [...b.train.labels]);
  assertEquals([...a.test.labels], [...b.test.labels]);
}

Deno.test("loadDataset() encodes the fixture with a vocabulary built from train only", async () => {
  await withTempDir(async (dir) => {
    const ds = await loadDataset(options(dir, { maxLen: 200 }));
    assertEquals([ds.train.n, ds.test.n], [800, 400]);
    assertEquals(ds.train.ids.length, 800 * 200);
    assertEquals(ds.vocabSize, 15_781);
    assertEquals([ds.trainPositiveFraction, ds.testPositiveFraction], [0.5, 0.5]);
    assertEquals(ds.source, `fixture:${join("fixtures", "imdb_small.json")}`);
    assertEquals(ds.datasetHash.length, 16);
    // Rows agree with tokenize → buildVocab(train) → encodeTokens.
    const { train, test } = await loadFixture(FIXTURE);
    const vocab = buildVocab(train.map((r) => tokenize(r.text)));
    for (const [split, reviews] of [[ds.train, train], [ds.test, test]] as const) {
      const half = reviews.length / 2;
      for (const i of [0, 1, half - 1, half, reviews.length - 1]) {
        const row = new Int32Array(200);
        encodeTokens(tokenize(reviews[i]!.text), vocab, 200, "end", row, 0);
        assertEquals([...split.ids.subarray(i * 200, (i + 1) * 200)], [...row]);
        assertEquals(split.labels[i], reviews[i]!.label);
      }
    }
    // Test-only words are unknown (0), not new ids.
    const testTokens = test.flatMap((r) => tokenize(r.text));
    assert(testTokens.some((t) => !vocab.stoi.has(t)));
    assert(ds.test.ids.every((id) => id >= 0 && id < ds.vocabSize));
  });
});

Deno.test("loadDataset() writes the cache once and reads it back identically", async () => {
  await withTempDir(async (dir) => {
    const first = await loadDataset(options(dir));
    assertEquals(first.fromCache, false);
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      [`${first.datasetHash}.bin`],
      "one cache file and no temporary file",
    );
    const logs: string[] = [];
    const second = await loadDataset(options(dir), (m) => logs.push(m));
    assertEquals(second.fromCache, true);
    assert(logs.some((m) => m.includes("from cache")), logs.join("\n"));
    sameData(first, second);
    assertEquals(second.trainPositiveFraction, first.trainPositiveFraction);
  });
});

Deno.test("loadDataset() warns about a corrupt or truncated cache file, names it, and rebuilds", async () => {
  await withTempDir(async (dir) => {
    const good = await loadDataset(options(dir));
    const file = join(dir, `${good.datasetHash}.bin`);
    const original = await Deno.readFile(file);
    const corruptions: [string, (b: Uint8Array) => Uint8Array][] = [
      ["truncated", (b) => b.slice(0, b.length >> 1)],
      ["one byte short", (b) => b.slice(0, b.length - 1)],
      ["empty", () => new Uint8Array(0)],
      ["flipped payload byte", (b) => {
        const c = b.slice();
        c[c.length - 2000]! ^= 0x40;
        return c;
      }],
      ["wrong magic", (b) => {
        const c = b.slice();
        c[0] = 0;
        return c;
      }],
      ["wrong version", (b) => {
        const c = b.slice();
        new DataView(c.buffer).setUint32(8, 99, true);
        return c;
      }],
      ["header length past the end", (b) => {
        const c = b.slice();
        new DataView(c.buffer).setUint32(12, 0x7fffffff, true);
        return c;
      }],
      ["garbage", (b) => b.map((_, i) => (i * 7919) & 0xff)],
    ];
    for (const [what, corrupt] of corruptions) {
      await Deno.writeFile(file, corrupt(original));
      const logs: string[] = [];
      const rebuilt = await loadDataset(options(dir), (m) => logs.push(m));
      const warning = logs.find((m) => m.startsWith("Warning: cannot use cached dataset"));
      assert(warning !== undefined && warning.includes(file), `${what}: ${logs.join("\n")}`);
      assert(warning.includes("rebuilding"), warning);
      assertEquals(rebuilt.fromCache, false, what);
      sameData(rebuilt, good);
      // The rebuilt file is intact again.
      assertEquals(await Deno.readFile(file), original, what);
    }
    assertEquals(new TextDecoder().decode(original.subarray(0, 8)), CACHE_MAGIC);
  });
});

Deno.test("datasetHash depends on the source bytes, maxLen, padding and vocabulary limits, not the path", async () => {
  await withTempDir(async (dir) => {
    const base = await loadDataset(options(dir));
    const hashes = new Set([base.datasetHash]);
    for (
      const extra of [{ maxLen: 65 }, { padding: "start" as const }, { vocabMaxSize: 1000 }, {
        vocabMinFreq: 2,
      }]
    ) {
      const ds = await loadDataset(options(dir, extra));
      assert(!hashes.has(ds.datasetHash), JSON.stringify(extra));
      hashes.add(ds.datasetHash);
    }
    const copy = join(dir, "copy.json");
    await Deno.copyFile(FIXTURE, copy);
    assertEquals(
      (await loadDataset(options(dir, { fixturePath: copy }))).datasetHash,
      base.datasetHash,
    );
    const text = await Deno.readTextFile(FIXTURE);
    await Deno.writeTextFile(copy, text.replace("Story of a man", "Story of a woman"));
    const changed = await loadDataset(options(dir, { fixturePath: copy }));
    assertNotEquals(changed.datasetHash, base.datasetHash);
  });
});

Deno.test("loadDataset() pads at the start and caps the vocabulary when asked", async () => {
  await withTempDir(async (dir) => {
    const ds = await loadDataset(
      options(dir, { padding: "start", vocabMaxSize: 100, maxLen: 300 }),
    );
    assertEquals(ds.vocabSize, 100);
    assert(ds.train.ids.every((id) => id < 100));
    // The first train review (Story of a man ...) is shorter than 300 tokens: zeros come first.
    const row = ds.train.ids.subarray(0, 300);
    assertEquals(row[0], 0);
    assert(row[299] !== 0); // its last token is "." (id 2)
  });
});

Deno.test("loadDataset() still returns the data when the cache cannot be written", async () => {
  await withTempDir(async (dir) => {
    const notADir = join(dir, "file");
    await Deno.writeTextFile(notADir, "");
    const logs: string[] = [];
    const ds = await loadDataset(options(notADir), (m) => logs.push(m));
    assertEquals(ds.train.n, 800);
    assert(
      logs.some((m) => m.startsWith("Warning: cannot write the dataset cache")),
      logs.join("\n"),
    );
  });
});

Deno.test("loadDataset() rejects bad options with a message", async () => {
  await assertRejects(
    () => loadDataset(options("x", { maxLen: 0 })),
    /maxLen must be an integer ≥ 1/,
  );
  await assertRejects(
    () => loadDataset(options("x", { padding: "middle" as "end" })),
    /padding must be "end" or "start"/,
  );
  await assertRejects(
    () => loadDataset(options("x", { keepTokens: "middle" as "first" })),
    /keepTokens must be "first" or "last", got "middle"/,
  );
  await assertRejects(
    () => loadDataset(options("x", { fixturePath: "/nonexistent.json" })),
    /Cannot read fixture "\/nonexistent.json": the file does not exist/,
  );
});

Deno.test("encodeSplits() rows equal encodeTokens() with the train vocabulary, both paddings and keeps", async () => {
  const splits = await loadFixture(FIXTURE);
  const cases = [["end", "first"], ["start", "first"], ["end", "last"], ["start", "last"]] as const;
  // maxLen 100 cuts most fixture reviews, and exact multiples of it exercise the ring buffer.
  for (const [padding, keepTokens] of cases) {
    const { vocab, train, test } = encodeSplits(splits, {
      maxLen: 100,
      padding,
      keepTokens,
      vocabMaxSize: 500,
    });
    assertEquals(vocab.itos.length, 500);
    assertEquals(
      vocab.itos,
      buildVocab(splits.train.map((r) => tokenize(r.text)), { maxSize: 500 }).itos,
    );
    for (const [split, reviews] of [[train, splits.train], [test, splits.test]] as const) {
      const row = new Int32Array(100);
      for (let i = 0; i < reviews.length; i++) {
        encodeTokens(tokenize(reviews[i]!.text), vocab, 100, padding, row, 0, keepTokens);
        const got = split.ids.subarray(i * 100, (i + 1) * 100);
        assert(got.every((v, k) => v === row[k]), `${padding}/${keepTokens} row ${i}`);
      }
    }
  }
});

Deno.test("loadDataset() serves an imdb cache when the data file is gone but its SHA-256 is known", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "reviews.json");
    const bytes = new TextEncoder().encode(JSON.stringify(fakeImdbPackage()));
    await Deno.writeFile(file, bytes);
    const sha = createHash("sha256").update(bytes).digest("hex");
    const opts = (extra: Partial<DataOptions>): DataOptions => ({
      source: "imdb",
      imdbPath: file,
      maxLen: 16,
      padding: "end",
      cacheDir: join(dir, "cache"),
      ...extra,
    });
    const built = await loadDataset(opts({}));
    assertEquals(built.fromCache, false);
    await Deno.remove(file);
    // No hash given for an explicit path: the old error, nothing about caches.
    await assertRejects(() => loadDataset(opts({})), (e: Error) => {
      assert(/does not exist; run `deno install`/.test(e.message), e.message);
      assert(!/cache/.test(e.message), e.message);
      return true;
    });
    const lines: string[] = [];
    const cached = await loadDataset(opts({ imdbSha256: sha }), (m) => lines.push(m));
    assertEquals(cached.fromCache, true);
    sameData(built, cached);
    assert(lines.some((l) => l.includes("is not here") && l.includes(sha)), lines.join("\n"));
    // A hash with no cache entry, and a cache entry that is damaged: say so, name the file.
    await assertRejects(
      () => loadDataset(opts({ imdbSha256: "0".repeat(64) })),
      /does not exist; run `deno install`.*a cache ".*\.bin" built from it would do, but it does not exist/,
    );
    await assertRejects(
      () => loadDataset(opts({ imdbSha256: "abc" })),
      /imdbSha256 must be 64 lower-case hex digits, got "abc"/,
    );
    const entry = join(dir, "cache", `${built.datasetHash}.bin`);
    await Deno.writeFile(entry, (await Deno.readFile(entry)).subarray(0, 100));
    await assertRejects(
      () => loadDataset(opts({ imdbSha256: sha })),
      /a cache ".*\.bin" built from it would do, but it is unusable \(/,
    );
  });
});

Deno.test("the fixture's source name is relative to the repository whatever the working folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const module = new URL("./dataset.ts", import.meta.url).href;
    const code = `const { loadDataset } = await import(${JSON.stringify(module)});
      const ds = await loadDataset({ source: "fixture", maxLen: 8, padding: "end",
        cacheDir: ${JSON.stringify(`${dir}/cache`)} });
      console.log(ds.source);`;
    // In a child started in another folder: this process's working folder is shared by every
    // test file running in it, so it is never changed here.
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    const err = new TextDecoder().decode(out.stderr);
    if (text !== "fixture:fixtures/imdb_small.json") {
      throw new Error(`source from ${dir}: ${JSON.stringify(text)} ${err}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
