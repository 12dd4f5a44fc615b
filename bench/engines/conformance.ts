/**
 * The engine contract as one test suite, run against every engine (native, tfjs on each
 * backend, cuda on the emulator) and every cell: {@linkcode engineConformance} registers
 * Deno tests comparing the engine with the float64 reference (`models/reference.ts`) and the
 * reference Adam (`models/adam.ts` = `torch.optim.Adam`) on the tiny fixture of
 * `_testing.ts`, checking that training is bitwise reproducible, that the optimizer state
 * round-trips, and that bad input is refused with a clear error. Each engine's `engine_test.ts`
 * calls it and holds only what that engine alone has.
 *
 * Letters: B batch, T = maxLen timesteps, P parameters.
 *
 * @module
 */
import { adamState, adamStep } from "../../models/adam.ts";
import { ARCHS } from "../../models/cells.ts";
import { bceWithLogits } from "../../models/classifier.ts";
import { referenceForward, referenceLossAndGrad } from "../../models/reference.ts";
import { Rng } from "../../models/rng.ts";
import { ignorableTest } from "../../models/_testing.ts";
import type { Engine, EngineOptions } from "./engine.ts";
import {
  assertCloseAll,
  assertGradClose,
  assertSameBits,
  type Cell,
  type EngineFixture,
  engineFixture,
  engineOptions,
  FIXTURE,
  type OptionChanges,
  refusal,
  type ScaledTolerance,
  withEngine,
} from "./_testing.ts";

/**
 * Every tolerance of the suite (float32 engine against float64 reference, pass when
 * `|a − b| ≤ atol + rtol·|b|`, `atol` times the tensor's largest `|b|` where `ofMax`). Each
 * entry lists tolerances that must ALL hold: where the engines' earlier tests each had their
 * own, the suite requires both of every engine.
 */
export const TOLERANCES = {
  /** Logits of a forward pass at the given parameters. */
  logits: [{ atol: 1e-5, rtol: 0 }, { atol: 1e-6, rtol: 1e-5 }],
  /** Mean BCE loss at the given parameters. */
  loss: [{ atol: 1e-6, rtol: 0 }, { atol: 0, rtol: 1e-5 }],
  /** Each gradient tensor. */
  gradient: [{ atol: 1e-5, rtol: 1e-4, ofMax: true }, { atol: 1e-6, rtol: 1e-4 }],
  /**
   * The whole gradient at once, `atol` of its largest value: for deep stacks where whole
   * tensors vanish (32 layers of hidden 1 give gradients of 1e-32).
   */
  wholeGradient: [{ atol: 1e-5, rtol: 1e-4, ofMax: true }],
  /** Parameters after `lossAndGrad` (which updates nothing) against the float64 ones set. */
  unchanged: [{ atol: 0, rtol: 1e-7 }],
  /** Logits and loss during training, after updates (float32 and float64 parameters drift). */
  logitsAfterSteps: [{ atol: 1e-5, rtol: 1e-4 }],
  lossAfterSteps: [{ atol: 1e-4, rtol: 0 }, { atol: 0, rtol: 1e-5 }],
  /** Parameters and moments after 3 steps against models/adam.ts fed the engine's gradients. */
  adamParams: [{ atol: 1e-7, rtol: 1e-5 }],
  adamM: [{ atol: 1e-10, rtol: 1e-5 }],
  adamV: [{ atol: 1e-14, rtol: 1e-5 }],
  /**
   * Parameters after 3 steps against the float64 reference end to end, where the reference
   * gradient never fell below {@linkcode SMALL_GRADIENT}.
   */
  trainedParamsWellConditioned: [{ atol: 1e-5, rtol: 1e-5 }],
  /**
   * The same where it did: Adam's step lr·m/(√v + ε) turns float32's ~1e-9 gradient error
   * into up to ~lr there (tfjs-wasm: 2.8e-4 on an lstm bias whose gradient fell to 7e-9), so
   * only |Δ| ≤ 3·lr is required (as a multiple of lr).
   */
  trainedParamsSmallGradientOfLr: 3,
  /** Adam's first moment after a clipped step: against the engine's own clipped gradient … */
  clippedMoment: [{ atol: 1e-9, rtol: 1e-5 }],
  /** … and (divided by 1 − β1) against the reference gradient clipped as torch does. */
  clippedGradient: [{ atol: 1e-7, rtol: 1e-4 }],
  /** Parameters after one clipped step against models/adam.ts on the clipped reference. */
  clippedParams: [{ atol: 1e-5, rtol: 1e-5 }],
} as const satisfies Record<string, readonly ScaledTolerance[] | number>;

