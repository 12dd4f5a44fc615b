/* CUDA target, kernels of the model: layer 0's hoisted input projections (rb_pre0), the
 * forward pass (rb_forward), the fused training step (rb_train: forward, loss, backward),
 * and the fixed-order reductions of the parameter gradients (rb_reduce, rb_dx0, rb_dw0,
 * rb_dw0_reduce). models/codegen/cuda.ts copies this file, without this header, into each
 * program after the device passes (cuda_wavefront.cu).
 *
 * Hole: {{kernel NAME BOUNDS}} is the declaration of kernel NAME, extern "C" __global__
 * void, with its parameters from the table CUDA_KERNELS (models/codegen/cuda_kernels.ts),
 * which the host's launches also come from. BOUNDS gives __launch_bounds__: "flat" for
 * FLAT_BLOCK threads, "warps" for RB_WPB warps, none for no bounds. {{readout R}} opens a
 * line that only programs of the readout R ("last" or "max") keep, as in cuda_wavefront.cu:
 * "max" passes the argmax over time (ttop) from the forward to the backward of rb_train.
 */

/* ================= kernels ================= */

{{kernel rb_pre0 flat}} {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= B * T) return;
  const int b = r / T, t = r - b * T;
  const float *RB_RESTRICT x = emb + (size_t)ids[(size_t)rows[b] * T + t] * RB_E;
  rb_cu_pre0(rest, x, pre0 + (size_t)r * RB_PH);
}

{{kernel rb_forward warps}} {
  RB_DYNAMIC_SMEM(Ws);
  rb_load_weights(rest, Ws);
  const int lane = threadIdx.x & 31, b = blockIdx.x * RB_WPB + (threadIdx.x >> 5);
  if (b >= B) return;
{{readout last}}  const float z = rb_wave_forward(Ws, rest, pre0, b, T, lane, nullptr, nullptr);
{{readout max}}  const float z = rb_wave_forward(Ws, rest, pre0, b, T, lane, nullptr, nullptr, nullptr);
  if (lane == 0) logits[b] = z;
}

{{kernel rb_train warps}} {
  RB_DYNAMIC_SMEM(Ws);
  rb_load_weights(rest, Ws);
  const int lane = threadIdx.x & 31, b = blockIdx.x * RB_WPB + (threadIdx.x >> 5);
  if (b >= B) return;
  float htop[RB_H];
{{readout max}}  int ttop[RB_H]; /* readout max: the first t of each unit's maximum (top lane) */
#pragma unroll
  for (int j = 0; j < RB_H; j++) htop[j] = 0.0f;
{{readout max}}#pragma unroll
{{readout max}}  for (int j = 0; j < RB_H; j++) ttop[j] = 0;
{{readout last}}  const float z = rb_wave_forward(Ws, rest, pre0, b, T, lane, tape, htop);
{{readout max}}  const float z = rb_wave_forward(Ws, rest, pre0, b, T, lane, tape, htop, ttop);
  __syncwarp(); /* the tape written by every lane is read by its neighbour below */
  /* BCE with logits and dLoss/dz, in double as the C target */
  const double zz = z, y = labels[b];
  const float dz = (float)((1.0 / (1.0 + exp(-zz)) - y) / B);
  if (lane == 0) {
    logits[b] = z;
    loss[b] = fmax(zz, 0.0) - zz * y + log1p(exp(-fabs(zz)));
  }
  /* head: dW_hy = h_top dz, db_y = dz; dtop = dz W_hy */
  float dtop[RB_H];
#pragma unroll
  for (int j = 0; j < RB_H; j++) dtop[j] = dz * rest[RB_NCELL + j];
  if (lane == RB_L - 1) {
    float *RB_RESTRICT ph = phead + (size_t)b * (RB_H + 1);
#pragma unroll
    for (int j = 0; j < RB_H; j++) ph[j] = htop[j] * dz;
    ph[RB_H] = dz;
  }
{{readout last}}  rb_wave_backward(Ws, pre0, b, T, lane, tape, dtop, gpre0, partial);
{{readout max}}  rb_wave_backward(Ws, pre0, b, T, lane, tape, dtop, ttop, gpre0, partial);
}

