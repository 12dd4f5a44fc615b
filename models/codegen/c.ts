/**
 * The C target of the generated-code lowering: SIMD across sequences with GCC vector
 * extensions (one `lane_t` holds one float for each of 8 sequences), OpenMP over groups of
 * sequences, vectorised `exp`/`sigmoid`/`tanh` written without libm so every lane runs
 * the same branch-free code, and host entry points the native engine calls through
 * `Deno.dlopen`:
 *
 * - `rb_create(maxB, T, V, threads)` → context (owns parameters, gradient, Adam moments
 *   and scratch); `rb_destroy(ctx)`; `rb_buffer(ctx, k)` → params/grad/m/v (`[P]` floats);
 * - `rb_loss_and_grad(ctx, ids [B, T], labels [B], B, logits [B])` → mean BCE, and the
 *   gradient written to the grad buffer (assigned, every parameter);
 * - `rb_adam(ctx, lr, beta1, beta2, eps, step, clip)` → the gradient's global L2 norm
 *   (before clipping; -1 when clip ≤ 0), updates params, m, v in place;
 * - `rb_predict(ctx, ids, B, logits)`; `rb_math(fn, in, out, n)` (tests of the math).
 *
 * Reproducibility: each group's parameter-gradient partial is reduced over lanes and then
 * over groups in a fixed order, the embedding gradient is summed per row in (b, t) order,
 * and the norm over fixed chunks, so results are bitwise identical for any thread count.
 *
 * The renderer takes the base's cell functions, flush and program layout as they are
 * (`renderer.ts`, one cell forward and backward per layer input size) and supplies the
 * prelude, the group passes (`c_group.ts`) and the host code. The code that is the same
 * for every shape is C source in `kernels/`: the math (`c_math.c`) and the host entry
 * points (`c_host.c`); this module writes the rest of the prelude (lane width, weight
 * type, min/max) around them.
 *
 * @module
 */
import type { ModelConfig } from "../classifier.ts";
import { codeFile } from "./_code_file.ts";
import { groupCode } from "./c_group.ts";
import { isWide, type ProgramShape, programShape, REG_MAX } from "./program_shape.ts";
import { Renderer } from "./renderer.ts";

/** Math functions exposed through `rb_math`, by code. */
export const MATH_FN = { exp: 0, sigmoid: 1, tanh: 2 } as const;

/** Lane-wise min and max: AVX/SSE instructions when the lane count matches, else selects. */
function minMax(lanes: number): string {
  const generic = `RB_FN lane_t rb_min(lane_t a, lane_t b) { return rb_select(a < b, a, b); }
RB_FN lane_t rb_max(lane_t a, lane_t b) { return rb_select(a > b, a, b); }`;
  const intrinsic = (guard: string, suffix: string, type: string) =>
    `#if defined(${guard})
#include <immintrin.h>
RB_FN lane_t rb_min(lane_t a, lane_t b) { return (lane_t)_mm${suffix}_min_ps((${type})a, (${type})b); }
RB_FN lane_t rb_max(lane_t a, lane_t b) { return (lane_t)_mm${suffix}_max_ps((${type})a, (${type})b); }
#else
${generic}
#endif`;
  if (lanes === 8) return intrinsic("__AVX__", "256", "__m256");
  if (lanes === 16) return intrinsic("__AVX512F__", "512", "__m512");
  if (lanes === 4) return intrinsic("__SSE__", "", "__m128");
  return generic;
}

/** The C renderer: OpenMP over groups of `lanes` sequences, GCC vector extensions. */
export class CRenderer extends Renderer {
  /** "c" */
  readonly target: string = "c";
  /** Sequences per SIMD value. */
  readonly lanes: number;
  /** relu and its mask over SIMD vectors, with the prelude's `rb_max` and `rb_select`. */
  readonly inlineMath: Readonly<Record<"relu" | "step", (x: string) => string>> = {
    relu: (x) => `rb_max(${x}, RB_ZERO)`,
    step: (x) => `rb_select(${x} > RB_ZERO, RB_SPLAT(1.0f), RB_ZERO)`,
  };

