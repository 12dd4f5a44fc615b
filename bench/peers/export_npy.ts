/**
 * Exports the suite's encoded IMDB splits as `.npy` files for the PyTorch peers, so they
 * train on exactly the ids and labels the suite's engines see:
 * `train_ids.npy` (int32 `[25000, 200]`), `train_labels.npy` (uint8 `[25000]`, 1 =
 * positive), `test_ids.npy`, `test_labels.npy`, and `meta.json` (dataset hash, vocabulary
 * size, maxLen, padding, and each file's size and SHA-256). Written into a temporary folder,
 * each file flushed to disk, then renamed to `<dir>/<datasetHash>/`; an export that is already
 * there is reused when its files match `meta.json`, and rebuilt, saying so, when they do not.
 *
 * Run: `deno run -A bench/peers/export_npy.ts [--profile original] [--out .cache/peers]`
 * (prints the directory).
 *
 * @module
 */
import { Option } from "commander";
import type { EncodedDataset } from "../data/dataset.ts";
import { getProfile, loadProfileData } from "../profiles.ts";
import { command, parseOrExit } from "../util/cli_kit.ts";
import { profileOption } from "../util/shared_flags.ts";
import { encodeNpy } from "./npy.ts";
import { createHash } from "node:crypto";
import { writeFileAtomic } from "../util/atomic.ts";
import { osReason } from "../util/output_path.ts";

/** What `meta.json` of an export holds. */
export interface NpyExportMeta {
  readonly datasetHash: string;
  readonly source: string;
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly padding: string;
  readonly trainSize: number;
  readonly testSize: number;
  /** Each `.npy` file's size and SHA-256 (hex), checked before an export is reused. */
  readonly files: Readonly<Record<string, { bytes: number; sha256: string }>>;
}

/** The default export directory: `.cache/peers` at the repository root. */
export function defaultPeersDir(): string {
  return new URL("../../.cache/peers", import.meta.url).pathname;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The `.npy` files of an export, by name. */
function npyFiles(ds: EncodedDataset): Record<string, Uint8Array> {
  const T = ds.maxLen;
  return {
    "train_ids.npy": encodeNpy(ds.train.ids, [ds.train.n, T]),
    "train_labels.npy": encodeNpy(ds.train.labels, [ds.train.n]),
    "test_ids.npy": encodeNpy(ds.test.ids, [ds.test.n, T]),
    "test_labels.npy": encodeNpy(ds.test.labels, [ds.test.n]),
  };
}

const NPY_NAMES = ["train_ids.npy", "train_labels.npy", "test_ids.npy", "test_labels.npy"];

/**
 * Why the export in `at` cannot be used for `ds`, or null when it can: `"missing"` when there
 * is none, else what is wrong with it.
 */
async function exportProblem(at: string, ds: EncodedDataset): Promise<string | null> {
  let meta: NpyExportMeta;
  try {
    meta = JSON.parse(await Deno.readTextFile(`${at}/meta.json`));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return "meta.json is not JSON";
    try {
      await Deno.stat(at);
    } catch {
      return "missing";
    }
    return "meta.json is missing";
  }
  if (meta?.datasetHash !== ds.datasetHash || typeof meta.files !== "object") {
    return "meta.json is damaged or of an older version";
  }
  for (const name of NPY_NAMES) {
    const want = meta.files[name];
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${at}/${name}`);
    } catch {
      return `${name} is missing`;
    }
    if (want === undefined || bytes.length !== want.bytes) {
      return `${name} has ${bytes.length} bytes, not ${want?.bytes}`;
    }
    if (sha256Hex(bytes) !== want.sha256) return `${name} does not match its SHA-256`;
  }
  return null;
}

/**
 * Writes a dataset's splits as `.npy` (once per dataset hash). An export already there is
 * checked (sizes and SHA-256 of its files) and reused; a damaged one is rebuilt, saying so.
 * @throws {Error} Naming the export's folder and why, when it cannot be written.
 * @param ds the encoded dataset
 * @param dir the parent directory @default defaultPeersDir()
 * @param log where the note of a rebuild goes
 * @returns the directory holding the files
 */
export async function exportNpy(
  ds: EncodedDataset,
  dir: string = defaultPeersDir(),
  log: (line: string) => void = () => {},
): Promise<string> {
  const final = `${dir}/${ds.datasetHash}`;
  const problem = await exportProblem(final, ds);
  if (problem === null) return final;
  await Deno.mkdir(dir, { recursive: true });
  if (problem !== "missing") {
    // Moved aside first, so that a process reading it never sees it half removed.
    const aside = `${dir}/.damaged-${ds.datasetHash}-${crypto.randomUUID().slice(0, 8)}`;
    await Deno.rename(final, aside).catch(() => {});
    await Deno.remove(aside, { recursive: true }).catch(() => {});
    log(`The peers' .npy export "${final}" was unusable (${problem}): rebuilt it`);
  }
  const tmp = await Deno.makeTempDir({ dir, prefix: `.tmp-${ds.datasetHash}-` });
  try {
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const [name, bytes] of Object.entries(npyFiles(ds))) {
      await writeFileAtomic(`${tmp}/${name}`, bytes); // flushed to disk before the rename below
      files[name] = { bytes: bytes.length, sha256: sha256Hex(bytes) };
    }
    const meta: NpyExportMeta = {
      datasetHash: ds.datasetHash,
      source: ds.source,
      vocabSize: ds.vocabSize,
      maxLen: ds.maxLen,
      padding: ds.padding,
      trainSize: ds.train.n,
      testSize: ds.test.n,
      files,
    };
    await writeFileAtomic(
      `${tmp}/meta.json`,
      new TextEncoder().encode(JSON.stringify(meta, null, 2) + "\n"),
    );
    try {
      await Deno.rename(tmp, final);
    } catch (e) {
      // Another process finished first: its export will do if it is whole.
      if ((await exportProblem(final, ds)) !== null) throw e;
    }
  } catch (e) {
    throw new Error(
      `Cannot export the data for the PyTorch peers to "${final}": ${osReason(e)}`,
      { cause: e },
    );
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
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