{{kernel rb_reduce flat}} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  int dst;
  const float *RB_RESTRICT src;
  int stride;
  if (i < RB_PN * 32) {
    const int k = i >> 5, lane = i & 31;
    if (lane >= RB_L) return;
    dst = lane == 0 ? rb_w0_src(k) : RB_P0 + (lane - 1) * RB_PN + k;
    if (dst < 0) return;
    src = partial + (size_t)k * 32 + lane;
    stride = RB_PN * 32;
  } else if (i < RB_PN * 32 + RB_H + 1) {
    const int j = i - RB_PN * 32;
    dst = RB_NCELL + j;
    src = phead + j;
    stride = RB_H + 1;
  } else {
    return;
  }
  /* Σ_b in a fixed order: four interleaved partial sums, then combined */
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  int b = 0;
  for (; b + 4 <= B; b += 4) {
    s0 += src[(size_t)b * stride];
    s1 += src[(size_t)(b + 1) * stride];
    s2 += src[(size_t)(b + 2) * stride];
    s3 += src[(size_t)(b + 3) * stride];
  }
  for (; b < B; b++) s0 += src[(size_t)b * stride];
  grest[dst] = (s0 + s1) + (s2 + s3);
}

{{kernel rb_dx0 flat}} {
  const int r = blockIdx.x * blockDim.x + threadIdx.x;
  if (r >= N) return;
  rb_cu_dx0(rest, gpre0 + (size_t)r * RB_PH, dxemb + (size_t)r * RB_E);
}

{{kernel rb_dw0 flat}} {
  __shared__ float xs[RB_DW0_TILE * RB_E];
  __shared__ float gs[RB_DW0_TILE * RB_PH];
  const int N = B * T, r0 = blockIdx.x * RB_DW0_ROWS;
  const int r1 = r0 + RB_DW0_ROWS < N ? r0 + RB_DW0_ROWS : N;
  float acc[RB_DW0_PER];
#pragma unroll
  for (int q = 0; q < RB_DW0_PER; q++) acc[q] = 0.0f;
  for (int base = r0; base < r1; base += RB_DW0_TILE) {
    const int n = r1 - base < RB_DW0_TILE ? r1 - base : RB_DW0_TILE;
    __syncthreads();
    for (int i = threadIdx.x; i < RB_DW0_TILE * RB_E; i += blockDim.x) {
      const int rr = i / RB_E, e = i - rr * RB_E;
      float v = 0.0f;
      if (rr < n) {
        const int r = base + rr, b = r / T, t = r - b * T;
        v = emb[(size_t)ids[(size_t)rows[b] * T + t] * RB_E + e];
      }
      xs[i] = v;
    }
    for (int i = threadIdx.x; i < RB_DW0_TILE * RB_PH; i += blockDim.x) {
      const int rr = i / RB_PH;
      gs[i] = rr < n ? gpre0[(size_t)base * RB_PH + i] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int q = 0; q < RB_DW0_PER; q++) {
      const int o = threadIdx.x + q * RB_FLAT;
      if (o < RB_NO) {
        const int k = o / RB_PH, pj = o - k * RB_PH;
        float a = acc[q];
        for (int rr = 0; rr < n; rr++) a += xs[rr * RB_E + k] * gs[rr * RB_PH + pj];
        acc[q] = a;
      }
    }
  }
#pragma unroll
  for (int q = 0; q < RB_DW0_PER; q++) {
    const int o = threadIdx.x + q * RB_FLAT;
    if (o < RB_NO) part[(size_t)blockIdx.x * RB_NO + o] = acc[q];
  }
}

{{kernel rb_dw0_reduce flat}} {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= RB_NO) return;
  const int k = o / RB_PH, q = o - k * RB_PH, p = q / RB_H, j = q - p * RB_H;
  float s = 0.0f;
  for (int c = 0; c < nchunks; c++) s += part[(size_t)c * RB_NO + o];
  grest[rb_pre_offset(p) + k * RB_H + j] = s;
}
