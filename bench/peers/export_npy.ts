/**
 * Exports the suite's encoded IMDB splits as `.npy` files for the PyTorch peers, so they
 * train on exactly the ids and labels the suite's engines see:
 * `train_ids.npy` (int32 `[25000, 200]`), `train_labels.npy` (uint8 `[25000]`, 1 =
 * positive), `test_ids.npy`, `test_labels.npy`, and `meta.json` (dataset hash, vocabulary
 * size, maxLen, padding). Written into `<dir>/<datasetHash>/` as a cache entry of
 * `bench/util/cache_entry.ts` (sealed with checksums, renamed into place); an export that is
 * already there is checked and reused, or, damaged, reported and written again.
 *
 * Run: `deno run -A bench/peers/export_npy.ts [--profile original] [--out .cache/peers]`
 * (prints the directory).
 *
 * @module
 */
import { Option } from "commander";
import type { EncodedDataset } from "../data/dataset.ts";
import { cacheDir } from "../util/cache_dir.ts";
import { checkEntry, commitEntry, discardEntry, startEntry } from "../util/cache_entry.ts";
import { getProfile, loadProfileData } from "../profiles.ts";
import { command, parseOrExit } from "../util/cli_kit.ts";
import { profileOption } from "../util/shared_flags.ts";
import { encodeNpy } from "./npy.ts";

/** What `meta.json` of an export holds. */
export interface NpyExportMeta {
  readonly datasetHash: string;
  readonly source: string;
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly padding: string;
  readonly trainSize: number;
  readonly testSize: number;
}

/** The default export directory: `cacheDir("peers")` (the repository's `.cache/peers`). */
export function defaultPeersDir(): string {
  return cacheDir("peers");
}

/**
 * Writes a dataset's splits as `.npy` (once per dataset hash).
 * @param ds the encoded dataset
 * @param dir the parent directory @default defaultPeersDir()
 * @param log where the note of a rebuild goes @default console.error
 * @returns the directory holding the files
 */
export async function exportNpy(
  ds: EncodedDataset,
  dir: string = defaultPeersDir(),
  log: (line: string) => void = (line) => console.error(line),
): Promise<string> {
  const final = `${dir}/${ds.datasetHash}`;
  const files = [
    "train_ids.npy",
    "train_labels.npy",
    "test_ids.npy",
    "test_labels.npy",
    "meta.json",
  ];
  const found = await checkEntry(final, files);
  if (found === "ok") return final;
  if (found !== "missing") {
    log(`Warning: the .npy export "${final}" cannot be used: ${found.damaged}; it is rebuilt`);
    await discardEntry(final);
  }
  const build = await startEntry(dir, ds.datasetHash);
  const tmp = build.path;
  try {
    const T = ds.maxLen;
    await Deno.writeFile(`${tmp}/train_ids.npy`, encodeNpy(ds.train.ids, [ds.train.n, T]));
    await Deno.writeFile(`${tmp}/train_labels.npy`, encodeNpy(ds.train.labels, [ds.train.n]));
    await Deno.writeFile(`${tmp}/test_ids.npy`, encodeNpy(ds.test.ids, [ds.test.n, T]));
    await Deno.writeFile(`${tmp}/test_labels.npy`, encodeNpy(ds.test.labels, [ds.test.n]));
    const meta: NpyExportMeta = {
      datasetHash: ds.datasetHash,
      source: ds.source,
      vocabSize: ds.vocabSize,
      maxLen: T,
      padding: ds.padding,
      trainSize: ds.train.n,
      testSize: ds.test.n,
    };
    await Deno.writeTextFile(`${tmp}/meta.json`, JSON.stringify(meta, null, 2) + "\n");
    await commitEntry(build, final, files);
  } finally {
    await build.dispose();
  }
  return final;
}

if (import.meta.main) {
  const values = parseOrExit(
    command("export_npy", "Export a profile's encoded IMDB splits as .npy for the PyTorch peers.")
      .addOption(profileOption("profile whose dataset is exported"))
      .addOption(
        new Option("--out <dir>", "parent folder of the export")
          .default(defaultPeersDir(), ".cache/peers"),
      ),
    Deno.args,
  ).opts<{ profile: string; out: string }>();
  const ds = await loadProfileData(getProfile(values.profile), (s) => console.error(s));
  console.log(await exportNpy(ds, values.out));
}
