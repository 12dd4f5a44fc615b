/* CUDA target, kernels of the dense embedding gradient: the host sorts the batch's (b, t)
 * positions by token id; rb_emb_seg sums each run of at most EMB_SEGMENT positions in
 * order, rb_emb_rows sums each row's runs in order (no float atomics: bitwise
 * reproducible). models/codegen/cuda.ts copies this file, without this header, into each
 * program after the kernels of the model (cuda_model.cu).
 *
 * Hole: {{kernel NAME BOUNDS}}, as in cuda_model.cu.
 */

{{kernel rb_emb_seg flat}} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int s = i / RB_E, e = i - s * RB_E;
  if (s >= nseg) return;
  float acc = 0.0f;
  for (int k = segStart[s]; k < segStart[s + 1]; k++) acc += dxemb[(size_t)order[k] * RB_E + e];
  segSum[(size_t)s * RB_E + e] = acc;
}

{{kernel rb_emb_rows flat}} {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int u = i / RB_E, e = i - u * RB_E;
  if (u >= nu) return;
  float acc = 0.0f;
  for (int s = uniqSeg[u]; s < uniqSeg[u + 1]; s++) acc += segSum[(size_t)s * RB_E + e];
  gemb[(size_t)uniqRow[u] * RB_E + e] = acc;
}
