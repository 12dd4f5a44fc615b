/**
 * The CUDA engine's HOST work per original-profile epoch, measured without a GPU: the same
 * epoch loop as `deno task gpu-check` (`timeEpochs`: batches of the real encoded dataset,
 * staging, the token sort, every driver call, the logits copied back, the meters) on the
 * CPU emulator with every kernel launch skipped (`RNNBENCH_EMU_SKIP=*`), so that what is
 * left is what the host spends. On a GPU most of it overlaps with kernels, but not all:
 * each step waits for its logits, so the next step's batch assembly and staging run while
 * the GPU is idle. It bounds from below what the host adds to a GPU epoch. Then two parts
 * of it alone, medians over one epoch's train batches: assembling a batch (`batches()`
 * gathers its rows from the split; the GPU waits for it) and the token sort of the
 * embedding gradient (it runs while the recurrence runs).
 *
 * ```sh
 * deno run -A bench/engines/cuda_host_bench.ts                 # all three, 3 epochs each
 * deno run -A bench/engines/cuda_host_bench.ts --arch lstm --epochs 5
 * ```
 *
 * The emulator's driver calls are cheaper than the real driver's (no queue, no DMA), so the
 * figure is a lower bound of the host's share, not a prediction of the epoch.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Arch, ARCHS } from "../../models/cells.ts";
import { batches, epochOrder } from "../data/batches.ts";
import { timeEpochs } from "../gpu_check.ts";
import { getProfile, loadProfileData } from "../profiles.ts";
import { TokenSorter } from "./cuda.ts";
import { buildCudaEmulator } from "./cuda_emulator.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    arch: { type: "string", default: ARCHS.join(",") },
    epochs: { type: "string", default: "3" },
    profile: { type: "string", default: "original" },
  },
});
const archs = values.arch!.split(",") as Arch[];
for (const a of archs) {
  if (!(ARCHS as readonly string[]).includes(a)) {
    throw new Error(`Unknown architecture "${a}": valid values are ${ARCHS.join(", ")}`);
  }
}
const epochs = Number(values.epochs);
if (!Number.isInteger(epochs) || epochs < 1 || epochs > 20) {
  throw new Error(`--epochs must be an integer from 1 to 20, got "${values.epochs}"`);
}
const root = new URL("../../", import.meta.url).pathname;
const emuDir = `${root}.cache/cuda-emulator`;
await buildCudaEmulator(emuDir);
Deno.env.set("RNNBENCH_CUDA_EMULATOR", emuDir);
Deno.env.set("RNNBENCH_EMU_SKIP", "*");

const profile = getProfile(values.profile!);
const ds = await loadProfileData(profile, (s) => console.log(s));
console.log(
  `host work per ${profile.name}-profile epoch of the CUDA engine (kernels skipped on the ` +
    `emulator; ${ds.train.n} train + ${ds.test.n} test sequences, batch ${profile.batchSize}), ` +
    `${epochs} epochs each, median:`,
);
for (const arch of archs) {
  const t = await timeEpochs(arch, ds, 0, profile, epochs);
  const steps = Math.ceil(ds.train.n / profile.batchSize);
  const each = t.epochs.map((e) => (e.trainSeconds + e.evalSeconds).toFixed(3)).join(", ");
  console.log(
    `  ${arch}: train ${t.trainSeconds.toFixed(3)} s (${
      (1000 * t.trainSeconds / steps).toFixed(2)
    } ms per step) + eval ${t.evalSeconds.toFixed(3)} s; epochs ${each} s`,
  );
}

const gatherMs: number[] = [], sortMs: number[] = [];
const sorter = new TokenSorter(ds.vocabSize, profile.batchSize * profile.maxLen);
const order = epochOrder(ds.train.n, 1, 1, true);
const it = batches(ds.train, ds.train.labels, order, profile.batchSize, profile.maxLen);
for (;;) {
  const t0 = performance.now();
  const next = it.next();
  const t1 = performance.now();
  if (next.done) break;
  const b = next.value;
  sorter.count(b.ids, b.ids.length);
  sorter.finish(b.ids);
  gatherMs.push(t1 - t0);
  sortMs.push(performance.now() - t1);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1]!;
console.log(
  `  per train batch: gather ${median(gatherMs).toFixed(3)} ms (the GPU waits), token sort ` +
    `${median(sortMs).toFixed(3)} ms (overlaps the recurrence); medians of ${sortMs.length}`,
);
