/**
 * `bench --peers torch`: after the runs of an invocation, times the PyTorch peers on the
 * same data and shapes (per profile and architecture of the invocation) and prints them
 * beside the suite's epoch: seconds per epoch of the original per-timestep loop and of
 * cuDNN, and our ratio to each. The peers' raw results go to the sidecar
 * `<out>/<id>.peers.json` (`sidecar.ts`; print and sidecar only: the results file holds the
 * suite's own runs). When Python with torch and CUDA is missing it says so — "peers
 * unavailable: python3 with torch not found" — and records that instead; nothing is made up.
 *
 * @module
 */
import type { Arch } from "../../models/cells.ts";
import type { BenchArgs } from "../cli.ts";
import { getProfile, type Profile } from "../profiles.ts";
import type { ResultsFile } from "../results/types.ts";
import { medianEpoch } from "../train.ts";
import { exportNpy } from "./export_npy.ts";
import { learningRateOf, loadProfileData } from "../profiles.ts";
import { type PeerRow, peersTable, probeTorch, pythonCommand, runPeer } from "./peers.ts";
import { type PeersSidecar, peersSidecarPath, writePeersSidecar } from "./sidecar.ts";

/**
 * The suite's epoch of a profile and architecture in a results file, and its engine: the
 * median trained epoch (≥ 1) by train + eval seconds, the lower middle of an even count, as
 * the report and `gpu-check` take it. (Epoch 1 alone would also hold one-off costs, such as
 * the CUDA engine's upload of the splits.)
 */
export function ourEpoch(
  results: ResultsFile,
  profile: string,
  arch: Arch,
): { engine: string; trainSeconds: number; evalSeconds: number } | null {
  for (const r of results.runs) {
    if (r.profile !== profile || r.arch !== arch || r.status !== "ok") continue;
    const trained = r.epochs.flatMap((e) =>
      e.epoch >= 1 && e.trainSeconds != null
        ? [{ trainSeconds: e.trainSeconds, evalSeconds: e.evalSeconds }]
        : []
    );
    if (trained.length > 0) return { engine: r.engine, ...medianEpoch(trained) };
  }
  return null;
}

/**
 * Runs the peers of `args.peers` for an invocation and prints the tables.
 * @param results the invocation's results
 * @param args its arguments
 * @param id its id (names the sidecar)
 * @param log where lines go
 * @param python the interpreter for the probe and the peers @default pythonCommand()
 * @returns the sidecar's path
 */
export async function benchPeers(
  results: ResultsFile,
  args: BenchArgs,
  id: string,
  log: (s: string) => void,
  python: string = pythonCommand(),
): Promise<string> {
  const path = peersSidecarPath(args.out, id);
  const torch = await probeTorch(python);
  const tables: PeersSidecar["tables"] = [];
  if (!torch.ok) {
    log(`peers unavailable: ${torch.reason}`);
  } else {
    const t = torch.info;
    log(`peers: torch ${t.torch} (CUDA ${t.cuda}, cuDNN ${t.cudnn}) on device ${args.device}`);
    for (const name of args.profiles) {
      const base = getProfile(name);
      const p: Profile = args.lr === null ? base : { ...base, learningRate: { default: args.lr } };
      const ds = await loadProfileData(p, log);
      const dataDir = await exportNpy(ds, undefined, log);
      const rows: PeerRow[] = [];
      let engine = "ours";
      for (const arch of args.archs) {
        const ours = ourEpoch(results, name, arch);
        if (ours) engine = ours.engine;
        const o = {
          python,
          dataDir,
          arch,
          device: String(args.device),
          shape: {
            embed: p.embedDim,
            hidden: p.hiddenSize,
            layers: p.layers,
            batchSize: p.batchSize,
            lr: learningRateOf(p, arch),
          },
        };
        log(`peers: ${name} ${arch}…`);
        const loop = await runPeer("torch-loop", { ...o, batches: args.peerBatches ?? 3 });
        const cudnn = await runPeer("torch-cudnn", { ...o, batches: 0 });
        rows.push({ arch, ours, loop, cudnn });
      }
      tables.push({ profile: name, engine, rows });
      log(`\npeers, profile ${name}:\n${peersTable(engine, rows)}\n`);
    }
  }
  const sidecar: PeersSidecar = {
    createdAt: new Date().toISOString(),
    unavailable: torch.ok ? null : torch.reason,
    torch: torch.ok ? torch.info.torch : null,
    tables,
  };
  await Deno.mkdir(args.out, { recursive: true });
  await writePeersSidecar(path, sidecar);
  return path;
}
