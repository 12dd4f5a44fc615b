/* CUDA target, device passes: the forward and backward wavefronts of one sequence, run by
 * one warp with one layer per lane, and the copy of the weights into shared memory (see
 * models/codegen/cuda.ts for the mapping). models/codegen/cuda.ts copies this file, without
 * this header, into each program after the generated cell functions (rb_cu_fwd, rb_cu_bwd)
 * and the parameter-gradient flush, which it calls.
 *
 * Holes: {{flush}} is the name of the generated flush of this shape, rb_flush_I<H>.
 * {{readout R}} opens a line that only programs of the readout R ("last" or "max", the
 * shape's readout) keep (without the hole); programs of the other readout drop the line.
 * So a "last" program is the original code, and a "max" program adds the running maximum
 * over time of the top layer's h (forward) and sends its gradient to the first timestep
 * that holds it (backward).
 */

/* ================= device passes (one warp per sequence, one lane per layer) ================= */

/* Copies every layer's weights (uniform I=H layout, layer 0's input weights zeroed) into
 * shared memory Ws [L][WS]; the whole block takes part. */
RB_FN void rb_load_weights(const float *RB_RESTRICT rest, float *RB_RESTRICT Ws) {
  for (int i = threadIdx.x; i < RB_L * RB_WS; i += blockDim.x) {
    const int l = i / RB_WS, k = i - l * RB_WS;
    float v = 0.0f;
    if (k < RB_PN) {
      const int src = l == 0 ? rb_w0_src(k) : RB_P0 + (l - 1) * RB_PN + k;
      if (src >= 0) v = rest[src];
    }
    Ws[i] = v;
  }
  __syncthreads();
}

/* Forward wavefront of sequence b: at wave w lane l runs layer l at timestep t = w − l.
 * pre0 [B][T][PH]: layer 0's hoisted projections. tape [B][T+L−1][SH][32] (or NULL):
 * every lane's states after every wave it is active, coalesced. htop [H]: the top layer's
 * h after the last timestep (lane L−1). Returns the logit (every lane). */
{{readout max}}/* Readout max: the head reads, and htop [H] (or NULL) holds, the top layer's h maximised
{{readout max}} * over the timesteps, per unit; ttop [H] (or NULL): the first t holding each maximum. */
RB_FN float rb_wave_forward(const float *RB_RESTRICT Ws, const float *RB_RESTRICT rest,
    const float *RB_RESTRICT pre0, int b, int T, int lane, float *RB_RESTRICT tape,
{{readout last}}    float *RB_RESTRICT htop) {
{{readout max}}    float *RB_RESTRICT htop, int *RB_RESTRICT ttop) {
  const float *RB_RESTRICT W = Ws + (lane < RB_L ? lane : RB_L - 1) * RB_WS;
  const int NW = T + RB_L - 1;
  lane_t s[RB_SH], o[RB_SH], x[RB_H], hp[RB_H], ext[RB_PH];
{{readout max}}  lane_t mx[RB_H]; /* every lane's running maximum of its h over time (the top lane's is read) */
{{readout max}}  int at[RB_H];    /* and the first timestep that holds it */
#pragma unroll
  for (int i = 0; i < RB_SH; i++) s[i] = 0.0f;
#pragma unroll
  for (int j = 0; j < RB_H; j++) hp[j] = 0.0f;
{{readout max}}#pragma unroll
{{readout max}}  for (int j = 0; j < RB_H; j++) {
{{readout max}}    mx[j] = 0.0f;
{{readout max}}    at[j] = 0;
{{readout max}}  }
  for (int w = 0; w < NW; w++) {
    const int t = w - lane;
    const bool active = lane < RB_L && t >= 0 && t < T;
    /* the layer below's h at this timestep, from the previous wave */
#pragma unroll
    for (int j = 0; j < RB_H; j++) {
      const float v = __shfl_up_sync(RB_FULL, hp[j], 1);
      x[j] = lane == 0 ? 0.0f : v;
    }
    const float *RB_RESTRICT pr = pre0 + ((size_t)b * T + (t < 0 ? 0 : t >= T ? T - 1 : t)) * RB_PH;
#pragma unroll
    for (int k = 0; k < RB_PH; k++) ext[k] = (lane == 0 && active) ? __ldg(pr + k) : 0.0f;
    rb_cu_fwd(W, x, ext, s, o);
    if (active) {
#pragma unroll
      for (int i = 0; i < RB_SH; i++) s[i] = o[i];
#pragma unroll
      for (int j = 0; j < RB_H; j++) hp[j] = o[j];
{{readout max}}      /* t = 0 starts the maximum; later, only a strictly greater h moves it (first argmax) */
{{readout max}}#pragma unroll
{{readout max}}      for (int j = 0; j < RB_H; j++) {
{{readout max}}        const bool up = t == 0 || o[j] > mx[j];
{{readout max}}        mx[j] = up ? o[j] : mx[j];
{{readout max}}        at[j] = up ? t : at[j];
{{readout max}}      }
      if (tape) {
        float *RB_RESTRICT row = tape + ((size_t)b * NW + w) * RB_SH * 32 + lane;
#pragma unroll
        for (int i = 0; i < RB_SH; i++) row[i * 32] = o[i];
      }
    }
  }
{{readout max}}  /* readout max: the maximum over time takes the place of the last h */
{{readout max}}#pragma unroll
{{readout max}}  for (int j = 0; j < RB_H; j++) s[j] = mx[j];
  /* head: logit = h_top · W_hy + b_y (state 0 is h) */
  float z = 0.0f;
  if (lane == RB_L - 1) {
    z = s[0] * rest[RB_NCELL];
#pragma unroll
    for (int j = 1; j < RB_H; j++) z += s[j] * rest[RB_NCELL + j];
    z += rest[RB_NCELL + RB_H];
    if (htop) {
#pragma unroll
      for (int j = 0; j < RB_H; j++) htop[j] = s[j];
    }
{{readout max}}    if (ttop) {
{{readout max}}#pragma unroll
{{readout max}}      for (int j = 0; j < RB_H; j++) ttop[j] = at[j];
{{readout max}}    }
  }
  return __shfl_sync(RB_FULL, z, RB_L - 1);
}

