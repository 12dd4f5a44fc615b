/**
 * The peers sidecar, `<out>/<id>.peers.json`: what `bench --peers torch` measured of the
 * PyTorch peers beside the invocation's results file `<out>/<id>.json` (or why the peers did
 * not run). It holds no runs, so `report` recognises it and skips it when it reads the folder.
 * It is replaced atomically: a failed write (a full disk) leaves the previous sidecar.
 *
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.ts";
import { osReason } from "../util/output_path.ts";
import type { PeerRow } from "./peers.ts";

/** How a sidecar's name ends; before it, the invocation id. */
export const PEERS_SIDECAR_SUFFIX = ".peers.json";

/** What the sidecar holds. */
export interface PeersSidecar {
  readonly createdAt: string;
  /** Why the peers did not run, or null. */
  readonly unavailable: string | null;
  readonly torch: string | null;
  readonly tables: { profile: string; engine: string; rows: PeerRow[] }[];
}

/**
 * The sidecar's path for an invocation.
 * @param out The invocation's `--out` folder.
 * @param id The invocation id.
 */
export function peersSidecarPath(out: string, id: string): string {
  return join(out, `${id}${PEERS_SIDECAR_SUFFIX}`);
}

/**
 * Whether a parsed JSON value has the sidecar's shape.
 * @param value Any parsed JSON.
 */
export function isPeersSidecar(value: unknown): value is PeersSidecar {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.createdAt === "string" && Array.isArray(v.tables) &&
    (v.unavailable === null || typeof v.unavailable === "string") &&
    (v.torch === null || typeof v.torch === "string");
}

/**
 * Writes a sidecar atomically; its folder must exist.
 * @param path Where, from {@linkcode peersSidecarPath}.
 * @param sidecar What.
 * @throws {Error} One line naming the file, why, and that the results file is not affected.
 */
export async function writePeersSidecar(path: string, sidecar: PeersSidecar): Promise<void> {
  try {
    await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(sidecar, null, 2) + "\n"));
  } catch (error) {
    throw new Error(
      `Cannot write the peers sidecar "${path}": ${osReason(error)}; the results file beside ` +
        "it is complete, only the peer timings printed above were not saved",
      { cause: error },
    );
  }
}