/** Below this the reference gradient is "small" for {@linkcode TOLERANCES} (≤ 100 ε). */
export const SMALL_GRADIENT = 1e-6;

/** The refusals the suite provokes, for {@linkcode ConformanceOptions.wording}. */
export type Refusal = "tokenId" | "batchSize" | "idsLength" | "params" | "disposed";

/** Builds an engine; the suite disposes it. */
export type EngineFactory = (opts: EngineOptions) => Promise<Engine>;

/** How {@linkcode engineConformance} runs. */
export interface ConformanceOptions {
  /** The cells to check, by name (a test may pass a cell it adds). @default ARCHS */
  readonly cells?: readonly Cell[];
  /**
   * Why the engine cannot run here: every test is then registered as ignored, with this
   * reason at the end of its name. @default null
   */
  readonly ignore?: string | null;
  /** CPU threads in the engine options. @default null (all cores) */
  readonly threads?: number | null;
  /**
   * The engine's own wording, required of its messages on top of what the suite requires of
   * every engine (that the message names the bad value and what was wanted). @default {}
   */
  readonly wording?: Partial<Record<Refusal, RegExp>>;
}

/** What every check gets: how to build the engine under test, and its wording. */
interface Subject {
  /** Builds the engine for a fixture's layout, with the suite's threads and `o`. */
  readonly make: (f: EngineFixture, o?: OptionChanges) => () => Promise<Engine>;
  readonly wording: Partial<Record<Refusal, RegExp>>;
}

const T = FIXTURE.T, B = FIXTURE.B;

/**
 * Registers the conformance tests of one engine: for every cell, forward logits, loss and
 * gradient (also of a short batch) against the float64 reference, three Adam steps against
 * models/adam.ts and the reference, gradient clipping as torch does it, and bitwise
 * reproducibility; once, on the first cell, the optimizer state's round trip and the refusal
 * of bad input with a clear error.
 *
 * @param name the engine as test names show it ("native", "cuda (emulated)")
 * @param factory builds the engine from its options
 * @param options cells, ignore reason, threads, the engine's wording
 * @example
 * ```ts
 * import { createNativeEngine } from "./native/engine.ts";
 * engineConformance("native", (o) => createNativeEngine(o), { threads: 2 });
 * ```
 */
