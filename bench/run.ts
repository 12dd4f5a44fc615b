/**
 * One `bench` invocation: resolve the run matrix (profile × architecture × seed, or one
 * shard of it), load and encode each profile's data once, train each run on the chosen
 * engine with a checkpoint after an epoch (`--checkpoint-every`), export and measure it in
 * ONNX Runtime, and
 * write ONE results file, rewritten atomically after every run so that nothing already
 * computed is lost. An interrupted invocation continues with `--resume`.
 *
 * Files under `--out`:
 * - `<id>.json` — the results file (finished runs only);
 * - `<runId>.onnx` — exported models;
 * - `.state/<id>/invocation.json` and `.state/<id>/<runId>.ckpt` — resume state, removed
 *   when the invocation completes (and `.state/` with it when no other invocation's is left).
 *   The invocation's arguments include its `--cell` files (absolute paths and SHA-256), which
 *   a resume loads again, refusing a missing or changed one; each run of a cell from a file
 *   records that file and its hash (`Run.cell`);
 * - `.state/<id>.lock` — held while a process runs the invocation
 *   ({@linkcode lockInvocation}): a second process on it (a `--resume` of a live invocation,
 *   a requeued task) is refused.
 *
 * With `--id` the invocation id is stable ({@linkcode stableInvocationId}): the same command
 * line resumes the saved state of that id, or does nothing when its results are complete.
 *
 * A checkpoint that cannot be used (damaged: its checksum does not match; another format)
 * is reported and its run restarts from the beginning. A file that cannot be written (a full
 * disk) stops the invocation with the file named and the `--resume` command: the run it hit
 * is not recorded, so the resume retries it from its last checkpoint.
 *
 * @module
 */
