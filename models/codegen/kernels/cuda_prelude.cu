/* CUDA target, prelude: the types, qualifiers and math functions every generated CUDA
 * program opens with (models/codegen/cuda.ts copies this file, without this header, to the
 * top of each program; it has no holes).
 *
 * One sequence per warp and one layer per lane, so a lane value (lane_t) is a plain float
 * and weights (rb_w_t) are read as they are. The shared cell code and flush
 * (models/codegen/renderer.ts, default_ops.ts) use lane_t, rb_w_t, RB_FN, RB_RESTRICT,
 * RB_ZERO and the array math functions rb_sigmoid_v and rb_tanh_v. RB_GROUP_FN, RB_LANE
 * and RB_PREFETCH serve only the C target's group passes; they are defined here too, and
 * unused. RB_DYNAMIC_SMEM declares the dynamic shared memory, which the CPU emulator
 * (bench/engines/cuda/emulator/rb_emulate.h, -DRB_EMULATE) provides by a call instead.
 */

#if defined(__CUDACC_RTC__)
typedef unsigned long size_t; /* NVRTC: no system headers */
#endif
/* One sequence per thread: a lane value is a float. Weights are read as they are. */
typedef float lane_t;
typedef float rb_w_t;
#define RB_FN __device__ __forceinline__
#define RB_GROUP_FN __device__
#define RB_RESTRICT __restrict__
#define RB_LANE(v, i) (v)
#define RB_ZERO 0.0f
#define RB_PREFETCH(p, n)
#define RB_FULL 0xffffffffu
#ifdef RB_EMULATE
#define RB_DYNAMIC_SMEM(name) float *name = rb_emu_dynamic_smem()
#else
#define RB_DYNAMIC_SMEM(name) extern __shared__ float name[]
#endif

/* y = σ(x) = 1 / (1 + e^-x) (expf: full accuracy; e^88+ overflows to inf and gives 0). */
RB_FN void rb_sigmoid_v(const lane_t *RB_RESTRICT x, lane_t *RB_RESTRICT y, int n) {
#pragma unroll
  for (int i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

/* y = tanh(x) (tanhf: full accuracy). */
RB_FN void rb_tanh_v(const lane_t *RB_RESTRICT x, lane_t *RB_RESTRICT y, int n) {
#pragma unroll
  for (int i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