export function engineConformance(
  name: string,
  factory: EngineFactory,
  options: ConformanceOptions = {},
): void {
  const { cells = ARCHS, ignore = null, threads = null, wording = {} } = options;
  const s: Subject = {
    make: (f, o = {}) => () => factory(engineOptions(f.layout, { threads, ...o })),
    wording,
  };
  const test = (what: string, fn: () => Promise<void>) => ignorableTest({ name: what, ignore, fn });
  for (const cell of cells) {
    test(
      `${name} forward logits of ${cell} match the float64 reference, also of a short batch`,
      () => forwardMatches(s, cell),
    );
    test(
      `${name} loss and gradient of ${cell} match the float64 reference on every tensor`,
      () => gradientMatches(s, cell),
    );
    test(
      `${name} gradient of ${cell} on a short batch (21 of 24) matches the float64 reference`,
      () => shortBatchGradientMatches(s, cell),
    );
    test(
      `three ${name} Adam steps of ${cell} match models/adam.ts and the float64 reference`,
      () => adamStepsMatch(s, cell),
    );
    test(
      `${name} clipping of ${cell} scales the gradient to the clip norm before Adam, as torch does`,
      () => clippingMatches(s, cell),
    );
    test(
      `${name} training of ${cell} is bitwise identical across runs`,
      () => trainingIsReproducible(s, cell),
    );
    test(
      `${name} with the readout max: logits and gradient of ${cell} match the float64 reference`,
      () => maxReadoutMatches(s, cell),
    );
  }
  const first = cells[0];
  if (first === undefined) return;
  test(
    `${name} optimizer state round-trips, setParams resets it, the learning rate applies`,
    () => optimizerStateRoundTrips(s, first),
  );
  test(
    `${name} refuses bad ids, batch sizes and parameters with a clear error, and is unusable after dispose`,
    () => badInputIsRefused(s, first),
  );
}

/** torch.nn.utils.clip_grad_norm_ in float64. */
function clipRef(g: Float64Array, maxNorm: number): Float64Array {
  const norm = l2(g);
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  return g.map((x) => x * coef);
}

function l2(g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/** predict of a full and a short batch against the reference's logits. */
async function forwardMatches(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell);
  await withEngine(s.make(f), async (e) => {
    e.setParams(f.params);
    for (const size of [B, 3]) {
      const ids = f.batch.ids.subarray(0, size * T);
      const want = referenceForward(f.layout, f.params, ids, size, T).logits;
      const got = await e.predict(ids, size);
      assertCloseAll(`${cell} logits of ${size}`, got, want, TOLERANCES.logits);
    }
  });
}

/** lossAndGrad against the reference, tensor by tensor; it leaves the parameters alone. */
async function gradientMatches(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell);
  const ref = referenceLossAndGrad(f.layout, f.params, f.batch.ids, f.labels, T);
  await withEngine(s.make(f), async (e) => {
    e.setParams(f.params);
    const { loss, grad } = await e.lossAndGrad(f.batch);
    assertCloseAll(`${cell} loss`, [loss], [ref.loss], TOLERANCES.loss);
    assertGradClose(cell, f.layout, grad, ref.grad, TOLERANCES.gradient);
    const after = e.getParams();
    assertCloseAll(`${cell} params after lossAndGrad`, after, f.params, TOLERANCES.unchanged);
  });
}

/**
 * The readout `"max"` (max pooling over time): logits of a full batch, and loss and gradient
 * of a full batch and of a short one (21 in an engine built for 24), against the reference.
 */
async function maxReadoutMatches(s: Subject, cell: Cell): Promise<void> {
  const model = { readout: "max" } as const;
  const f = engineFixture(cell, { model });
  await withEngine(s.make(f), async (e) => {
    e.setParams(f.params);
    const want = referenceForward(f.layout, f.params, f.batch.ids, B, T).logits;
    assertCloseAll(`${cell} max logits`, await e.predict(f.batch.ids, B), want, TOLERANCES.logits);
    const ref = referenceLossAndGrad(f.layout, f.params, f.batch.ids, f.labels, T);
    const { loss, grad } = await e.lossAndGrad(f.batch);
    assertCloseAll(`${cell} max loss`, [loss], [ref.loss], TOLERANCES.loss);
    assertGradClose(`${cell} max`, f.layout, grad, ref.grad, TOLERANCES.gradient);
  });
  const short = engineFixture(cell, { size: 21, model });
  const ref = referenceLossAndGrad(short.layout, short.params, short.batch.ids, short.labels, T);
  await withEngine(s.make(short, { batchSize: 24 }), async (e) => {
    e.setParams(short.params);
    const { loss, grad } = await e.lossAndGrad(short.batch);
    assertCloseAll(`${cell} max B=21 loss`, [loss], [ref.loss], TOLERANCES.loss);
    assertGradClose(`${cell} max B=21`, short.layout, grad, ref.grad, TOLERANCES.gradient);
  });
}

