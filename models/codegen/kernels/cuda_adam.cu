/* CUDA target, kernels of the optimizer: the gradient's global L2 norm in a fixed order,
 * in double (rb_sqnorm, rb_norm_final, which also gives the clipping scale), and one Adam
 * step with the C target's arithmetic (rb_adam). models/codegen/cuda.ts copies this file,
 * without this header, into each program after the embedding-gradient kernels
 * (cuda_embedding.cu); the emulator's launch wrappers follow it.
 *
 * Hole: {{kernel NAME BOUNDS}}, as in cuda_model.cu.
 */

{{kernel rb_sqnorm flat}} {
  __shared__ double sh[RB_FLAT];
  const int chunk = (n + gridDim.x - 1) / gridDim.x;
  const int i0 = blockIdx.x * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
  double s = 0.0;
  for (int i = i0 + threadIdx.x; i < i1; i += blockDim.x) s += (double)g[i] * g[i];
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) part[blockIdx.x] = sh[0];
}

{{kernel rb_norm_final}} {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  double s = 0.0;
  for (int i = 0; i < nparts; i++) s += part[i];
  const double nrm = sqrt(s);
  norm[0] = nrm;
  const double coef = (double)clip / (nrm + 1e-6);
  scale[0] = coef < 1.0 ? (float)coef : 1.0f;
}

{{kernel rb_adam flat}} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float gi = g[i] * scale[0];
  const float mi = beta1 * m[i] + omb1 * gi;
  const float vi = beta2 * v[i] + omb2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] -= stepSize * mi / (sqrtf(vi) / sqrtBc2 + eps);
}
