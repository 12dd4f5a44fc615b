/**
 * The C target's group passes: the forward and backward of one group of `RB_LANES`
 * sequences through all T timesteps and L layers (layer-major, so one layer's weights stay
 * hot in cache), the embedding gather, and the head and its gradient. They call the
 * generated cell functions and flush of the shape, and the host entry points
 * (`kernels/c_host.c`) call them from OpenMP loops over groups.
 *
 * @module
 */
import type { ProgramShape } from "./program_shape.ts";

/**
 * The group passes of a shape, written over lane values with `RB_LANE` for per-sequence
 * access: `rb_gather`, `rb_group_forward`, `rb_group_backward`.
 * @param shape the program shape
 * @returns C source
 */
export function groupCode(shape: ProgramShape): string {
  const E = shape.embedDim, H = shape.hiddenSize;
  // Layer 0 reads E inputs, layers above H: one call, or a choice between two.
  const byI = (f: (I: number) => string, indent: string) =>
    E === H || shape.layers === 1 ? f(E) : `if (l == 0) ${f(E)};\n${indent}else ${f(H)}`;
  const max = shape.readout === "max";
  // The readout "max": the forward keeps the top layer's running maximum per unit; the
  // backward finds each unit's first maximum on the tape and sends the head's gradient there.
  const fwdMax = max
    ? `
      if (l == RB_L - 1) {
        if (t == 0) for (int j = 0; j < RB_H; j++) hmax[j] = o[j];
        else for (int j = 0; j < RB_H; j++) hmax[j] = rb_max(hmax[j], o[j]);
      }`
    : "";
  const bwdMax = max
    ? `
  /* readout max: each unit's maximum over time and the first timestep holding it */
  lane_t hmax[RB_H], at[RB_H];
  for (int t = 0; t < T; t++) {
    const lane_t *h = tape + ((size_t)(RB_L - 1) * T + t) * RB_TAPE, tf = RB_SPLAT((float)t);
    for (int j = 0; j < RB_H; j++) {
      if (t == 0) {
        hmax[j] = h[j];
        at[j] = RB_ZERO;
      } else {
        at[j] = rb_select(h[j] > hmax[j], tf, at[j]);
        hmax[j] = rb_max(hmax[j], h[j]);
      }
    }
  }
  const lane_t *top = hmax;`
    : `
  const lane_t *top = tape + ((size_t)(RB_L - 1) * T + (T - 1)) * RB_TAPE;`;
  const injectTop = max
    ? `{
          const lane_t tf = RB_SPLAT((float)t);
          for (int j = 0; j < RB_H; j++) gin[j] += rb_select(at[j] == tf, dtop[j], RB_ZERO);
        }`
    : `if (t == T - 1) for (int j = 0; j < RB_H; j++) gin[j] += dtop[j];`;
  return `
/* Gathers the embedding rows of group g at timestep t: x [E] lanes; lanes past B read row 0.
 * Prefetches the rows of timestep t + 1. */
RB_FN void rb_gather(const float *RB_RESTRICT emb, const int *RB_RESTRICT ids, int B, int T, int g,
    int t, lane_t *RB_RESTRICT x) {
  for (int lane = 0; lane < RB_LANES; lane++) {
    const int b = g * RB_LANES + lane;
    const float *RB_RESTRICT row = emb + (size_t)(b < B ? ids[(size_t)b * T + t] : 0) * RB_E;
    if (b < B && t + 1 < T) RB_PREFETCH(emb + (size_t)ids[(size_t)b * T + t + 1] * RB_E, RB_E);
    for (int e = 0; e < RB_E; e++) RB_LANE(x[e], lane) = row[e];
  }
}

/* Forward of group g (sequences g*LANES …) through L layers, each over T timesteps
 * (layer-major: one layer's weights stay hot in cache).
 * emb [V, E] floats; Wc: all cell weights and then the head (W_hy [H], b_y), as rb_w_t.
 * tape [L][T][RB_TAPE]: every layer's states after every timestep (and the values backward
 * reads, if saved), for backward; or NULL
 * (predict), then hbuf [2][T][H] carries h between layers. xbuf [E] scratch.
 * Returns the logits (lanes). */
RB_GROUP_FN lane_t rb_group_forward(const float *RB_RESTRICT emb, const rb_w_t *RB_RESTRICT Wc,
    const int *RB_RESTRICT ids, int B, int T, int g, lane_t *RB_RESTRICT tape,
    lane_t *RB_RESTRICT hbuf, lane_t *RB_RESTRICT xbuf) {
  lane_t zeros[RB_SH], ob[2][RB_TAPE];${max ? "\n  lane_t hmax[RB_H];" : ""}
  for (int i = 0; i < RB_SH; i++) zeros[i] = RB_ZERO;
  const lane_t *last = zeros;
  for (int l = 0; l < RB_L; l++) {
    const rb_w_t *RB_RESTRICT Wl = Wc + RB_LAYER(l);
    lane_t *hin = hbuf + (size_t)(l & 1) * T * RB_H, *hout = hbuf + (size_t)((l + 1) & 1) * T * RB_H;
    last = zeros;
    for (int t = 0; t < T; t++) {
      const lane_t *x;
      if (l == 0) {
        rb_gather(emb, ids, B, T, g, t, xbuf);
        x = xbuf;
      } else {
        x = tape ? tape + ((size_t)(l - 1) * T + t) * RB_TAPE : hin + (size_t)t * RB_H;
      }
      lane_t *o = tape ? tape + ((size_t)l * T + t) * RB_TAPE : ob[t & 1];
      ${byI((I) => `rb_cell_fwd_I${I}(Wl, x, last, o)`, "      ")};
      if (!tape) for (int j = 0; j < RB_H; j++) hout[(size_t)t * RB_H + j] = o[j];${fwdMax}
      last = o;
    }
  }${max ? "\n  last = hmax;" : ""}
  /* head: logit = h_top · W_hy + b_y (state 0 is h${max ? "; h_top its maximum over time" : ""}) */
  const rb_w_t *RB_RESTRICT head = Wc + RB_NCELL;
  lane_t z = last[0] * head[0];
  for (int j = 1; j < RB_H; j++) z += last[j] * head[j];
  return z + head[RB_H];
}

/* Backward of group g through time, from dz = dLoss/dlogit (lanes; zero in lanes past B).
 * tape: from rb_group_forward. acc [NREST] lane accumulators (cells, W_hy, b_y; accumulate).
 * dxa, dxb [T][H]: scratch for the gradient flowing to the layer below.
 * stash [RB_TB][RB_STASH_MAX]: operands of the parameter gradients of up to RB_TB steps.
 * dxEmb [B][T][E]: dLoss/d(embedded input), assigned for the group's valid sequences. */
RB_GROUP_FN void rb_group_backward(const float *RB_RESTRICT emb, const rb_w_t *RB_RESTRICT Wc,
    const int *RB_RESTRICT ids, int B, int T, int g, const lane_t *RB_RESTRICT tape, lane_t dz,
    lane_t *RB_RESTRICT acc, lane_t *RB_RESTRICT dxa, lane_t *RB_RESTRICT dxb,
    lane_t *RB_RESTRICT xbuf, lane_t *RB_RESTRICT stash, float *RB_RESTRICT dxEmb) {
  /* head: logit = h_top · W_hy + b_y */
  const rb_w_t *RB_RESTRICT head = Wc + RB_NCELL;${bwdMax}
  lane_t dtop[RB_H];
  for (int j = 0; j < RB_H; j++) {
    acc[RB_NCELL + j] += top[j] * dz;
    dtop[j] = dz * head[j];
  }
  acc[RB_NCELL + RB_H] += dz;
  lane_t zeros[RB_SH];
  for (int i = 0; i < RB_SH; i++) zeros[i] = RB_ZERO;
  lane_t *above = dxa, *below = dxb;
  for (int l = RB_L - 1; l >= 0; l--) {
    const rb_w_t *RB_RESTRICT Wl = Wc + RB_LAYER(l);
    lane_t *RB_RESTRICT accl = acc + RB_LAYER(l);
    lane_t carry[RB_SH];
    for (int i = 0; i < RB_SH; i++) carry[i] = RB_ZERO;
    int nt = 0; /* timesteps in the stash */
    for (int t = T - 1; t >= 0; t--) {
      lane_t gin[RB_SH];
      for (int i = 0; i < RB_SH; i++) gin[i] = carry[i];
      if (l == RB_L - 1) {
        ${injectTop}
      } else {
        for (int j = 0; j < RB_H; j++) gin[j] += above[(size_t)t * RB_H + j];
      }
      const lane_t *x;
      if (l == 0) {
        rb_gather(emb, ids, B, T, g, t, xbuf);
        x = xbuf;
      } else {
        x = tape + ((size_t)(l - 1) * T + t) * RB_TAPE;
      }
      const lane_t *s = t > 0 ? tape + ((size_t)l * T + (t - 1)) * RB_TAPE : zeros;
      const lane_t *sv = tape + ((size_t)l * T + t) * RB_TAPE + RB_SH;
      lane_t dx0[RB_E];
      lane_t *dx = l == 0 ? dx0 : below + (size_t)t * RB_H;
      ${
    byI(
      (I) => `rb_cell_bwd_I${I}(Wl, x, s, sv, gin, stash + (size_t)nt * RB_STASH_I${I}, dx, carry)`,
      "      ",
    )
  };
      if (l == 0) {
        for (int lane = 0; lane < RB_LANES; lane++) {
          const int b = g * RB_LANES + lane;
          if (b >= B) break;
          float *RB_RESTRICT row = dxEmb + ((size_t)b * T + t) * RB_E;
          for (int e = 0; e < RB_E; e++) row[e] = RB_LANE(dx0[e], lane);
        }
      }
      if (++nt == RB_TB || t == 0) {
        ${byI((I) => `rb_flush_I${I}(stash, nt, accl)`, "        ")};
        nt = 0;
      }
    }
    lane_t *tmp = above;
    above = below;
    below = tmp;
  }
}
`;
}