/** A batch of 21 in an engine built for 24: several groups, blocks or shares, the last short. */
async function shortBatchGradientMatches(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell, { size: 21 });
  const ref = referenceLossAndGrad(f.layout, f.params, f.batch.ids, f.labels, T);
  await withEngine(s.make(f, { batchSize: 24 }), async (e) => {
    e.setParams(f.params);
    const { loss, grad } = await e.lossAndGrad(f.batch);
    assertCloseAll(`${cell} B=21 loss`, [loss], [ref.loss], TOLERANCES.loss);
    assertGradClose(`${cell} B=21`, f.layout, grad, ref.grad, TOLERANCES.gradient);
  });
}

/**
 * Three steps on three batches: trainStep's logits and loss against the reference's before
 * each update; then the parameters and moments against models/adam.ts fed the ENGINE's own
 * gradients (Adam alone), and the parameters against the reference end to end.
 */
async function adamStepsMatch(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell);
  const cfg = engineOptions(f.layout).optimizer;
  const ref = f.params.slice(), refState = adamState(ref.length);
  const own = f.params.slice(), ownState = adamState(own.length);
  const minAbsGrad = new Float64Array(ref.length).fill(Infinity);
  await withEngine(s.make(f), async (e) => {
    e.setParams(f.params);
    for (let step = 0; step < 3; step++) {
      const { batch, labels } = engineFixture(cell, { seed: 10 + step });
      const r = referenceLossAndGrad(f.layout, ref, batch.ids, labels, T);
      const g = (await e.lossAndGrad(batch)).grad;
      // trainStep's logits are those of the forward pass BEFORE the update.
      const logits = await e.trainStep(batch);
      const at = `${cell} step ${step + 1}`;
      const tol = step === 0 ? TOLERANCES.logits : TOLERANCES.logitsAfterSteps;
      assertCloseAll(`${at} logits`, logits, r.logits, tol);
      const loss = bceWithLogits(logits, labels).loss;
      assertCloseAll(`${at} loss`, [loss], [r.loss], TOLERANCES.lossAfterSteps);
      adamStep(ref, r.grad, refState, cfg);
      adamStep(own, g, ownState, cfg);
      r.grad.forEach((x, i) => minAbsGrad[i] = Math.min(minAbsGrad[i]!, Math.abs(x)));
    }
    // The steps moved the loss: the comparison is not of three identical numbers.
    const first = engineFixture(cell, { seed: 10 });
    const start = referenceLossAndGrad(f.layout, f.params, first.batch.ids, first.labels, T);
    const end = referenceLossAndGrad(f.layout, ref, first.batch.ids, first.labels, T);
    if (!(Math.abs(end.loss - start.loss) > 1e-3)) {
      throw new Error(`loss barely moved: ${start.loss} → ${end.loss}`);
    }
    const got = e.getParams(), st = e.getOptimizerState();
    if (st.step !== 3) throw new Error(`optimizer step ${st.step}, want 3`);
    assertCloseAll(`${cell} params vs Adam on its gradients`, got, own, TOLERANCES.adamParams);
    assertCloseAll(`${cell} Adam m`, st.m, ownState.m, TOLERANCES.adamM);
    assertCloseAll(`${cell} Adam v`, st.v, ownState.v, TOLERANCES.adamV);
    // Split where the reference gradient ever fell below SMALL_GRADIENT (embedding rows of
    // absent tokens are exactly 0 on both sides and stay exact), see TOLERANCES.
    const tight = (i: number) => !(minAbsGrad[i]! < SMALL_GRADIENT && minAbsGrad[i]! > 0);
    const idx = [...got.keys()].filter(tight);
    const loose = [...got.keys()].filter((i) => !tight(i));
    assertCloseAll(
      `${cell} params after 3 steps (well-conditioned)`,
      idx.map((i) => got[i]!),
      idx.map((i) => ref[i]!),
      TOLERANCES.trainedParamsWellConditioned,
    );
    assertCloseAll(
      `${cell} params after 3 steps (|g| ~ ε)`,
      loose.map((i) => got[i]!),
      loose.map((i) => ref[i]!),
      [{ atol: TOLERANCES.trainedParamsSmallGradientOfLr * cfg.lr, rtol: 0 }],
    );
    if (loose.length > got.length / 20) {
      throw new Error(
        `${loose.length} of ${got.length} gradients below ${SMALL_GRADIENT}: test is weak`,
      );
    }
  });
}

