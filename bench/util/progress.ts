/**
 * Progress for long runs: a redrawn bar with rate and ETA on a terminal, plain lines
 * (at most one per 10 s, and one per phase end) otherwise, so logs in CI stay readable.
 *
 * @module
 */

/** Where progress goes. */
export interface ProgressSink {
  /** Starts a phase of `total` units (e.g. batches). */
  start(label: string, total: number, unit: string): void;
  /** `done` units finished of the current phase; `extra` is shown after the rate. */
  update(done: number, extra?: string): void;
  /** Ends the current phase with a summary line. */
  end(summary: string): void;
  /** A line of its own. */
  log(line: string): void;
}

const enc = new TextEncoder();
/** Without a terminal, a progress line at most this often (phase summaries always). */
const PLAIN_INTERVAL_MS = 10_000;

/** Formats seconds as `1h02m`, `3m05s` or `4.2s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${s.toFixed(1)}s`;
}

/**
 * A progress sink on stderr: a bar when stderr is a terminal, plain lines otherwise.
 * @param quiet print nothing but `log` lines
 */
export function stderrProgress(quiet = false): ProgressSink {
  const tty = Deno.stderr.isTerminal();
  let label = "", total = 0, unit = "", t0 = 0, lastLine = 0;
  const write = (s: string) => Deno.stderr.writeSync(enc.encode(s));
  return {
    start(l, n, u) {
      label = l;
      total = n;
      unit = u;
      t0 = performance.now();
      lastLine = t0;
    },
    update(done, extra = "") {
      if (quiet) return;
      const el = (performance.now() - t0) / 1000;
      const rate = done / Math.max(el, 1e-9);
      const eta = (total - done) / Math.max(rate, 1e-12);
      const info = `${done}/${total} ${unit} ${rate.toFixed(2)} ${unit}/s ` +
        `elapsed ${formatDuration(el)} ETA ${formatDuration(eta)}${extra ? " " + extra : ""}`;
      if (tty) {
        const w = 24, fill = Math.round(w * done / Math.max(total, 1));
        write(`\r\x1b[2K${label} [${"#".repeat(fill)}${".".repeat(w - fill)}] ${info}`);
      } else if (performance.now() - lastLine >= PLAIN_INTERVAL_MS && done < total) {
        write(`${label}: ${info}\n`);
        lastLine = performance.now();
      }
    },
    end(summary) {
      if (tty && !quiet) write("\r\x1b[2K");
      write(`${summary}\n`);
    },
    log(line) {
      if (tty) write("\r\x1b[2K");
      write(`${line}\n`);
    },
  };
}

/** A sink that records lines (tests). */
export function memoryProgress(): ProgressSink & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    start() {},
    update() {},
    end: (s) => void lines.push(s),
    log: (s) => void lines.push(s),
  };
}