import { adamConfig } from "../models/adam.ts";
import { type Arch, cellSpec } from "../models/cells.ts";
import {
  initParams,
  type ModelConfig,
  type ParamLayout,
  paramLayout,
} from "../models/classifier.ts";
import { WriteError, writeFileAtomic } from "./util/atomic.ts";
import { type InvocationLock, lockInvocation } from "./util/invocation_lock.ts";
import { flagDifferences, stableInvocationId } from "./invocation_id.ts";
import { type Checkpoint, CheckpointError, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { reloadCellFiles } from "./cell_file.ts";
import { type BenchArgs, DEFAULT_CHECKPOINT_SECONDS } from "./cli.ts";
import { applyLabelMode } from "./data/batches.ts";
import { type EncodedDataset, type EncodedSplit, positiveFraction } from "./data/dataset.ts";
import { carveText, carveValidation, type ValidationCarve } from "./data/validation.ts";
import type { Engine } from "./engines/engine.ts";
import {
  createEngine,
  type EngineKind,
  prepareEngines,
  resolveEngine,
} from "./engines/registry.ts";
import { gitRevision, machineInfo } from "./util/machine.ts";
import { exportAndMeasure } from "./onnx_step.ts";
import {
  cellReadoutOf,
  epochsOf,
  getProfile,
  type InitScheme,
  learningRateOf,
  loadProfileData,
  type Profile,
  runConfigOf,
  scheduledLearningRate,
  seedsOf,
  wordDropoutOf,
} from "./profiles.ts";
import type { ProgressSink } from "./util/progress.ts";
import { readResultsFile, writeResultsFile } from "./results/io.ts";
import { SCHEMA_VERSION } from "./results/schema.ts";
import type { ResultsFile, Run } from "./results/types.ts";
import { InterruptedError, NonFiniteError, trainAndEvaluate } from "./train.ts";
import { trainReferenceLine } from "./reference/reference_line.ts";

/** The suite's version, recorded in results and ONNX metadata. */
export const SUITE_VERSION = "0.1.0";

/** One cell of the run matrix. */
export interface RunSpec {
  readonly profile: Profile;
  readonly arch: Arch;
  readonly seed: number;
}

/** A profile with the command line's overrides applied. */
export function resolveProfile(name: string, args: BenchArgs): Profile {
  const p = getProfile(name);
  const lr = args.lr;
  return {
    ...p,
    epochs: args.epochs === null ? p.epochs : { default: args.epochs },
    labels: args.labels ?? p.labels,
    learningRate: lr === null ? p.learningRate : { default: lr },
  };
}

/**
 * The random seed of the validation split: fixed, so that every run and every sweep
 * configuration of an invocation, whatever its own seed, carves the same rows.
 */
export const VALIDATION_SEED = 1;

/**
 * The run matrix in order (profiles as given, then architectures, then seeds ascending: as many
 * as `--seeds`, else as the profile gives the architecture),
 * or the shard `i/n` of it: every n-th cell starting at the i-th, so each shard gets a mix.
 * @param args the command line
 * @param profiles run these profiles instead of resolving `args.profiles` (sweeps)
 */
export function runMatrix(args: BenchArgs, profiles?: readonly Profile[]): RunSpec[] {
  const all: RunSpec[] = [];
  for (const profile of profiles ?? args.profiles.map((name) => resolveProfile(name, args))) {
    for (const arch of args.archs) {
      const seeds = args.seeds ?? seedsOf(profile, arch);
      for (let i = 0; i < seeds; i++) all.push({ profile, arch, seed: args.seed + i });
    }
  }
  if (args.shard === null) return all;
  const { index, count } = args.shard;
  return all.filter((_, i) => i % count === index - 1);
}

/**
 * The id of a run: stable across resumes of the same invocation, and across its shards under
 * `--id` (then `prefix` is the id without the shard suffix).
 */
export function runId(prefix: string, s: RunSpec): string {
  return `${prefix}-${s.profile.name}-${s.arch}-s${s.seed}`;
}

function newInvocationId(args: BenchArgs): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const r = [...crypto.getRandomValues(new Uint8Array(3))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const shard = args.shard ? `-shard${args.shard.index}of${args.shard.count}` : "";
  return `${t}-${r}${shard}`;
}

/**
 * The initial parameters of a run: `initParams` (the report's initialisation), with the
 * cell's own gate-bias initialisation (its `gateBiasInit`) under {@linkcode InitScheme}
 * `"remember"`.
 * @param layout the parameter layout
 * @param seed the random seed
 * @param scheme the initialisation scheme
 * @param cache where draws of the same layout and seed are kept (the ladder's rungs share
 *   them); the result is a copy either way
 * @returns the parameters in layout order
 */
export function initialParams(
  layout: ParamLayout,
  seed: number,
  scheme: InitScheme,
  cache?: InitCache,
): Float64Array {
  const p = cache === undefined ? initParams(layout, seed) : cache.get(layout, seed);
  if (scheme === "original") return p;
  const bias: Readonly<Record<string, number | undefined>> =
    cellSpec(layout.config.arch).gateBiasInit ?? {};
  for (const t of layout.tensors) {
    const value = t.param === null ? undefined : bias[t.param];
    if (value !== undefined) p.fill(value, t.offset, t.offset + t.size);
  }
  return p;
}

/**
 * The report's initialisation (`initParams`) of the last few layouts and seeds drawn. The
 * ladder's rungs run one shape after another with the same seed, and the draw of a 6.4 M-value
 * embedding takes about half a second, once per shape instead of once per run.
 */
export class InitCache {
  readonly #entries = new Map<string, Float64Array>();
  readonly #size: number;

  /** @param size how many layouts and seeds to keep (the least recently used goes first) */
  constructor(size: number) {
    this.#size = size;
  }

  /**
   * `initParams(layout, seed)`, drawn or kept.
   * @param layout the parameter layout
   * @param seed the random seed
   * @returns a copy the caller may change
   */
  get(layout: ParamLayout, seed: number): Float64Array {
    const key = JSON.stringify([layout.config, seed]);
    let p = this.#entries.get(key);
    if (p === undefined) {
      p = initParams(layout, seed);
      if (this.#entries.size >= this.#size) {
        this.#entries.delete(this.#entries.keys().next().value!);
      }
    } else this.#entries.delete(key);
    this.#entries.set(key, p);
    return p.slice();
  }
}

/** What `.state/<id>/invocation.json` holds. */
interface InvocationState {
  version: 1;
  id: string;
  args: BenchArgs;
  createdAt: string;
  /** The prefix of the run ids (absent in states saved before `--id`: the id). */
  runPrefix?: string;
}

const stateDir = (out: string, id: string) => `${out}/.state/${id}`;

/** Creates `dir`, retrying while another invocation removes an empty `.state/` above it. */
async function makeStateDir(dir: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || attempt === 5) throw e;
    }
  }
}

