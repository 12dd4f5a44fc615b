import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { ignorableTest } from "../../models/_testing.ts";
import { getProfile } from "../profiles.ts";
import type { ResultsFile } from "../results/types.ts";
import { parseBenchArgs } from "../cli.ts";
import { fillDisk, mountUnavailable, withTmpfs } from "../util/_testing_mounts.ts";
import { benchPeers, ourEpoch } from "./bench_peers.ts";
import { exportNpy } from "./export_npy.ts";
import { loadProfileData } from "../profiles.ts";
import { decodeNpy } from "./npy.ts";
import { type PeerResult, peersTable, probeTorch, runPeer } from "./peers.ts";

Deno.test("without python3 and torch the peers are unavailable, and say so", async () => {
  const none = await probeTorch("rnnbench-no-such-python");
  if (none.ok || none.reason !== "rnnbench-no-such-python with torch not found") {
    throw new Error(JSON.stringify(none));
  }
  // A Python that cannot import torch gives the same answer.
  const python = await new Deno.Command("python3", { args: ["-c", "import torch"], stderr: "null" })
    .output().catch(() => null);
  if (python !== null && !python.success) {
    const r = await probeTorch("python3");
    if (r.ok || r.reason !== "python3 with torch not found") throw new Error(JSON.stringify(r));
  }
});

Deno.test("the peers table shows seconds per epoch and our ratio to each peer", () => {
  const peer = (name: "torch-loop" | "torch-cudnn", s: number, extrapolated: boolean) => ({
    ok: true as const,
    result: {
      peer: name,
      epochSeconds: s,
      extrapolated,
      timedTrainBatches: 3,
      timedEvalBatches: 3,
    } as PeerResult,
  });
  const table = peersTable("cuda", [
    {
      arch: "lstm",
      ours: { trainSeconds: 0.08, evalSeconds: 0.02 },
      loop: peer("torch-loop", 41.2, true),
      cudnn: peer("torch-cudnn", 1.5, false),
    },
    { arch: "gru", ours: null, loop: { ok: false, error: "torch-loop: boom" }, cudnn: null },
  ]);
  const lines = table.split("\n");
  if (!lines[0]!.startsWith("arch | cuda s/epoch (train+eval) | torch loop s/epoch")) {
    throw new Error(table);
  }
  if (
    !/^lstm \| 0\.100 \(0\.080\+0\.020\) +\| 41\.2 \(from 3\+3 batches\) \| 1\.50 +\| 412\.0× +\| 15\.0×$/
      .test(lines[2]!)
  ) {
    throw new Error(table);
  }
  if (!lines[3]!.startsWith("gru  | -") || !table.includes("  gru: torch-loop: boom")) {
    throw new Error(table);
  }
});

