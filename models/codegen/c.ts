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
 * @module
 */
import type { ModelConfig } from "../classifier.ts";
import { isWide, type ProgramShape, programShape, REG_MAX, Renderer } from "./renderer.ts";

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

  /** Includes, lane types, qualifiers and the vectorised math functions. */
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

/* The math functions work on arrays of n lane values. Each step of an evaluation runs
 * across a chunk of 8 values before the next step, so that 8 independent dependency
 * chains interleave and the out-of-order core hides the latency of the polynomials. */
#define RB_VCHUNK 8
#define RB_EACH for (int k = 0; k < m; k++)

/* y = e^x: Cody-Waite reduction x = n ln2 + r, Cephes' degree-6 polynomial for e^r, 2^n
 * from the exponent bits. Inputs are clamped to [-87.33, 88] (results 2^-126 … 1.65e38).
 * Max relative error 8e-8 over [-87, 88] (checked in bench/engines/native_test.ts). */
RB_FN void rb_exp_v(const lane_t *RB_RESTRICT x, lane_t *RB_RESTRICT y, int n) {
  for (int i0 = 0; i0 < n; i0 += RB_VCHUNK) {
    const int m = n - i0 < RB_VCHUNK ? n - i0 : RB_VCHUNK;
    lane_t r[RB_VCHUNK], p[RB_VCHUNK], s[RB_VCHUNK];
    RB_EACH {
      const lane_t xc = rb_min(rb_max(x[i0 + k], RB_SPLAT(-87.33654475f)), RB_SPLAT(88.0f));
      /* round(x / ln2) with the 1.5 * 2^23 trick (exact without -ffast-math) */
      const lane_t big = xc * RB_SPLAT(1.44269504088896341f) + RB_SPLAT(12582912.0f);
      const lane_t fn = big - RB_SPLAT(12582912.0f);
      s[k] = (lane_t)(((rb_ivec)big - RB_ISPLAT(0x4B400000 - 127)) << 23); /* 2^n */
      r[k] = (xc - fn * RB_SPLAT(0.693359375f)) - fn * RB_SPLAT(-2.12194440e-4f);
    }
    RB_EACH p[k] = RB_SPLAT(1.9875691500e-4f) * r[k] + RB_SPLAT(1.3981999507e-3f);
    RB_EACH p[k] = p[k] * r[k] + RB_SPLAT(8.3334519073e-3f);
    RB_EACH p[k] = p[k] * r[k] + RB_SPLAT(4.1665795894e-2f);
    RB_EACH p[k] = p[k] * r[k] + RB_SPLAT(1.6666665459e-1f);
    RB_EACH p[k] = p[k] * r[k] + RB_SPLAT(5.0000001201e-1f);
    RB_EACH y[i0 + k] = (p[k] * (r[k] * r[k]) + r[k] + RB_SPLAT(1.0f)) * s[k];
  }
}

/* y = σ(x) = 1 / (1 + e^-x): good relative accuracy also where σ is near 0. */
RB_FN void rb_sigmoid_v(const lane_t *RB_RESTRICT x, lane_t *RB_RESTRICT y, int n) {
  for (int i0 = 0; i0 < n; i0 += RB_VCHUNK) {
    const int m = n - i0 < RB_VCHUNK ? n - i0 : RB_VCHUNK;
    lane_t t[RB_VCHUNK];
    RB_EACH t[k] = -x[i0 + k];
    rb_exp_v(t, y + i0, m);
    RB_EACH y[i0 + k] = RB_SPLAT(1.0f) / (RB_SPLAT(1.0f) + y[i0 + k]);
  }
}

/* y = tanh(x): Eigen's rational approximation x P(x²) / Q(x²) (degrees 13/6) on x clamped
 * to ±7.9988; max error 2.5e-7 absolute and relative (checked in native_test.ts). */