/** One step with a clip small enough to act, against the engine's gradient and torch's rule. */
async function clippingMatches(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell);
  const clip = 0.02;
  const ref = referenceLossAndGrad(f.layout, f.params, f.batch.ids, f.labels, T);
  if (!(l2(ref.grad) > clip * 2)) {
    throw new Error(`fixture gradient norm ${l2(ref.grad)} is too small to clip`);
  }
  const cfg = engineOptions(f.layout).optimizer;
  const clipped = clipRef(ref.grad, clip);
  const p = f.params.slice();
  adamStep(p, clipped, adamState(p.length), cfg);
  await withEngine(s.make(f, { gradClip: clip }), async (e) => {
    e.setParams(f.params);
    const { grad } = await e.lossAndGrad(f.batch);
    const norm = l2(grad);
    await e.trainStep(f.batch);
    // After one step m = (1 − β1) g_clipped with g_clipped = g · clip / (norm + 1e-6).
    const m = e.getOptimizerState().m;
    const own = Array.from(grad, (g) => (1 - cfg.beta1) * g * clip / (norm + 1e-6));
    assertCloseAll(`${cell} m after a clipped step`, m, own, TOLERANCES.clippedMoment);
    const g = Array.from(m, (x) => x / (1 - cfg.beta1));
    assertCloseAll(`${cell} clipped gradient`, g, clipped, TOLERANCES.clippedGradient);
    const after = e.getParams();
    assertCloseAll(`${cell} params after a clipped step`, after, p, TOLERANCES.clippedParams);
  });
}

/** Two engines, the same parameters and batches (clipped steps, a short batch): the same bits. */
async function trainingIsReproducible(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell, { size: 21 });
  const run = () =>
    withEngine(s.make(f, { batchSize: 24, gradClip: 0.5 }), async (e) => {
      e.setParams(f.params);
      const out: Float32Array[] = [];
      for (let i = 0; i < 3; i++) out.push(await e.trainStep(f.batch));
      out.push(await e.predict(f.batch.ids, f.batch.size));
      return { params: e.getParams(), out };
    });
  const a = await run(), b = await run();
  assertSameBits(`${cell} parameters of the second run`, b.params, a.params);
  a.out.forEach((o, i) =>
    assertSameBits(`${cell} logits of call ${i + 1} of the second run`, b.out[i]!, o)
  );
}