/** The {@linkcode WriteError} behind `e` (itself or a cause), or null. */
function writeErrorIn(e: unknown): WriteError | null {
  for (let x = e; x instanceof Error; x = x.cause) if (x instanceof WriteError) return x;
  return null;
}

/** Finds the saved state of an interrupted invocation from its id or results file. */
async function loadInvocation(ref: string, out: string): Promise<InvocationState> {
  const m = ref.match(/([^/]+?)(\.json)?$/);
  const id = m?.[1] ?? ref;
  const dir = ref.endsWith(".json") ? ref.slice(0, ref.lastIndexOf("/") + 1) || "./" : `${out}/`;
  const path = `${dir}.state/${id}/invocation.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new Error(
      `Cannot resume "${ref}": no saved state at ${path} (the invocation finished, or ` +
        `--out differs; pass the results file path, or the id with the same --out)`,
    );
  }
  try {
    const s = JSON.parse(text) as InvocationState;
    if (s.version !== 1 || s.id !== id || typeof s.args !== "object") throw new Error("bad fields");
    const out = dir.replace(/\/$/, "") || ".";
    return { ...s, args: { ...s.args, out, resume: null, id: s.args.id ?? null } };
  } catch (e) {
    throw new Error(`Cannot resume "${ref}": ${path} is damaged (${(e as Error).message})`);
  }
}

/** Hooks for tests and the CLI. */
export interface BenchHooks {
  /** Polled between batches; true stops cleanly after the last checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Wraps each engine after creation (tests inject faults with it). */
  wrapEngine?: (engine: Engine) => Engine;
  /**
   * Run these profiles instead of `args.profiles` (the sweep tool's configurations; such an
   * invocation cannot be resumed, since only the arguments are saved).
   */
  profiles?: readonly Profile[];
}

/**
 * What a run trains on and evaluates after each epoch: all of train and the test split, or,
 * with a validation fraction, train minus a class-stratified validation split carved from it
 * ({@linkcode carveValidation}, seed {@linkcode VALIDATION_SEED}, carved as the flags say)
 * and that validation split.
 * The test split is then never looked at.
 */
export interface RunSplits {
  /** The rows trained on. */
  readonly train: EncodedSplit;
  /** The rows evaluated after each epoch (`testAccuracy` and the like are measured on it). */
  readonly evaluated: EncodedSplit;
  /** The validation split's size, or null when `evaluated` is the test split. */
  readonly validationSize: number | null;
  /** How the validation split was carved, or null when `evaluated` is the test split. */
  readonly validationCarve: ValidationCarve | null;
}

/**
 * The splits of a run.
 * @param data the encoded dataset
 * @param validation share of each class of train carved off for validation; 0 = none
 * @param carve how the validation reviews are chosen
 * @returns what to train on and what to evaluate
 */
export function runSplits(
  data: EncodedDataset,
  validation: number,
  carve: ValidationCarve = "random",
): RunSplits {
  if (validation === 0) {
    return { train: data.train, evaluated: data.test, validationSize: null, validationCarve: null };
  }
  const v = carveValidation(data.train, validation, VALIDATION_SEED, carve);
  return {
    train: v.train,
    evaluated: v.validation,
    validationSize: v.validation.n,
    validationCarve: carve,
  };
}

/**
 * Runs a whole `bench` invocation, or resumes one.
 * @returns the results file's path, whether every run succeeded, and the results
 * @throws InterruptedError when stopped by `hooks.shouldStop` (state is saved)
 */
export async function runBench(
  argsIn: BenchArgs,
  progress: ProgressSink,
  hooks: BenchHooks = {},
): Promise<{ path: string; ok: boolean; results: ResultsFile; id: string }> {
  const held: InvocationLock[] = [];
  const lock = async (out: string, id: string) => {
    held.push(await lockInvocation(out, id, (line) => progress.log(line)));
  };
  try {
    return await runInvocation(argsIn, progress, hooks, lock);
  } finally {
    for (const l of held) await l.release();
  }
}

const NOTHING_TO_RUN = "Nothing to run: this shard of the run matrix is empty";
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

async function runInvocation(
  argsIn: BenchArgs,
  progress: ProgressSink,
  hooks: BenchHooks,
  lock: (out: string, id: string) => Promise<void>,
): Promise<{ path: string; ok: boolean; results: ResultsFile; id: string }> {
  if (argsIn.id !== null && hooks.profiles !== undefined) {
    throw new Error("Cannot give an invocation of custom profiles (a sweep) a stable --id");
  }
  let args = argsIn, id = "", runPrefix = "";
  let results: ResultsFile | null = null;
  let resume = argsIn.resume, locked = false;
  if (argsIn.id !== null && resume === null) {
    ({ id, runPrefix } = await stableInvocationId(argsIn));
    if (runMatrix(argsIn).length === 0) throw new Error(NOTHING_TO_RUN);
    await lock(argsIn.out, id);
    locked = true;
    const donePath = `${argsIn.out}/${id}.json`;
    if (await exists(`${stateDir(argsIn.out, id)}/invocation.json`)) resume = id;
    else if (await exists(donePath)) {
      const done = await readResultsFile(donePath);
      const want = runMatrix(argsIn).map((s) => runId(runPrefix, s)).sort();
      const have = done.runs.map((r) => r.runId).sort();
      if (JSON.stringify(want) !== JSON.stringify(have)) {
        throw new Error(
          `Cannot run invocation ${id}: its results "${donePath}" hold other runs than these ` +
            "flags ask for; pass another --id or --out",
        );
      }
      progress.log(`invocation ${id} is complete: nothing to do (results: ${donePath})`);
      return { path: donePath, ok: done.runs.every((r) => r.status === "ok"), results: done, id };
    }
  }
  if (resume !== null) {
    let s = await loadInvocation(resume, argsIn.out);
    if (!locked) {
      await lock(s.args.out, s.id);
      locked = true;
      s = await loadInvocation(resume, argsIn.out); // as its last holder left it
    }
    if (argsIn.id !== null) {
      const diffs = flagDifferences(s.args, argsIn);
      if (diffs.length > 0) {
        throw new Error(
          `Cannot continue invocation ${s.id}: it was started with other flags ` +
            `(${diffs.join(", ")}); pass another --id or --out, or the same flags`,
        );
      }
    }
    // Its cell files, loaded again: each must still be there, unchanged.
    const cells = await reloadCellFiles(s.args.cells ?? [], `Cannot resume "${resume}"`);
    args = { ...s.args, cells };
    id = s.id;
    runPrefix = s.runPrefix ?? s.id;
    try {
      results = await readResultsFile(`${args.out}/${id}.json`);
    } catch (e) {
      if (!(e instanceof Error && /does not exist|NotFound|No such file/i.test(e.message))) throw e;
    }
    progress.log(`resuming ${id}: ${results?.runs.length ?? 0} run(s) already finished`);
  } else if (argsIn.id === null) {
    id = runPrefix = newInvocationId(args);
  }
  if (resume !== null && hooks.profiles !== undefined) {
    throw new Error("Cannot resume an invocation of custom profiles (a sweep): run it again");
  }
  const matrix = runMatrix(args, hooks.profiles);
  if (matrix.length === 0) throw new Error(NOTHING_TO_RUN);
  const resolved = await resolveEngine(args.engine, {
    device: args.device,
    shapes: matrix.map((r) => ({ ...r.profile, arch: r.arch })),
  });
  progress.log(resolved.reason);
  const dir = stateDir(args.out, id);
  if (!locked) await lock(args.out, id);
  await makeStateDir(dir);
  if (resume === null) {
    const createdAt = new Date().toISOString();
    const state: InvocationState = { version: 1, id, args, createdAt, runPrefix };
    await writeFileAtomic(
      `${dir}/invocation.json`,
      new TextEncoder().encode(JSON.stringify(state, null, 2)),
      { what: "the invocation's state" },
    );
  }
  const resumeHint = `deno task bench --resume ${id} --out ${args.out}`;
  const path = `${args.out}/${id}.json`;
  results ??= {
    schemaVersion: SCHEMA_VERSION,
    suiteVersion: SUITE_VERSION,
    createdAt: new Date().toISOString(),
    invocation: [...Deno.args],
    gitRevision: await gitRevision(),
    machine: await machineInfo(args.machine ?? undefined, args.device),
    runs: [],
  };
  const done = new Set(results.runs.map((r) => r.runId));
  const data = new Map<string, { ds: EncodedDataset; splits: RunSplits }>();
  const validation = args.validation ?? 0; // absent in states saved before the flag existed
  const carve = args.validationCarve ?? "random"; // likewise
  const dataFor = async (p: Profile) => {
    const key = JSON.stringify([p.dataSource, p.maxLen, p.padding, p.keepTokens, p.vocabMaxSize]);
    let entry = data.get(key);
    if (entry === undefined) {
      const ds = await loadProfileData(p, (s) => progress.log(s));
      const splits = runSplits(ds, validation, carve);
      progress.log(
        `data: ${ds.source}, ${ds.train.n} train / ${ds.test.n} test reviews, ` +
          `vocabulary ${ds.vocabSize}, maxLen ${ds.maxLen}, padding ${ds.padding}, ` +
          `keeping the ${ds.keepTokens} tokens, ` +
          `hash ${ds.datasetHash}` +
          (splits.validationSize === null
            ? ""
            : `; validation: ${splits.validationSize} reviews carved from train ` +
              `(${carveText(carve)}, seed ${VALIDATION_SEED}), training on ${splits.train.n}, ` +
              `test NOT evaluated`),
      );
      entry = { ds, splits };
      data.set(key, entry);
    }
    return entry;
  };
  // Before the first run trains: every run's data, while the engine builds what the runs need
  // (the native engine's compiles run as processes beside the encoding, two at a time), so
  // that neither the builds nor the encoding share the cores with a timed epoch.
  const pending = matrix.filter((spec) => !done.has(runId(runPrefix, spec)));
  const prepared = prepareEngines(
    resolved.kind,
    pending.map((spec) => modelOf(spec, PLACEHOLDER_VOCAB)),
    navigator.hardwareConcurrency,
  );
  try {
    for (const spec of pending) await dataFor(spec.profile);
  } finally {
    await prepared;
  }
  let ok = results.runs.every((r) => r.status === "ok");
  const inits = new InitCache(3); // a rung's three cells, the next rung's shape often the same
  for (const spec of matrix) {
    const rid = runId(runPrefix, spec);
    if (done.has(rid)) continue;
    const entry = await dataFor(spec.profile);
    try {
      const run = await oneRun(rid, spec, resolved.kind, entry, args, dir, progress, hooks, inits);
      if (run.status !== "ok") ok = false;
      results.runs.push(run);
      await writeResultsFile(path, results);
      if (run.status === "ok") await Deno.remove(`${dir}/${rid}.ckpt`).catch(() => {});
    } catch (e) {
      if (e instanceof InterruptedError) progress.log(`continue with: ${resumeHint}`);
      if (writeErrorIn(e) === null) throw e;
      // Not the run's fault: it is not recorded, and the resume retries it.
      throw new Error(
        `${(e as Error).message}. The runs finished before are saved; once it can be ` +
          `written (free space, say), continue with: ${resumeHint}`,
        { cause: e },
      );
    }
  }
  const referenceSource = referenceSourceOf(args, matrix, hooks);
  if (referenceSource !== null && results.reference == null) {
    results.reference = await trainReferenceLine({
      source: referenceSource,
      validation,
      validationSeed: VALIDATION_SEED,
      validationCarve: carve,
      log: (line) => progress.log(line),
    });
    await writeResultsFile(path, results);
  }
  if (ok) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(`${args.out}/.state`).catch(() => {}); // only when empty
  } else progress.log(`checkpoints of failed runs (last good epoch) are kept in ${dir}`);
  progress.log(`results: ${path}`);
  return { path, ok, results, id };
}

/**
 * The data the reference line trains on, or null when none is trained: `--reference none`;
 * under `auto` (the default) also a sweep's custom profiles and an invocation whose profiles
 * all read the fixture (smoke).
 */
function referenceSourceOf(
  args: BenchArgs,
  matrix: readonly RunSpec[],
  hooks: BenchHooks,
): "imdb" | "fixture" | null {
  const choice = args.reference ?? "auto"; // absent in states saved before the flag existed
  const imdb = matrix.some((s) => s.profile.dataSource === "imdb");
  if (choice === "none") return null;
  if (choice === "auto" && (hooks.profiles !== undefined || !imdb)) return null;
  return imdb ? "imdb" : "fixture";
}

/**
 * What {@linkcode prepareEngines} is given for a vocabulary not yet known: the engines' builds
 * do not depend on it (the native engine's C takes it at run time).
 */
const PLACEHOLDER_VOCAB = 2;

/** The model a run trains, for a vocabulary of `vocabSize` tokens. */
function modelOf(spec: RunSpec, vocabSize: number): ModelConfig {
  const p = spec.profile;
  return {
    arch: spec.arch,
    vocabSize,
    embedDim: p.embedDim,
    hiddenSize: p.hiddenSize,
    layers: p.layers,
    readout: cellReadoutOf(p, spec.arch),
  };
}

async function oneRun(
  rid: string,
  spec: RunSpec,
  kind: EngineKind,
  { ds: data, splits }: { ds: EncodedDataset; splits: RunSplits },
  args: BenchArgs,
  dir: string,
  progress: ProgressSink,
  hooks: BenchHooks,
  inits: InitCache,
): Promise<Run> {
  const profile = spec.profile;
  const model = modelOf(spec, data.vocabSize);
  const layout = paramLayout(model);
  const lr = learningRateOf(profile, spec.arch);
  const epochs = epochsOf(profile, spec.arch);
  const trainLabels = applyLabelMode(splits.train.labels, profile.labels);
  const testLabels = applyLabelMode(splits.evaluated.labels, profile.labels);
  const created = await createEngine(kind, {
    model,
    layout,
    maxLen: profile.maxLen,
    batchSize: profile.batchSize,
    optimizer: adamConfig(lr),
    gradClip: profile.gradClip,
    threads: args.threads,
  }, { device: args.device });
  const engine = hooks.wrapEngine ? hooks.wrapEngine(created) : created;
  const label = `${spec.arch} ${profile.name} ${engine.name} seed ${spec.seed}`;
  const cellFile = (args.cells ?? []).find((f) => f.names.includes(spec.arch));
  const run: Run = {
    runId: rid,
    arch: spec.arch,
    ...(cellFile === undefined ? {} : { cell: { source: cellFile.path, sha256: cellFile.sha256 } }),
    profile: profile.name,
    engine: engine.name,
    engineDetail: engine.detail,
    seed: spec.seed,
    config: runConfigOf(profile, spec.arch, {
      limitBatches: args.limitBatches,
      threads: args.threads,
      dataSource: data.source,
    }),
    data: {
      datasetHash: data.datasetHash,
      vocabSize: data.vocabSize,
      trainSize: splits.train.n,
      testSize: splits.evaluated.n,
      trainPositiveFraction: positiveFraction(trainLabels),
      testPositiveFraction: positiveFraction(testLabels),
      validationSize: splits.validationSize,
      ...(splits.validationCarve === null ? {} : { validationCarve: splits.validationCarve }),
    },
    epochs: [],
    status: "ok",
    failure: null,
    timeToAccuracy: null,
    onnx: null,
    inference: [],
  };
  const configKey = JSON.stringify([run.config, run.data.datasetHash, engine.name, spec.seed]);
  const ckptPath = `${dir}/${rid}.ckpt`;
  /** The epoch of the checkpoint on disk, once one is. */
  let savedEpoch: number | null = null;
  try {
    let resumeFrom: Parameters<typeof trainAndEvaluate>[0]["resumeFrom"];
    let ckpt: Checkpoint | null = null;
    try {
      ckpt = await readCheckpoint(ckptPath);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      progress.log(`${label}: ${e.message}; restarting this run from the beginning`);
    }
    if (ckpt !== null) {
      if (ckpt.header.configKey !== configKey || ckpt.header.paramCount !== layout.total) {
        throw new CheckpointError(ckptPath, "it was written for a different configuration");
      }
      engine.setParams(ckpt.params);
      engine.setOptimizerState({ m: ckpt.m, v: ckpt.v, step: ckpt.header.step });
      resumeFrom = { epochs: ckpt.header.epochs, timeToAccuracy: ckpt.header.timeToAccuracy };
      run.epochs.push(...ckpt.header.epochs);
      savedEpoch = ckpt.header.epoch;
      progress.log(`${label}: resuming after epoch ${ckpt.header.epoch}`);
    } else {
      engine.setParams(initialParams(layout, spec.seed, profile.init, inits));
    }
    const checkpointMs = (args.checkpointEvery ?? DEFAULT_CHECKPOINT_SECONDS) * 1000;
    let lastCheckpointAt = performance.now();
    const r = await trainAndEvaluate({
      engine,
      train: splits.train,
      test: splits.evaluated,
      trainLabels,
      testLabels,
      maxLen: profile.maxLen,
      batchSize: profile.batchSize,
      epochs,
      seed: spec.seed,
      limitBatches: args.limitBatches,
      targetAccuracy: args.targetAccuracy,
      label,
      progress,
      ...(resumeFrom ? { resumeFrom } : {}),
      wordDropout: wordDropoutOf(profile, spec.arch),
      ...(profile.lrSchedule === "constant" ? {} : {
        lrForStep: (epoch: number, batch: number, perEpoch: number) =>
          scheduledLearningRate(
            profile.lrSchedule,
            lr,
            (epoch - 1) * perEpoch + batch,
            epochs * perEpoch,
          ),
      }),
      ...(hooks.shouldStop ? { shouldStop: hooks.shouldStop } : {}),
      onEpoch: async (epochs, tta) => {
        run.epochs = [...epochs];
        if (performance.now() - lastCheckpointAt < checkpointMs) return;
        const opt = engine.getOptimizerState();
        await writeCheckpoint(ckptPath, {
          header: {
            runId: rid,
            configKey,
            epoch: epochs.length - 1,
            epochs: [...epochs],
            timeToAccuracy: tta,
            step: opt.step,
            paramCount: layout.total,
          },
          params: engine.getParams(),
          m: opt.m,
          v: opt.v,
        });
        savedEpoch = epochs.length - 1;
        lastCheckpointAt = performance.now();
      },
    });
    run.timeToAccuracy = r.timeToAccuracy;
    if (args.onnx !== "none") {
      const m = await exportAndMeasure({
        engine,
        layout,
        style: args.onnx,
        dir: args.out,
        runId: rid,
        profile: profile.name,
        datasetHash: data.datasetHash,
        suiteVersion: SUITE_VERSION,
        test: splits.evaluated, // with --validation, test stays unseen here too
        maxLen: profile.maxLen,
        batchSize: profile.batchSize,
        batchSizes: args.batchSizes,
        workers: args.workers ?? navigator.hardwareConcurrency,
        // Timed on the first seed of each profile and cell only (every one starts at --seed):
        // the other seeds' graphs differ only in the weights' values, which set no part of it.
        ...(spec.seed === args.seed ? { inferSeconds: profile.inferSeconds } : {
          inferSeconds: 0,
          untimedBecause: `seed ${args.seed} of ${profile.name} ${spec.arch} times the same graph`,
        }),
        progress,
      });
      run.onnx = m.onnx;
      run.inference = m.inference;
    }
  } catch (e) {
    if (
      e instanceof InterruptedError || e instanceof CheckpointError || !(e instanceof Error) ||
      writeErrorIn(e) !== null
    ) {
      throw e;
    }
    const epoch = e instanceof NonFiniteError ? e.epoch : run.epochs.length;
    const batch = e instanceof NonFiniteError ? e.batch : null;
    run.status = "failed";
    run.failure = { epoch, batch, message: e.message };
    progress.log(
      `${label}: FAILED: ${e.message}` +
        (savedEpoch === null ? "" : ` (last good checkpoint: epoch ${savedEpoch})`),
    );
  } finally {
    engine.dispose();
  }
  return run;
}
