/**
 * Stopping on request: SIGINT (Ctrl-C) and SIGTERM (what Slurm, Kubernetes and `kill` send
 * first) are handled alike. The first one asks the work to stop at its next safe point (a
 * long run: after the current batch, with every finished epoch saved); a second one exits at
 * once. The exit code is 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).
 *
 * @module
 */

/** The signals that ask to stop, with their numbers. */
const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

/** A stop signal's name. */
export type StopSignal = keyof typeof STOP_SIGNALS;

/** What {@linkcode listenForStop} returns. */
export interface StopListener {
  /** The first stop signal received, or null. */
  readonly received: StopSignal | null;
  /** The exit code for a stop on request: 128 + the signal's number. */
  readonly exitCode: number;
  /** Stops listening. */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM: the first calls `onFirst` and sets `received`; a second
 * exits at once (`unload` listeners still run, so temporary files are cleaned up).
 *
 * @param onFirst told which signal came first (e.g. to print "stopping after this batch")
 * @returns the listener's state
 * @example
 * ```ts ignore
 * const stop = listenForStop((s) => console.error(`${s}: stopping after the current batch`));
 * await work(() => stop.received !== null);
 * ```
 */
export function listenForStop(onFirst: (signal: StopSignal) => void): StopListener {
  let received: StopSignal | null = null;
  const handlers: [StopSignal, () => void][] = [];
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    const handler = () => {
      if (received !== null) Deno.exit(128 + STOP_SIGNALS[received]);
      received = signal;
      onFirst(signal);
    };
    try {
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    } catch { /* not supported here (SIGTERM on Windows) */ }
  }
  return {
    get received() {
      return received;
    },
    get exitCode() {
      return 128 + STOP_SIGNALS[received ?? "SIGINT"];
    },
    dispose() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}
