/**
 * The error a lowering throws for an op it cannot lower, naming the op, the target and why
 * (`Cannot lower op "tanh" for cuda: no entry in the op table`).
 *
 * @module
 */

/** Thrown when an op cannot be lowered for a target. */
export class LoweringError extends Error {
  /**
   * A lowering error.
   * @param op the op that could not be lowered
   * @param target the target's name ("c", "cuda")
   * @param why the reason
   */
  constructor(op: string, target: string, why: string) {
    super(`Cannot lower op "${op}" for ${target}: ${why}`);
    this.name = "LoweringError";
  }
}
