/**
 * The table of the CUDA target's kernels: every kernel and its parameters
 * ({@linkcode CUDA_KERNELS}), from which the generated declarations, the host's argument
 * marshalling (`bench/engines/cuda/pack_args.ts`) and the CPU emulator's launch wrappers
 * all come, and the launch constants the generated code and the host share.
 *
 * @module
 */

/** Most positions one `rb_emb_seg` thread sums before the per-row pass combines the runs. */
export const EMB_SEGMENT = 64;
/** Threads per block of the one-thread-per-item kernels. */
export const FLAT_BLOCK = 256;
/** Blocks of the squared-norm pass (fixed, so the reduction order is fixed). */
export const NORM_BLOCKS = 256;
/** Rows (b, t) per block of `rb_dw0` (fixed, so the reduction order is fixed). */
export const DW0_ROWS = 256;
/** Warp width. */
export const WARP = 32;

/**
 * Every kernel and its parameters, as C declarations `"type name"`. Pointers are device
 * pointers (`CUdeviceptr`), `int` is a 32-bit int, `float` a 32-bit float.
 */
export const CUDA_KERNELS = {
  /** pre0 [B·T][PH] = embedding rows of ids[rows[b], t] · W_x of layer 0 (all hoisted nodes). */
  rb_pre0: [
    "const float *emb",
    "const float *rest",
    "const int *ids",
    "const int *rows",
    "int B",
    "int T",
    "float *pre0",
  ],
  /** logits [B] (forward only). */
  rb_forward: ["const float *rest", "const float *pre0", "int B", "int T", "float *logits"],
  /** Forward (tape), loss, backward: logits [B], loss [B], gpre0, per-sequence partials. */
  rb_train: [
    "const float *rest",
    "const float *pre0",
    "const float *labels",
    "int B",
    "int T",
    "float *tape",
    "float *gpre0",
    "float *partial",
    "float *phead",
    "float *logits",
    "double *loss",
  ],
  /** grad of the cell weights (layer 0's W_x excepted) and the head: Σ_b partials, in order. */
  rb_reduce: ["const float *partial", "const float *phead", "int B", "float *grest"],
  /** dxemb [N][E] = gpre0 [N][PH] · W_xᵀ of layer 0. */
  rb_dx0: ["const float *rest", "const float *gpre0", "int N", "float *dxemb"],
  /** part [chunk][E·PH] = Σ over the chunk's (b, t) of x ⊗ gpre0. */
  rb_dw0: [
    "const float *emb",
    "const int *ids",
    "const int *rows",
    "const float *gpre0",
    "int B",
    "int T",
    "float *part",
  ],
  /** grad of layer 0's W_x = Σ_chunk part, in order. */
  rb_dw0_reduce: ["const float *part", "int nchunks", "float *grest"],
  /** segSum [s][E] = Σ of dxemb rows order[segStart[s] … segStart[s+1]), in order. */
  rb_emb_seg: [
    "const float *dxemb",
    "const int *order",
    "const int *segStart",
    "int nseg",
    "float *segSum",
  ],
  /** gemb [uniqRow[u]][E] = Σ of segSum rows uniqSeg[u] … uniqSeg[u+1], in order. */
  rb_emb_rows: [
    "const float *segSum",
    "const int *uniqRow",
    "const int *uniqSeg",
    "int nu",
    "float *gemb",
  ],
  /** part [block] = Σ g² over the block's fixed chunk (double). */
  rb_sqnorm: ["const float *g", "int n", "double *part"],
  /** norm = √Σ part (in order); scale = min(1, clip / (norm + 1e-6)). */
  rb_norm_final: [
    "const double *part",
    "int nparts",
    "float clip",
    "float *scale",
    "double *norm",
  ],
  /** One Adam step over n parameters with the gradient scaled by *scale. */
  rb_adam: [
    "float *p",
    "const float *g",
    "float *m",
    "float *v",
    "int n",
    "const float *scale",
    "float beta1",
    "float beta2",
    "float omb1",
    "float omb2",
    "float eps",
    "float stepSize",
    "float sqrtBc2",
  ],
} as const;

/** A kernel's name. */
export type KernelName = keyof typeof CUDA_KERNELS;
/** The name part of a `"type name"` declaration. */
export type ArgName<S extends string> = S extends `${string}*${infer N}` ? N
  : S extends `${string} ${infer N}` ? N
  : never;
/** The arguments of kernel K, by name: device pointers as bigint, ints and floats as number. */
export type KernelArgs<K extends KernelName> = {
  readonly [A in (typeof CUDA_KERNELS)[K][number] as ArgName<A>]: A extends `${string}*${string}`
    ? bigint
    : number;
};
/** How an argument is passed: a device pointer, an int or a float. */
export type ArgKind = "ptr" | "i32" | "f32";

/** A kernel's parameters, parsed: name and kind, in order. */
export function kernelParams(k: KernelName): { name: string; kind: ArgKind }[] {
  return (CUDA_KERNELS[k] as readonly string[]).map((decl) => {
    const ptr = decl.includes("*");
    const name = ptr
      ? decl.slice(decl.lastIndexOf("*") + 1)
      : decl.slice(decl.lastIndexOf(" ") + 1);
    const kind: ArgKind = ptr ? "ptr" : decl.startsWith("int ") ? "i32" : "f32";
    return { name, kind };
  });
}

/**
 * The C declaration of a kernel: `extern "C" __global__ void … name(params)`.
 * @param k the kernel
 * @param bounds threads per block for `__launch_bounds__`, or null for none
 */
export function signature(k: KernelName, bounds: number | null): string {
  const lb = bounds === null ? "" : `__launch_bounds__(${bounds}) `;
  return `extern "C" __global__ void ${lb}${k}(${
    (CUDA_KERNELS[k] as readonly string[]).join(", ")
  })`;
}

/** Launch wrappers for the CPU emulator (compiled only with -DRB_EMULATE). */
export function emulatorWrappers(): string {
  const out = [
    `#ifdef RB_EMULATE`,
    `/* CPU emulator (tests): unpack cuLaunchKernel's argument array. */`,
  ];
  for (const k of Object.keys(CUDA_KERNELS) as KernelName[]) {
    const args = (CUDA_KERNELS[k] as readonly string[]).map((decl, i) => {
      const type = decl.includes("*")
        ? decl.slice(0, decl.lastIndexOf("*") + 1)
        : decl.slice(0, decl.lastIndexOf(" "));
      return `*(${type} *)a[${i}]`;
    });
    out.push(`extern "C" void rb_emu_k_${k}(void **a) { ${k}(${args.join(", ")}); }`);
  }
  out.push(`#endif`);
  return out.join("\n");
}