RB_FN void rb_tanh_v(const lane_t *RB_RESTRICT x, lane_t *RB_RESTRICT y, int n) {
  for (int i0 = 0; i0 < n; i0 += RB_VCHUNK) {
    const int m = n - i0 < RB_VCHUNK ? n - i0 : RB_VCHUNK;
    lane_t xc[RB_VCHUNK], x2[RB_VCHUNK], p[RB_VCHUNK], q[RB_VCHUNK];
    RB_EACH xc[k] = rb_min(rb_max(x[i0 + k], RB_SPLAT(-7.99881172180175781f)),
                           RB_SPLAT(7.99881172180175781f));
    RB_EACH x2[k] = xc[k] * xc[k];
    RB_EACH p[k] = x2[k] * RB_SPLAT(-2.76076847742355e-16f) + RB_SPLAT(2.00018790482477e-13f);
    RB_EACH q[k] = x2[k] * RB_SPLAT(1.19825839466702e-06f) + RB_SPLAT(1.18534705686654e-04f);
    RB_EACH p[k] = x2[k] * p[k] + RB_SPLAT(-8.60467152213735e-11f);
    RB_EACH q[k] = x2[k] * q[k] + RB_SPLAT(2.26843463243900e-03f);
    RB_EACH p[k] = x2[k] * p[k] + RB_SPLAT(5.12229709037114e-08f);
    RB_EACH q[k] = x2[k] * q[k] + RB_SPLAT(4.89352518554385e-03f);
    RB_EACH p[k] = x2[k] * p[k] + RB_SPLAT(1.48572235717979e-05f);
    RB_EACH p[k] = x2[k] * p[k] + RB_SPLAT(6.37261928875436e-04f);
    RB_EACH p[k] = x2[k] * p[k] + RB_SPLAT(4.89352455891786e-03f);
    RB_EACH y[i0 + k] = (xc[k] * p[k]) / q[k];
  }
}`;
  }

  /** The context struct and the host entry points, with OpenMP loops over groups. */
  override kernels(_shape: ProgramShape): string {
    return `
/* ================= host entry points (C target: OpenMP over groups) ================= */

/* Everything the engine keeps between calls. P = V*E + RB_NREST parameters. */
typedef struct rb_ctx {
  int maxB, T, V, threads;
  size_t np;
  float *params, *grad, *m, *v; /* [P] each */
  lane_t *tape;    /* [threads][L][T][RB_TAPE]: states after every step, for backward */
  lane_t *acc;     /* [threads][NREST]: lane accumulators of the non-embedding gradient */
  lane_t *work;    /* [threads][2*T*H + E + TB*STASH]: h or dh between layers, input, stash */
  rb_w_t *wv;      /* [NREST]: the non-embedding weights as rb_w_t (lane values or floats) */
  float *partial;  /* [groups][NREST]: each group's gradient, reduced over its lanes */
  double *loss;    /* [maxB]: per-sequence loss */
  float *dxEmb;    /* [maxB][T][E]: dLoss/d(embedded input) */
  int *rowStart;   /* [V + 1]: counting sort of (b, t) by token id */
  int *rowFill;    /* [V] */
  int *order;      /* [maxB * T] */
  double *chunks;  /* partial sums of the gradient norm */
} rb_ctx;

#define RB_CHUNK 65536
#define RB_WORK(T) (2 * (size_t)(T) * RB_H + RB_E + RB_TB * RB_STASH_MAX)

/* Copies the weights after the embedding into rb_w_t values (lane values: broadcast), once
 * per call. */
static void rb_broadcast_weights(rb_ctx *c) {
  const float *RB_RESTRICT w = c->params + (size_t)c->V * RB_E;
  for (int i = 0; i < RB_NREST; i++) c->wv[i] = RB_WSPLAT(w[i]);
}

static void *rb_alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? (bytes + 63) / 64 * 64 : 64) != 0) return NULL;
  memset(p, 0, bytes);
  return p;
}

void rb_destroy(rb_ctx *c) {
  if (!c) return;
  free(c->params); free(c->grad); free(c->m); free(c->v);
  free(c->tape); free(c->acc); free(c->work); free(c->wv);
  free(c->partial); free(c->loss); free(c->dxEmb);
  free(c->rowStart); free(c->rowFill); free(c->order); free(c->chunks);
  free(c);
}

/* NULL when out of memory. */
rb_ctx *rb_create(int maxB, int T, int V, int threads) {
  rb_ctx *c = (rb_ctx *)calloc(1, sizeof(rb_ctx));
  if (!c) return NULL;
  if (threads < 1) threads = 1;
  const int groups = (maxB + RB_LANES - 1) / RB_LANES;
  c->maxB = maxB; c->T = T; c->V = V; c->threads = threads;
  c->np = (size_t)V * RB_E + RB_NREST;
  c->params = (float *)rb_alloc(c->np * sizeof(float));
  c->grad = (float *)rb_alloc(c->np * sizeof(float));
  c->m = (float *)rb_alloc(c->np * sizeof(float));
  c->v = (float *)rb_alloc(c->np * sizeof(float));
  c->tape = (lane_t *)rb_alloc((size_t)threads * RB_L * T * RB_TAPE * sizeof(lane_t));
  c->acc = (lane_t *)rb_alloc((size_t)threads * RB_NREST * sizeof(lane_t));
  c->work = (lane_t *)rb_alloc((size_t)threads * RB_WORK(T) * sizeof(lane_t));
  c->wv = (rb_w_t *)rb_alloc((size_t)RB_NREST * sizeof(rb_w_t));
  c->partial = (float *)rb_alloc((size_t)groups * RB_NREST * sizeof(float));
  c->loss = (double *)rb_alloc((size_t)maxB * sizeof(double));
  c->dxEmb = (float *)rb_alloc((size_t)maxB * T * RB_E * sizeof(float));
  c->rowStart = (int *)rb_alloc(((size_t)V + 1) * sizeof(int));
  c->rowFill = (int *)rb_alloc((size_t)V * sizeof(int));
  c->order = (int *)rb_alloc((size_t)maxB * T * sizeof(int));
  c->chunks = (double *)rb_alloc((c->np / RB_CHUNK + 1) * sizeof(double));
  if (!c->params || !c->grad || !c->m || !c->v || !c->tape || !c->acc || !c->work || !c->wv ||
      !c->partial || !c->loss || !c->dxEmb || !c->rowStart || !c->rowFill || !c->order ||
      !c->chunks) {
    rb_destroy(c);
    return NULL;
  }
  return c;
}

