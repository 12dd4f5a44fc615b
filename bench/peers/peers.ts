/**
 * Running the PyTorch peers side by side with the suite's engines: the original report's
 * per-timestep loop (`torch_loop.py`) and cuDNN's `nn.RNN`/`nn.GRU`/`nn.LSTM`
 * (`torch_cudnn.py`), each timing one epoch on the suite's own encoded data (exported as
 * `.npy` by `export_npy.ts`) and printing one JSON line. Used by `bench --peers torch` and
 * `bench/tools/gpu_check.ts`. Nothing is ever made up: when Python with torch (and a CUDA
 * device for it) is missing, the peers are reported unavailable with the reason.
 *
 * The Python interpreter is `python3`, or `$RNNBENCH_PYTHON`.
 *
 * @module
 */

/** A peer's name, as recorded and printed. */
export type PeerName = "torch-loop" | "torch-cudnn";

/** What the Python side reports about torch. */
export interface TorchInfo {
  /** The interpreter used. */
  readonly python: string;
  /** `torch.__version__`. */
  readonly torch: string;
  /** `torch.version.cuda` (null for CPU builds). */
  readonly cuda: string | null;
  /** `torch.backends.cudnn.version()` (null when absent). */
  readonly cudnn: number | null;
  /** Whether torch sees a CUDA device. */
  readonly cudaAvailable: boolean;
}

/** One peer's epoch, as its script prints it. */
export interface PeerResult {
  readonly peer: PeerName;
  readonly arch: string;
  /** Device name ("cpu" in tests). */
  readonly device: string;
  readonly torch: string;
  readonly cuda: string | null;
  readonly cudnn: number | null;
  readonly trainSeconds: number;
  readonly evalSeconds: number;
  /** trainSeconds + evalSeconds. */
  readonly epochSeconds: number;
  readonly trainBatches: number;
  readonly evalBatches: number;
  readonly timedTrainBatches: number;
  readonly timedEvalBatches: number;
  /** Whether the epoch was extrapolated from the timed batches. */
  readonly extrapolated: boolean;
  /** Whether one train and one test batch ran untimed first, the weights then put back. */
  readonly warmedUp?: boolean;
  readonly trainLoss: number;
  readonly testAccuracy: number;
  readonly datasetHash: string;
}

/** The interpreter for the peers. */
export function pythonCommand(): string {
  return Deno.env.get("RNNBENCH_PYTHON") ?? "python3";
}

const PROBE = `import json, torch
print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda,
  "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
  "cudaAvailable": torch.cuda.is_available()}))`;

/**
 * Whether the peers can run: Python with torch and, unless `allowCpu`, a CUDA device.
 * @param python the interpreter @default pythonCommand()
 * @param allowCpu accept a torch without CUDA (tests)
 * @returns torch's versions, or the reason the peers are unavailable
 */
export async function probeTorch(
  python = pythonCommand(),
  allowCpu = false,
): Promise<{ ok: true; info: TorchInfo } | { ok: false; reason: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args: ["-c", PROBE],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { ok: false, reason: `${python} with torch not found` };
    }
    throw e;
  }
  if (!out.success) return { ok: false, reason: `${python} with torch not found` };
  const info = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!) as Omit<
    TorchInfo,
    "python"
  >;
  if (!info.cudaAvailable && !allowCpu) {
    return {
      ok: false,
      reason: `torch ${info.torch} has no CUDA device (torch.cuda.is_available() is False)`,
    };
  }
  return { ok: true, info: { ...info, python } };
}

/** Options of {@linkcode runPeer}. */
export interface PeerOptions {
  /** Folder written by `exportNpy`. */
  readonly dataDir: string;
  readonly arch: string;
  /** CUDA device index, or "cpu" (tests). */
  readonly device: string;
  /** Time this many train and test batches and extrapolate (0: the whole epoch). */
  readonly batches: number;
  /** Shape and optimisation overrides: `--embed`, `--hidden`, `--layers`, `--batch-size`, `--lr`. */
  readonly shape?: {
    embed?: number;
    hidden?: number;
    layers?: number;
    batchSize?: number;
    lr?: number;
  };
  /** @default pythonCommand() */
  readonly python?: string;
  /** Give up after this many seconds. @default 1800 */
  readonly timeoutSeconds?: number;
}

