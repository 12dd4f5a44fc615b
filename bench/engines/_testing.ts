/**
 * Test helpers for engines.
 *
 * @module
 */
import type { Engine } from "./engine.ts";

/**
 * An engine that forwards every call to `e` except those `over` replaces: the spies and
 * fault injectors tests pass as `wrapEngine` to `runBench`.
 *
 * @param e the real engine
 * @param over the members to replace
 * @returns the wrapper
 * @example
 * ```ts
 * const spy = (e: Engine) => forwardingEngine(e, { trainStep: (b) => e.trainStep(b) });
 * ```
 */
export function forwardingEngine(e: Engine, over: Partial<Engine> = {}): Engine {
  return {
    name: e.name,
    detail: e.detail,
    setParams: (p) => e.setParams(p),
    getParams: () => e.getParams(),
    getOptimizerState: () => e.getOptimizerState(),
    setOptimizerState: (s) => e.setOptimizerState(s),
    setLearningRate: (lr) => e.setLearningRate(lr),
    trainStep: (b) => e.trainStep(b),
    predict: (ids, n, source) => e.predict(ids, n, source),
    lossAndGrad: (b) => e.lossAndGrad(b),
    dispose: () => e.dispose(),
    ...over,
  };
}