/* 0 params, 1 grad, 2 Adam m, 3 Adam v: [P] floats each. */
float *rb_buffer(rb_ctx *c, int which) {
  return which == 0 ? c->params : which == 1 ? c->grad : which == 2 ? c->m : c->v;
}

/* Number of parameters P (checked against the TypeScript layout). */
double rb_param_count(rb_ctx *c) { return (double)c->np; }

/* grad[embedding] = Σ over (b, t) with ids[b, t] = row of dxEmb[b, t], in (b, t) order. */
static void rb_scatter_embedding(rb_ctx *c, const int *ids, int B) {
  const int T = c->T, V = c->V;
  const size_t n = (size_t)B * T;
  int *start = c->rowStart, *fill = c->rowFill, *order = c->order;
  memset(start, 0, ((size_t)V + 1) * sizeof(int));
  for (size_t i = 0; i < n; i++) start[ids[i] + 1]++;
  for (int r = 0; r < V; r++) start[r + 1] += start[r];
  memcpy(fill, start, (size_t)V * sizeof(int));
  for (size_t i = 0; i < n; i++) order[fill[ids[i]]++] = (int)i;
  float *RB_RESTRICT gemb = c->grad;
  const float *RB_RESTRICT d = c->dxEmb;
#pragma omp parallel for schedule(static, 512) num_threads(c->threads)
  for (int r = 0; r < V; r++) {
    float *RB_RESTRICT row = gemb + (size_t)r * RB_E;
    for (int e = 0; e < RB_E; e++) row[e] = 0.0f;
    for (int k = start[r]; k < start[r + 1]; k++) {
      const float *RB_RESTRICT src = d + (size_t)order[k] * RB_E;
      for (int e = 0; e < RB_E; e++) row[e] += src[e];
    }
  }
}

/* Mean BCE-with-logits loss of the batch; writes logits [B] and the full gradient. */
double rb_loss_and_grad(rb_ctx *c, const int *ids, const float *labels, int B, float *logits) {
  const int T = c->T, G = (B + RB_LANES - 1) / RB_LANES;
  const float *emb = c->params;
  rb_broadcast_weights(c);
  const rb_w_t *Wc = c->wv;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (int g = 0; g < G; g++) {
    const int tid = RB_TID;
    lane_t *tape = c->tape + (size_t)tid * RB_L * T * RB_TAPE;
    lane_t *acc = c->acc + (size_t)tid * RB_NREST;
    lane_t *dxa = c->work + (size_t)tid * RB_WORK(T), *dxb = dxa + (size_t)T * RB_H;
    lane_t *xbuf = dxa + 2 * (size_t)T * RB_H;
    const lane_t z = rb_group_forward(emb, Wc, ids, B, T, g, tape, dxa, xbuf);
    lane_t dz = RB_ZERO;
    for (int lane = 0; lane < RB_LANES; lane++) {
      const int b = g * RB_LANES + lane;
      if (b >= B) break;
      const double zz = RB_LANE(z, lane), y = labels[b];
      logits[b] = RB_LANE(z, lane);
      c->loss[b] = fmax(zz, 0.0) - zz * y + log1p(exp(-fabs(zz)));
      RB_LANE(dz, lane) = (float)((1.0 / (1.0 + exp(-zz)) - y) / B);
    }
    for (int i = 0; i < RB_NREST; i++) acc[i] = RB_ZERO;
    rb_group_backward(emb, Wc, ids, B, T, g, tape, dz, acc, dxa, dxb, xbuf, xbuf + RB_E, c->dxEmb);
    float *RB_RESTRICT part = c->partial + (size_t)g * RB_NREST;
    for (int i = 0; i < RB_NREST; i++) {
      float s = RB_LANE(acc[i], 0);
      for (int lane = 1; lane < RB_LANES; lane++) s += RB_LANE(acc[i], lane);
      part[i] = s;
    }
  }
  /* grad[after embedding] = Σ_g partial[g], groups in order; blocks of 64 for locality */
  float *RB_RESTRICT gr = c->grad + (size_t)c->V * RB_E;
  const float *RB_RESTRICT part = c->partial;
#pragma omp parallel for schedule(static) num_threads(c->threads)
  for (int i0 = 0; i0 < RB_NREST; i0 += 64) {
    const int i1 = i0 + 64 < RB_NREST ? i0 + 64 : RB_NREST;
    for (int i = i0; i < i1; i++) gr[i] = part[i];
    for (int g = 1; g < G; g++) {
      for (int i = i0; i < i1; i++) gr[i] += part[(size_t)g * RB_NREST + i];
    }
  }
  rb_scatter_embedding(c, ids, B);
  double loss = 0;
  for (int b = 0; b < B; b++) loss += c->loss[b];
  return loss / B;
}