  /**
   * A C renderer.
   * @param lanes sequences per SIMD value (8 for AVX2, 16 for AVX-512)
   * @param saveForward save the values backward reads instead of recomputing them
   */
  constructor(lanes = 8, saveForward = false) {
    super();
    this.saveForward = saveForward;
    if (![1, 2, 4, 8, 16].includes(lanes)) {
      throw new RangeError(`Invalid lane count ${lanes}: must be 1, 2, 4, 8 or 16`);
    }
    this.lanes = lanes;
  }

  /** `, 8 sequences per lane value.` */
  protected override mapping(): string {
    return `, ${this.lanes} sequences per lane value.`;
  }

  /** Includes, lane types, qualifiers, and the vectorised math of `kernels/c_math.c`. */
  override prelude(shape: ProgramShape): string {
    const splat = Array.from({ length: this.lanes }, () => "(c)").join(", ");
    return `#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#define RB_TID omp_get_thread_num()
#else
#define RB_TID 0
#endif

/* One float per sequence of a group: a SIMD vector (GCC/Clang vector extensions). */
typedef float lane_t __attribute__((vector_size(${4 * this.lanes})));
typedef int32_t rb_ivec __attribute__((vector_size(${4 * this.lanes})));
${
      isWide(shape.hiddenSize)
        ? `/* Wide shape (H > ${REG_MAX}): weights stay floats (broadcast as each multiply-add loads
 * one), so a layer's weights take 1/RB_LANES of the cache a lane-value copy would. */
typedef float rb_w_t;
#define RB_WSPLAT(c) (c)`
        : `/* Weights are broadcast once per call into lane values, so each multiply-add reads one. */
typedef lane_t rb_w_t;
#define RB_WSPLAT(c) RB_SPLAT(c)`
    }
#define RB_FN static inline __attribute__((always_inline))
/* The per-group passes are big: one copy each, shared by every entry point. */
#define RB_GROUP_FN static __attribute__((noinline))
#define RB_RESTRICT restrict
#define RB_LANE(v, i) ((v)[i])
#define RB_ZERO ((lane_t){0})
#define RB_SPLAT(c) ((lane_t){${splat}})
#define RB_ISPLAT(c) ((rb_ivec){${splat}})
/* Prefetches n floats from p into cache. */
#define RB_PREFETCH(p, n) do { for (int pf_ = 0; pf_ < (n); pf_ += 16) __builtin_prefetch((p) + pf_); } while (0)

/* m ? a : b, lane by lane (m is all-ones or all-zeros per lane). */
RB_FN lane_t rb_select(rb_ivec m, lane_t a, lane_t b) {
  return (lane_t)((m & (rb_ivec)a) | (~m & (rb_ivec)b));
}
${minMax(this.lanes)}

${codeFile("c_math.c")}`;
  }

  /**
   * The group passes (`c_group.ts`), then the context struct and the host entry points,
   * with OpenMP loops over groups (`kernels/c_host.c`).
   */
  override kernels(shape: ProgramShape): string {
    return `${groupCode(shape)}\n\n\n${codeFile("c_host.c")}\n`;
  }
}

/**
 * Generates the C program of a classifier shape.
 *
 * @param model the model shape (the vocabulary size is a runtime value, not baked in)
 * @param lanes sequences per SIMD value
 * @param saveForward save the forward values backward reads instead of recomputing them
 * @returns C source
 * @example
 * ```ts
 * import { generateC } from "./c.ts";
 * const src = generateC({ arch: "gru", vocabSize: 100, embedDim: 8, hiddenSize: 4, layers: 2 });
 * console.log(src.length > 0);
 * ```
 */
export function generateC(model: ModelConfig, lanes = 8, saveForward = false): string {
  return new CRenderer(lanes, saveForward).program(programShape(model));
}