/* Backward wavefront of sequence b, waves in reverse: lane l at wave w runs layer l at
 * t = w − l; the layer above's dx at the same t arrives from lane l + 1 (previous wave).
 * dtop [H]: dLoss/dh of the top layer at the last timestep. Writes gpre0 [B][T][PH] (lane 0)
 * and partial [B][PN][32]: this sequence's parameter gradients, per layer (lane). */
{{readout max}}/* Readout max: dtop [H] is dLoss/d(max over time); unit j's goes to the top layer's h at
{{readout max}} * t = ttop[j], the first timestep holding the maximum (from rb_wave_forward). */
RB_FN void rb_wave_backward(const float *RB_RESTRICT Ws, const float *RB_RESTRICT pre0, int b,
    int T, int lane, const float *RB_RESTRICT tape, const float *RB_RESTRICT dtop,
{{readout max}}    const int *RB_RESTRICT ttop,
    float *RB_RESTRICT gpre0, float *RB_RESTRICT partial) {
  const float *RB_RESTRICT W = Ws + (lane < RB_L ? lane : RB_L - 1) * RB_WS;
  const int NW = T + RB_L - 1;
  lane_t acc[RB_PN];          /* this layer's parameter gradients, uniform layout */
  lane_t stash[RB_TB * RB_STRIDE];
  for (int i = 0; i < RB_PN; i++) acc[i] = 0.0f;
  lane_t carry[RB_SH], dxp[RB_H];
#pragma unroll
  for (int i = 0; i < RB_SH; i++) carry[i] = 0.0f;
#pragma unroll
  for (int j = 0; j < RB_H; j++) dxp[j] = 0.0f;
  int nt = 0;
  for (int w = NW - 1; w >= 0; w--) {
    const int t = w - lane;
    const bool active = lane < RB_L && t >= 0 && t < T;
    lane_t gin[RB_SH], sp[RB_SH], x[RB_H], ext[RB_PH], dx[RB_H], ds[RB_SH], gp[RB_PH];
#pragma unroll
    for (int j = 0; j < RB_H; j++) {
      const float above = __shfl_down_sync(RB_FULL, dxp[j], 1);
{{readout last}}      gin[j] = active ? carry[j] + (lane == RB_L - 1 ? (t == T - 1 ? dtop[j] : 0.0f) : above) : 0.0f;
{{readout max}}      gin[j] = active ? carry[j] + (lane == RB_L - 1 ? (t == ttop[j] ? dtop[j] : 0.0f) : above) : 0.0f;
    }
#pragma unroll
    for (int i = RB_H; i < RB_SH; i++) gin[i] = active ? carry[i] : 0.0f;
    /* the states before this step (own column) and this step's input (column l − 1) */
    const float *RB_RESTRICT row = tape + ((size_t)b * NW + (w > 0 ? w - 1 : 0)) * RB_SH * 32;
#pragma unroll
    for (int i = 0; i < RB_SH; i++) sp[i] = (active && t > 0) ? row[i * 32 + lane] : 0.0f;
#pragma unroll
    for (int j = 0; j < RB_H; j++) x[j] = (active && lane > 0) ? row[j * 32 + lane - 1] : 0.0f;
    const float *RB_RESTRICT pr = pre0 + ((size_t)b * T + (t < 0 ? 0 : t >= T ? T - 1 : t)) * RB_PH;
#pragma unroll
    for (int k = 0; k < RB_PH; k++) ext[k] = (lane == 0 && active) ? __ldg(pr + k) : 0.0f;
    rb_cu_bwd(W, x, ext, sp, gin, stash + nt * RB_STRIDE, dx, ds, gp);
    if (lane == 0 && active) {
      float *RB_RESTRICT gr = gpre0 + ((size_t)b * T + t) * RB_PH;
#pragma unroll
      for (int k = 0; k < RB_PH; k++) gr[k] = gp[k];
    }
#pragma unroll
    for (int i = 0; i < RB_SH; i++) carry[i] = active ? ds[i] : 0.0f;
#pragma unroll
    for (int j = 0; j < RB_H; j++) dxp[j] = active ? dx[j] : 0.0f;
    if (++nt == RB_TB || w == 0) {
      {{flush}}(stash, nt, acc);
      nt = 0;
    }
  }
  float *RB_RESTRICT out = partial + (size_t)b * RB_PN * 32 + lane;
  for (int k = 0; k < RB_PN; k++) out[k * 32] = acc[k];
}