/* Logits [B] of a batch (forward only). */
void rb_predict(rb_ctx *c, const int *ids, int B, float *logits) {
  const int T = c->T, G = (B + RB_LANES - 1) / RB_LANES;
  const float *emb = c->params;
  rb_broadcast_weights(c);
  const rb_w_t *Wc = c->wv;
#pragma omp parallel for schedule(dynamic, 1) num_threads(c->threads)
  for (int g = 0; g < G; g++) {
    lane_t *hbuf = c->work + (size_t)RB_TID * RB_WORK(T);
    const lane_t z = rb_group_forward(emb, Wc, ids, B, T, g, NULL, hbuf, hbuf + 2 * (size_t)T * RB_H);
    for (int lane = 0; lane < RB_LANES; lane++) {
      const int b = g * RB_LANES + lane;
      if (b >= B) break;
      logits[b] = RB_LANE(z, lane);
    }
  }
}

/* One Adam step (torch.optim.Adam: no weight decay), after scaling the gradient to a global
 * L2 norm of at most clip (clip > 0; torch's clip_grad_norm_). Returns the norm before
 * clipping, or -1 when clip <= 0 (not computed). */
double rb_adam(rb_ctx *c, double lr, double beta1, double beta2, double eps, int step, double clip) {
  const size_t n = c->np;
  const float *RB_RESTRICT g = c->grad;
  double norm = -1.0;
  float scale = 1.0f;
  if (clip > 0) {
    const long nch = (long)((n + RB_CHUNK - 1) / RB_CHUNK);
#pragma omp parallel for schedule(static) num_threads(c->threads)
    for (long k = 0; k < nch; k++) {
      const size_t i0 = (size_t)k * RB_CHUNK, i1 = i0 + RB_CHUNK < n ? i0 + RB_CHUNK : n;
      double s = 0;
      for (size_t i = i0; i < i1; i++) s += (double)g[i] * g[i];
      c->chunks[k] = s;
    }
    double sq = 0;
    for (long k = 0; k < nch; k++) sq += c->chunks[k];
    norm = sqrt(sq);
    const double coef = clip / (norm + 1e-6);
    if (coef < 1.0) scale = (float)coef;
  }
  const float b1 = (float)beta1, b2 = (float)beta2, ob1 = (float)(1.0 - beta1);
  const float ob2 = (float)(1.0 - beta2), e = (float)eps;
  const float stepSize = (float)(lr / (1.0 - pow(beta1, step)));
  const float sqrtBc2 = (float)sqrt(1.0 - pow(beta2, step));
  float *RB_RESTRICT p = c->params, *RB_RESTRICT m = c->m, *RB_RESTRICT v = c->v;
#pragma omp parallel for schedule(static) num_threads(c->threads)
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i] * scale;
    const float mi = b1 * m[i] + ob1 * gi;
    const float vi = b2 * v[i] + ob2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= stepSize * mi / (sqrtf(vi) / sqrtBc2 + e);
  }
  return norm;
}

/* Applies a math function (0 exp, 1 sigmoid, 2 tanh) to n floats, for accuracy tests. */
void rb_math(int fn, const float *in, float *out, int n) {
  for (int i = 0; i < n; i += RB_LANES) {
    lane_t x = RB_ZERO;
    for (int k = 0; k < RB_LANES && i + k < n; k++) RB_LANE(x, k) = in[i + k];
    lane_t y;
    if (fn == 0) rb_exp_v(&x, &y, 1);
    else if (fn == 1) rb_sigmoid_v(&x, &y, 1);
    else rb_tanh_v(&x, &y, 1);
    for (int k = 0; k < RB_LANES && i + k < n; k++) out[i + k] = RB_LANE(y, k);
  }
}

/* OpenMP threads actually available (1 without OpenMP). */
int rb_openmp_threads(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 0;
#endif
}
`;
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
