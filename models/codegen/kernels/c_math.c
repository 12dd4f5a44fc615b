/* C target, math: e^x, the sigmoid and tanh over arrays of lane values (SIMD vectors of
 * RB_LANES floats), written without libm so that every lane runs the same branch-free
 * code. models/codegen/c.ts copies this file, without this header, to the end of each
 * program's prelude, after the lane types, RB_SPLAT, RB_ISPLAT and rb_min/rb_max it uses.
 * The cell functions call rb_sigmoid_v and rb_tanh_v; rb_math (c_host.c) exposes all
 * three to the accuracy tests (bench/engines/native/engine_test.ts; the comments below,
 * which are copied, still name its old path native_test.ts). No holes.
 */

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
}
