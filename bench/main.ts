/**
 * `deno task bench`: train, export, measure, write a results file, then print the summary of
 * that file (`run_summary.ts`) and the command that makes its report. See `--help`.
 * Ctrl-C or SIGTERM stops after the current batch; every finished epoch is kept and
 * `deno task bench --resume <id>` continues. `--cell FILE` adds the cells of a file (loaded,
 * checked and registered before the rest of the command line is parsed).
 *
 * @module
 */
import { loadCellFlagOrExit } from "./cell_file.ts";
import { parseBenchArgs } from "./cli.ts";
import { benchPeers } from "./peers/bench_peers.ts";
import { exitOnUsageError } from "./util/cli_kit.ts";
import { stderrProgress } from "./util/progress.ts";
import { listenForStop } from "./util/stop_signals.ts";
import { runBench } from "./run.ts";
import { formatSummary } from "./run_summary.ts";
import { InterruptedError } from "./train.ts";

if (import.meta.main) {
  const cells = await loadCellFlagOrExit("bench", Deno.args);
  const args = exitOnUsageError("bench", () => parseBenchArgs(Deno.args, cells));
  const stop = listenForStop((signal) => {
    const again = signal === "SIGINT" ? "Ctrl-C" : signal;
    console.error(`\nStopping after the current batch (${again} again to quit at once)…`);
  });
  try {
    const { ok, results, id, path } = await runBench(args, stderrProgress(), {
      shouldStop: () => stop.received !== null,
    });
    if ((args.peers ?? []).length > 0) {
      await benchPeers(results, args, id, (s) => console.error(s));
    }
    const outDir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
    console.log(`\n${formatSummary(results, outDir)}`.trimEnd());
    if (!ok) {
      console.error("Some runs failed: see the failure entries in the results file.");
      Deno.exit(1);
    }
  } catch (e) {
    if (e instanceof InterruptedError) {
      console.error(
        `${e.message}. Every finished epoch is saved (see the resume command above).`,
      );
      Deno.exit(stop.exitCode);
    }
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  } finally {
    stop.dispose();
  }
}
