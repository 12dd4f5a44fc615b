/**
 * The CUDA engine's HOST work per original-profile epoch, measured without a GPU: the same
 * epoch loop as `deno task gpu-check` (`timeEpochs`: batches of the real encoded dataset,
 * staging, the token sort, every driver call, the logits copied back, the meters) on the
 * CPU emulator with every kernel launch skipped (`RNNBENCH_EMU_SKIP=*`), so that what is
 * left is what the host spends. On a GPU most of it overlaps with kernels, but not all:
 * each step waits for its logits, so the next step's batch assembly and staging run while
 * the GPU is idle. It bounds from below what the host adds to a GPU epoch. Then parts of
 * it alone, medians over one epoch's train batches: gathering a batch's ids from the split
 * (`batches()` does it when `ids` is first read; the CUDA engine reads a resident split by
 * rows and never does) and the token sort of the embedding gradient, from gathered ids or
 * from the split by rows (the CUDA engine's way; it runs while the recurrence runs).
 *
 * ```sh
 * deno run -A bench/dev/cuda_host_bench.ts                 # all three, 3 epochs each
 * deno run -A bench/dev/cuda_host_bench.ts --arch lstm --epochs 5
 * ```
 *
 * The emulator's driver calls are cheaper than the real driver's (no queue, no DMA), so the
 * figure is a lower bound of the host's share, not a prediction of the epoch.
 *
 * @module
 */
import type { Arch } from "../../models/cells.ts";
import { batches, epochOrder } from "../data/batches.ts";
import { timeEpochs } from "../tools/gpu_check.ts";
import { getProfile, loadProfileData } from "../profiles.ts";
import { TokenSorter } from "../engines/cuda/token_sorter.ts";
import type { Engine } from "../engines/engine.ts";
import { emulatorTuning, forwardingEngine } from "../engines/_testing.ts";
import { command, integer, parseOrExit } from "../util/cli_kit.ts";
import { archsOption, profileOption } from "../util/shared_flags.ts";

const values = parseOrExit(
  command("cuda_host_bench", "The CUDA engine's host work per epoch, on the CPU emulator.")
    .addOption(archsOption())
    .option("--epochs <n>", "epochs per architecture", integer("--epochs", 1, 20), 3)
    .addOption(profileOption("profile whose data and shape are used")),
  Deno.args,
).opts<{ arch: Arch[]; epochs: number; profile: string }>();
const archs = values.arch;
const epochs = values.epochs;
Deno.env.set("RNNBENCH_CUDA_EMULATOR", (await emulatorTuning()).emulator.dir);
Deno.env.set("RNNBENCH_EMU_SKIP", "*");

const profile = getProfile(values.profile!);
const ds = await loadProfileData(profile, (s) => console.log(s));
console.log(
  `host work per ${profile.name}-profile epoch of the CUDA engine (kernels skipped on the ` +
    `emulator; ${ds.train.n} train + ${ds.test.n} test sequences, batch ${profile.batchSize}), ` +
    `${epochs} epochs each, median:`,
);
for (const arch of archs) {
  // Time inside the engine's calls; the rest of an epoch is host work between calls, when a
  // GPU has finished the last step and waits for the next (each call ends with its logits).
  // The first two calls are the untimed warm-up (a train step and a predict).
  let inside = 0, calls = 0;
  const timed = <A extends unknown[]>(f: (...a: A) => Promise<Float32Array>) => async (...a: A) => {
    const t0 = performance.now();
    try {
      return await f(...a);
    } finally {
      if (++calls > 2) inside += performance.now() - t0;
    }
  };
  const t = await timeEpochs(arch, ds, 0, profile, epochs, (e) => {
    const over: Partial<Engine> = { trainStep: timed((b) => e.trainStep(b)) };
    if (e.predictRows) {
      const rows = e.predictRows.bind(e);
      over.predictRows = timed((s, n) => rows(s, n));
    }
    over.predict = timed((ids, n, s) => e.predict(ids, n, s));
    return forwardingEngine(e, over);
  });
  const steps = Math.ceil(ds.train.n / profile.batchSize);
  const batchesPerEpoch = steps + Math.ceil(ds.test.n / profile.batchSize);
  const all = t.epochs.reduce((s, e) => s + e.trainSeconds + e.evalSeconds, 0) * 1000;
  const each = t.epochs.map((e) => (e.trainSeconds + e.evalSeconds).toFixed(3)).join(", ");
  console.log(
    `  ${arch}: train ${t.trainSeconds.toFixed(3)} s (${
      (1000 * t.trainSeconds / steps).toFixed(2)
    } ms per step) + eval ${t.evalSeconds.toFixed(3)} s; epochs ${each} s; between calls ` +
      `${((all - inside) / (epochs * batchesPerEpoch)).toFixed(3)} ms per batch`,
  );
}

// Two parts alone, on one epoch's train batches: the gather of a batch's ids (what an engine
// that reads ids makes the GPU wait for) and the token sort (from the gathered ids, and from
// the split by rows as the CUDA engine does for a resident split, overlapping the recurrence).
const gatherMs: number[] = [], sortMs: number[] = [], rowsMs: number[] = [];
const sorter = new TokenSorter(ds.vocabSize, profile.batchSize * profile.maxLen);
const order = epochOrder(ds.train.n, 1, 1, true);
for (const b of batches(ds.train, ds.train.labels, order, profile.batchSize, profile.maxLen)) {
  const t0 = performance.now();
  const ids = b.ids;
  const t1 = performance.now();
  sorter.count(ids, ids.length);
  sorter.finish(ids);
  const t2 = performance.now();
  sorter.count(ds.train.ids, ids.length, { rows: b.source.rows, T: profile.maxLen });
  sorter.finish(ds.train.ids);
  const t3 = performance.now();
  gatherMs.push(t1 - t0);
  sortMs.push(t2 - t1);
  rowsMs.push(t3 - t2);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1]!;
console.log(
  `  per train batch (medians of ${sortMs.length}): gather ${median(gatherMs).toFixed(3)} ms; ` +
    `token sort ${median(sortMs).toFixed(3)} ms from the gathered ids, ` +
    `${median(rowsMs).toFixed(3)} ms from the split by rows`,
);