/** Parameters and Adam's state round-trip exactly; setParams resets Adam; lr 0 changes nothing. */
async function optimizerStateRoundTrips(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell);
  const rng = new Rng(3);
  const p = Float32Array.from({ length: f.layout.total }, () => rng.normal());
  const exact = [{ atol: 0, rtol: 0 }];
  await withEngine(s.make(f), async (e) => {
    const assertReset = () => {
      const z = e.getOptimizerState();
      if (z.step !== 0 || z.m.some((x) => x !== 0) || z.v.some((x) => x !== 0)) {
        throw new Error("setParams did not reset the optimizer state");
      }
    };
    e.setParams(p);
    assertCloseAll("params round trip", e.getParams(), p, exact);
    const m = Float32Array.from(p, (x) => x / 10), v = Float32Array.from(p, (x) => x * x);
    e.setOptimizerState({ m, v, step: 4 });
    const s4 = e.getOptimizerState();
    assertCloseAll("m round trip", s4.m, m, exact);
    assertCloseAll("v round trip", s4.v, v, exact);
    if (s4.step !== 4) throw new Error(`step ${s4.step}, want 4`);
    e.setParams(f.params);
    assertReset();
    await e.trainStep(f.batch);
    const s1 = e.getOptimizerState(), p1 = e.getParams();
    e.setParams(f.params);
    assertReset();
    e.setParams(p1);
    e.setOptimizerState(s1);
    const back = e.getOptimizerState();
    if (back.step !== 1) throw new Error(`step ${back.step} after the round trip, want 1`);
    assertCloseAll("m after a step, round trip", back.m, s1.m, exact);
    assertCloseAll("v after a step, round trip", back.v, s1.v, exact);
    // lr 0: a step changes nothing.
    e.setLearningRate(0);
    await e.trainStep(f.batch);
    assertCloseAll("params after a step at lr 0", e.getParams(), p1, exact);
  });
}

/**
 * Bad ids, batch sizes, ids lengths and parameter lengths are refused with a message naming
 * the bad value and what was wanted (and the engine's own wording); a refused batch changes
 * nothing; a disposed engine says so.
 */
async function badInputIsRefused(s: Subject, cell: Cell): Promise<void> {
  const f = engineFixture(cell);
  const V = f.layout.config.vocabSize, P = f.layout.total;
  const e = await s.make(f)();
  const expect = async (kind: Refusal, what: string, call: () => unknown, want: RegExp) => {
    const msg = await refusal(what, call);
    for (const re of [want, ...(s.wording[kind] ? [s.wording[kind]] : [])]) {
      if (!re.test(msg)) throw new Error(`${what}: the message "${msg}" does not match ${re}`);
    }
  };
  try {
    e.setParams(f.params);
    const bad = f.batch.ids.slice();
    bad[3] = V;
    const badBatch = { ...f.batch, ids: bad };
    const outside = new RegExp(`[Tt]oken id ${V} is outside \\[0, ${V}\\)`);
    await expect("tokenId", "predict of a bad id", () => e.predict(bad, B), outside);
    await expect("tokenId", "trainStep of a bad id", () => e.trainStep(badBatch), outside);
    await expect("tokenId", "lossAndGrad of a bad id", () => e.lossAndGrad(badBatch), outside);
    // A refused batch changes nothing and leaves the engine usable.
    if (e.getOptimizerState().step !== 0) throw new Error("a refused step counted");
    assertCloseAll("params after refusals", e.getParams(), f.params, TOLERANCES.unchanged);
    const ok = await e.lossAndGrad(f.batch);
    if (!Number.isFinite(ok.loss)) throw new Error("the engine broke after a rejected batch");
    await expect(
      "batchSize",
      `a batch of ${B + 1}`,
      () => e.predict(f.batch.ids, B + 1),
      new RegExp(`\\b${B + 1}\\b.*\\[1, ${B}\\]`),
    );
    await expect(
      "idsLength",
      "ids shorter than size × T",
      () => e.predict(f.batch.ids.subarray(0, (B - 1) * T), B),
      new RegExp(`\\b${(B - 1) * T}\\b.*\\b${B * T}\\b`),
    );
    await expect(
      "params",
      "parameters of the wrong length",
      () => e.setParams(f.params.subarray(1)),
      new RegExp(`\\b${P - 1}\\b.*\\b${P}\\b`),
    );
  } finally {
    e.dispose();
  }
  e.dispose();
  await expect(
    "disposed",
    "predict after dispose",
    () => e.predict(f.batch.ids, B),
    new RegExp(`Cannot use engine ${e.name}: it was disposed`),
  );
}
