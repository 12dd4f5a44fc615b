/* C target, host entry points: the context the native engine keeps between calls, and the
 * functions it calls through Deno.dlopen (bench/engines/native/engine.ts): rb_create,
 * rb_destroy, rb_buffer, rb_param_count, rb_loss_and_grad, rb_predict, rb_adam, rb_math and
 * rb_openmp_threads. OpenMP loops run the generated group passes (rb_group_forward,
 * rb_group_backward) over groups of RB_LANES sequences, each thread with its own tape,
 * accumulators and scratch; then the per-group gradients are reduced in group order, the
 * embedding gradient is summed per row in (b, t) order and the norm over fixed chunks, so
 * results are bitwise identical for any thread count. models/codegen/c.ts copies this
 * file, without this header, to the end of each program. No holes.
 */

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