Deno.test("the .npy export holds exactly the suite's encoded fixture splits", async () => {
  const ds = await loadProfileData(getProfile("smoke"), () => {});
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-peers-" });
  try {
    const at = await exportNpy(ds, dir);
    if (at !== `${dir}/${ds.datasetHash}`) throw new Error(at);
    const ids = decodeNpy(await Deno.readFile(`${at}/train_ids.npy`));
    if (ids.shape.join() !== `${ds.train.n},${ds.maxLen}`) throw new Error(`${ids.shape}`);
    if (!ids.data.every((v, i) => v === ds.train.ids[i])) throw new Error("train ids differ");
    const labels = decodeNpy(await Deno.readFile(`${at}/test_labels.npy`));
    if (!labels.data.every((v, i) => v === ds.test.labels[i])) {
      throw new Error("test labels differ");
    }
    const meta = JSON.parse(await Deno.readTextFile(`${at}/meta.json`));
    if (meta.vocabSize !== ds.vocabSize || meta.datasetHash !== ds.datasetHash) {
      throw new Error("meta");
    }
    if ((await exportNpy(ds, dir)) !== at) throw new Error("second export went elsewhere");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a damaged .npy export is written again, never handed to the peers", async () => {
  const ds = await loadProfileData(getProfile("smoke"), () => {});
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-peers-" });
  try {
    const at = await exportNpy(ds, dir);
    const file = `${at}/train_ids.npy`;
    const good = await Deno.readFile(file);
    await Deno.writeFile(file, good.subarray(0, good.length - 4096)); // a torn copy
    if ((await exportNpy(ds, dir)) !== at) throw new Error("the export moved");
    const back = await Deno.readFile(file);
    if (back.length !== good.length || !back.every((b, i) => b === good[i])) {
      throw new Error("the damaged export was kept");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const TORCH_PYTHON = Deno.env.get("RNNBENCH_TEST_TORCH_PYTHON") || null;

ignorableTest({
  name: "the peer scripts run on torch's CPU and report one JSON epoch",
  ignore: TORCH_PYTHON === null
    ? "set RNNBENCH_TEST_TORCH_PYTHON to a python with torch (CPU is enough)"
    : null,
  fn: peerScriptsRunOnTorchCpu,
});

async function peerScriptsRunOnTorchCpu(): Promise<void> {
  const python = TORCH_PYTHON!;
  const ds = await loadProfileData(getProfile("smoke"), () => {});
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-peers-" });
  try {
    const dataDir = await exportNpy(ds, dir);
    for (const peer of ["torch-loop", "torch-cudnn"] as const) {
      for (const arch of ["rnn", "gru", "lstm"]) {
        const r = await runPeer(peer, {
          dataDir,
          arch,
          device: "cpu",
          batches: 1,
          python,
          shape: { embed: 16, hidden: 4, layers: 2, batchSize: 100, lr: 1e-3 },
        });
        if (!r.ok) throw new Error(r.error);
        const x = r.result;
        if (x.peer !== peer || x.arch !== arch || !(x.epochSeconds > 0) || !x.extrapolated) {
          throw new Error(JSON.stringify(x));
        }
        if (x.trainBatches !== 8 || x.evalBatches !== 4 || x.datasetHash !== ds.datasetHash) {
          throw new Error(JSON.stringify(x));
        }
      }
    }
    const bad = await runPeer("torch-loop", {
      dataDir,
      arch: "lstm",
      device: "3",
      batches: 1,
      python,
    });
    if (bad.ok || !bad.error.includes("torch has no CUDA device")) {
      throw new Error(JSON.stringify(bad));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the peers compare with our median trained epoch, not epoch 1 with its one-off costs", () => {
  const epoch = (n: number, train: number | null, evalS: number) => ({
    epoch: n,
    trainSeconds: train,
    evalSeconds: evalS,
  });
  const results = {
    runs: [{
      profile: "original",
      arch: "lstm",
      status: "ok",
      engine: "cuda",
      epochs: [epoch(0, null, 0.05), epoch(1, 0.9, 0.1), epoch(2, 0.2, 0.05), epoch(3, 0.3, 0.05)],
    }],
  } as unknown as ResultsFile;
  assertEquals(ourEpoch(results, "original", "lstm"), {
    engine: "cuda",
    trainSeconds: 0.3,
    evalSeconds: 0.05,
  });
  assertEquals(ourEpoch(results, "original", "gru"), null);
});

ignorableTest({
  name:
    "the peers sidecar is replaced atomically: on a full disk the old one stays and the error names it",
  ignore: mountUnavailable,
  fn: () =>
    withTmpfs({ sizeKiB: 64 }, async (out) => {
      const args = parseBenchArgs(["--profile", "smoke", "--peers", "torch", "--out", out]);
      const results = JSON.parse(
        await Deno.readTextFile(
          new URL("../../fixtures/results/one-machine.json", import.meta.url),
        ),
      ) as ResultsFile;
      const path = await benchPeers(results, args, "id", () => {}, "rnnbench-no-such-python");
      const old = await Deno.readTextFile(path);
      // The interpreter passed in, not $RNNBENCH_PYTHON or python3, is the one probed.
      const unavailable = JSON.parse(old).unavailable;
      if (unavailable !== "rnnbench-no-such-python with torch not found") {
        throw new Error(`probed another interpreter: ${JSON.stringify(unavailable)}`);
      }
      await fillDisk(out);
      let message = "";
      try {
        await benchPeers(results, args, "id", () => {}, "rnnbench-no-such-python");
      } catch (e) {
        message = (e as Error).message;
      }
      if (!message.includes(`"${path}"`) || !/No space left on device/.test(message)) {
        throw new Error(`not the error wanted: ${JSON.stringify(message)}`);
      }
      if (await Deno.readTextFile(path) !== old) throw new Error("the old sidecar changed");
      const names = [...Deno.readDirSync(out)].map((e) => e.name);
      if (names.some((n) => n.endsWith(".tmp"))) throw new Error(`left behind: ${names}`);
    }),
});

Deno.test("a damaged .npy export is rebuilt, not handed to the peers", async () => {
  const ds = await loadProfileData(getProfile("smoke"), () => {});
  const dir = await Deno.makeTempDir({ prefix: "rnnbench-peers-" });
  try {
    const at = await exportNpy(ds, dir);
    const good = await Deno.readFile(`${at}/train_ids.npy`);
    const damage: [string, (path: string) => Promise<void>][] = [
      ["train_ids.npy", (p) => Deno.truncate(p, 1000)],
      ["test_labels.npy", (p) => Deno.remove(p)],
      ["meta.json", (p) => Deno.writeTextFile(p, "")],
    ];
    for (const [name, harm] of damage) {
      await harm(`${at}/${name}`);
      const lines: string[] = [];
      if ((await exportNpy(ds, dir, (s) => lines.push(s))) !== at) throw new Error("moved");
      if (!lines.some((l) => l.includes(at) && l.includes("rebuilt"))) {
        throw new Error(`no word of the rebuild after damaging ${name}: ${lines}`);
      }
      const ids = await Deno.readFile(`${at}/train_ids.npy`);
      if (ids.length !== good.length || !ids.every((v, i) => v === good[i])) {
        throw new Error(`train_ids.npy differs after damaging ${name}`);
      }
      decodeNpy(await Deno.readFile(`${at}/test_labels.npy`));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