/**
 * Runs one peer script.
 * @returns its result, or the error it reported (never a made-up number)
 */
export async function runPeer(
  peer: PeerName,
  o: PeerOptions,
): Promise<{ ok: true; result: PeerResult } | { ok: false; error: string }> {
  const script =
    new URL(peer === "torch-loop" ? "./torch_loop.py" : "./torch_cudnn.py", import.meta.url)
      .pathname;
  const s = o.shape ?? {};
  const args = [
    script,
    "--data",
    o.dataDir,
    "--arch",
    o.arch,
    "--device",
    o.device,
    "--batches",
    String(o.batches),
    ...(s.embed ? ["--embed", String(s.embed)] : []),
    ...(s.hidden ? ["--hidden", String(s.hidden)] : []),
    ...(s.layers ? ["--layers", String(s.layers)] : []),
    ...(s.batchSize ? ["--batch-size", String(s.batchSize)] : []),
    ...(s.lr ? ["--lr", String(s.lr)] : []),
  ];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 1000 * (o.timeoutSeconds ?? 1800));
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(o.python ?? pythonCommand(), {
      args,
      env: { PYTHONDONTWRITEBYTECODE: "1" }, // no __pycache__ in the source tree
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
  } catch (e) {
    return { ok: false, error: `${peer} did not run: ${e instanceof Error ? e.message : e}` };
  } finally {
    clearTimeout(timer);
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = JSON.parse(last) as Record<string, unknown>;
  } catch { /* below */ }
  if (parsed && typeof parsed.error === "string") {
    return { ok: false, error: `${peer}: ${parsed.error}` };
  }
  if (!out.success || parsed === null || typeof parsed.epochSeconds !== "number") {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-8).join("\n");
    return { ok: false, error: `${peer} failed (exit ${out.code}):\n${err || last}` };
  }
  return { ok: true, result: parsed as unknown as PeerResult };
}

/** One row of the side-by-side table. */
export interface PeerRow {
  readonly arch: string;
  /** The suite's epoch (train + eval seconds), or null when it did not run. */
  readonly ours: { trainSeconds: number; evalSeconds: number } | null;
  readonly loop: { ok: true; result: PeerResult } | { ok: false; error: string } | null;
  readonly cudnn: { ok: true; result: PeerResult } | { ok: false; error: string } | null;
}

const sec = (s: number) => (s >= 10 ? s.toFixed(1) : s >= 1 ? s.toFixed(2) : s.toFixed(3));

/**
 * The table of seconds per epoch and our ratio to each peer (plain text, one line per arch).
 * @param ourName the suite's engine column heading, e.g. "cuda"
 * @param rows one per architecture
 */
export function peersTable(ourName: string, rows: readonly PeerRow[]): string {
  const cell = (r: PeerRow["loop"]) => {
    if (r === null) return "-";
    if (!r.ok) return "failed";
    const x = r.result;
    return `${sec(x.epochSeconds)}${
      x.extrapolated ? ` (from ${x.timedTrainBatches}+${x.timedEvalBatches} batches)` : ""
    }`;
  };
  const ratio = (r: PeerRow["loop"], ours: PeerRow["ours"]) =>
    r?.ok && ours
      ? `${(r.result.epochSeconds / (ours.trainSeconds + ours.evalSeconds)).toFixed(1)}×`
      : "-";
  const header = [
    "arch",
    `${ourName} s/epoch (train+eval)`,
    "torch loop s/epoch",
    "cuDNN s/epoch",
    `loop ÷ ${ourName}`,
    `cuDNN ÷ ${ourName}`,
  ];
  const body = rows.map((r) => [
    r.arch,
    r.ours
      ? `${sec(r.ours.trainSeconds + r.ours.evalSeconds)} (${sec(r.ours.trainSeconds)}+${
        sec(r.ours.evalSeconds)
      })`
      : "-",
    cell(r.loop),
    cell(r.cudnn),
    ratio(r.loop, r.ours),
    ratio(r.cudnn, r.ours),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ").trimEnd();
  const errors = rows.flatMap((r) =>
    [r.loop, r.cudnn].flatMap((x) => (x && !x.ok ? [`  ${r.arch}: ${x.error}`] : []))
  );
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...body.map(line), ...errors]
    .join("\n");
}
