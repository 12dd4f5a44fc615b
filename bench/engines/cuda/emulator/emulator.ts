/**
 * A CPU emulator of the CUDA driver, FOR TESTS: it lets the CUDA engine run end to end on
 * a machine without a GPU, with the generated kernels compiled for the host, so the
 * kernels' logic (wavefront, shuffles, reductions, index arithmetic), the launch
 * configurations and the host side (driver calls, buffers, argument marshalling) are
 * checked against the float64 reference here. It says nothing about speed, and nothing
 * about what only real hardware shows (memory model, register and shared-memory limits).
 *
 * Two pieces, both compiled here from the sources below:
 * - a fake `libcuda` (C): the driver API subset the engine uses, with the prototypes of
 *   the real `cuda.h` when the toolkit is installed (so a signature mismatch does not
 *   compile). Device memory is host memory, filled with 0xFF bytes on allocation (NaN
 *   floats, -1 ints) so a kernel that reads memory nobody wrote shows up in the results;
 *   every buffer has 256 guard bytes on each side, checked after each launch, so a kernel
 *   that writes outside a buffer fails its launch, and copies and memsets must stay inside
 *   one buffer (CUDA_ERROR_INVALID_VALUE otherwise, as from the real driver).
 *   `cuModuleLoadData` takes the PATH of a host shared library instead of a cubin;
 *   `cuLaunchKernel` enforces the real limits (1024 threads per block, 48 KB of dynamic
 *   shared memory unless raised with `cuFuncSetAttribute`). Fault injection for tests:
 *   `RNNBENCH_EMU_FAIL=<call>[:<kernel>]` makes that call fail, `RNNBENCH_EMU_SKIP=<kernel>`
 *   makes launches of that kernel succeed without running it (wrong results, as from a
 *   broken kernel; `*`: every kernel and memset, which leaves only the host's own work
 *   to time), `RNNBENCH_EMU_DEVICES=0` hides the device.
 * - an emulation header (C++), included before the generated source with `-DRB_EMULATE`:
 *   each CUDA thread is a fiber (`ucontext`), blocks run one after another, `__syncthreads`
 *   and `__syncwarp` are barriers of the fiber scheduler, warp shuffles exchange through
 *   per-thread slots between two warp barriers, `__shared__` is `static` (filled with NaN
 *   bytes at the start of every block, like dynamic shared memory). A deadlock (a
 *   barrier some threads never reach) fails the launch with a message, and so do threads
 *   of a block waiting at different `__syncthreads`, a warp whose lanes meet at different
 *   intrinsics or masks, and a shuffle that reads a lane that has exited (all undefined on
 *   a GPU).
 *   `RNNBENCH_EMU_SANITIZE=1` builds the kernels with UBSan (see `emulatorToolchain`).
 *   `RNNBENCH_EMU_ORDER=forward|reverse|shuffle[:seed]` sets the order in which blocks, and
 *   the threads of a block between two barriers, run: results that change with it come
 *   from a race (a missing barrier, or blocks that depend on each other), which the tests
 *   check for by running the same steps in every order.
 *
 * @module
 */

/** The emulation header (C++), passed with `-include`. */
export const EMULATOR_HEADER = String
  .raw`/* rnnbench CUDA emulation header: generated kernels on the CPU, for tests. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <ucontext.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
/* Static shared memory: function statics in a section of their own, so that it can be filled
 * with 0xFF bytes (NaN) at the start of every block, as a GPU leaves it undefined. */
#define __shared__ static __attribute__((section("rb_emu_shared")))
extern "C" char __start_rb_emu_shared[] __attribute__((weak));
extern "C" char __stop_rb_emu_shared[] __attribute__((weak));
#define __launch_bounds__(...)
#define __ldg(p) (*(p))

struct rb_emu_dim3 { unsigned x, y, z; };
struct rb_emu_thread {
  ucontext_t ctx; /* the fiber's first entry (swapcontext) */
  jmp_buf jb;     /* where it waits: later switches are _setjmp/_longjmp, no signal-mask syscall */
  int started;
  rb_emu_dim3 idx;
  int state; /* 0 runnable, 1 at a block barrier, 2 at a warp barrier, 3 done */
  int warp, lane;
  int wkind;      /* at a warp barrier: 0 __syncwarp, else the shuffle (RB_EMU_SHFL_*) */
  unsigned wmask; /* ... and its member mask */
  int bline;      /* at a block barrier: the source line of its __syncthreads */
  unsigned char slot[8];
};
enum { RB_EMU_SYNCWARP = 0, RB_EMU_SHFL_IDX = 1, RB_EMU_SHFL_UP = 2, RB_EMU_SHFL_DOWN = 3 };
static const char *const rb_emu_wnames[] = {"__syncwarp", "__shfl_sync", "__shfl_up_sync",
    "__shfl_down_sync"};
/* The first misuse a fiber found (a kernel error; the launch fails with it). */
static char rb_emu_err[256];
static rb_emu_thread *rb_emu_threads = nullptr;
static int rb_emu_nthreads = 0;
static rb_emu_thread *rb_emu_cur = nullptr;
static ucontext_t rb_emu_sched;
static jmp_buf rb_emu_sched_jb;
static rb_emu_dim3 rb_emu_block_idx, rb_emu_block_dim, rb_emu_grid_dim;
static float *rb_emu_dyn = nullptr;
typedef void (*rb_emu_kernel)(void **);
static rb_emu_kernel rb_emu_fn = nullptr;
static void **rb_emu_args = nullptr;

#define threadIdx (rb_emu_cur->idx)
#define blockIdx rb_emu_block_idx
#define blockDim rb_emu_block_dim
#define gridDim rb_emu_grid_dim

static inline float *rb_emu_dynamic_smem(void) { return rb_emu_dyn; }
static inline void rb_emu_wait(int state) {
  rb_emu_cur->state = state;
  if (!_setjmp(rb_emu_cur->jb)) _longjmp(rb_emu_sched_jb, 1);
}
static void rb_emu_misuse(const char *what) {
  if (rb_emu_err[0]) return;
  snprintf(rb_emu_err, sizeof rb_emu_err, "thread %u of block (%u,%u,%u): %s", rb_emu_cur->idx.x,
      rb_emu_block_idx.x, rb_emu_block_idx.y, rb_emu_block_idx.z, what);
}
/* __syncthreads records its source line: every thread of a block must wait at the same one
 * (it is bar.sync.aligned on a GPU; threads that have exited do not count). */
static inline void rb_emu_syncthreads(int line) {
  rb_emu_cur->bline = line;
  rb_emu_wait(1);
}
#define __syncthreads() rb_emu_syncthreads(__LINE__)
static inline void rb_emu_warp_wait(int kind, unsigned mask) {
  rb_emu_cur->wkind = kind;
  rb_emu_cur->wmask = mask;
  rb_emu_wait(2);
}
static inline void __syncwarp(unsigned mask = 0xffffffffu) { rb_emu_warp_wait(RB_EMU_SYNCWARP, mask); }

/* A shuffle: every live lane of the warp posts its value, then reads lane src's (its own when
 * src is -1: out of range for up/down, defined by CUDA). Reading a lane that has exited is
 * undefined on a GPU, so it is an error here. Only width 32 is emulated. */
template <typename V> static inline V rb_emu_exchange(int kind, unsigned mask, V v, int src, int width) {
  static_assert(sizeof(V) <= 8, "shuffle of a value wider than 8 bytes");
  if (width != 32) rb_emu_misuse("a shuffle with width other than 32 (not emulated)");
  memcpy(rb_emu_cur->slot, &v, sizeof v);
  rb_emu_warp_wait(kind, mask);
  V r = v;
  if (src >= 0) {
    const int i = rb_emu_cur->warp * 32 + src;
    if (i >= rb_emu_nthreads || rb_emu_threads[i].state == 3) {
      rb_emu_misuse("a shuffle reads a lane that has exited or does not exist (undefined on a GPU)");
    } else {
      memcpy(&r, rb_emu_threads[i].slot, sizeof r);
    }
  }
  rb_emu_warp_wait(kind, mask);
  return r;
}
template <typename V> static inline V __shfl_sync(unsigned m, V v, int src, int width = 32) {
  return rb_emu_exchange(RB_EMU_SHFL_IDX, m, v, src & 31, width);
}
template <typename V> static inline V __shfl_up_sync(unsigned m, V v, unsigned d, int width = 32) {
  const int l = rb_emu_cur->lane;
  return rb_emu_exchange(RB_EMU_SHFL_UP, m, v, l >= (int)d ? l - (int)d : -1, width);
}
template <typename V> static inline V __shfl_down_sync(unsigned m, V v, unsigned d, int width = 32) {
  const int l = rb_emu_cur->lane;
  return rb_emu_exchange(RB_EMU_SHFL_DOWN, m, v, l + (int)d < 32 ? l + (int)d : -1, width);
}

static void rb_emu_entry(void) {
  rb_emu_fn(rb_emu_args);
  rb_emu_cur->state = 3;
  _longjmp(rb_emu_sched_jb, 1);
}

#define RB_EMU_STACK (1u << 20)
static char *rb_emu_stacks = nullptr;
static int rb_emu_stack_count = 0;

/* The order threads run in between two barriers, and blocks in a grid:
 * RNNBENCH_EMU_ORDER = forward (default) | reverse | shuffle[:seed] (a fresh permutation for
 * every round and grid). A kernel whose results change with the order has a race: a missing
 * __syncthreads/__syncwarp, or blocks that depend on each other. */
static int rb_emu_order_kind = 0; /* 0 forward, 1 reverse, 2 shuffle */
static unsigned long long rb_emu_rng = 1, rb_emu_seed = 0;
static int rb_emu_parse_order(char *err, int errlen) {
  const char *o = getenv("RNNBENCH_EMU_ORDER");
  if (!o || !*o || strcmp(o, "forward") == 0) { rb_emu_order_kind = 0; return 0; }
  if (strcmp(o, "reverse") == 0) { rb_emu_order_kind = 1; return 0; }
  if (strncmp(o, "shuffle", 7) == 0 && (o[7] == 0 || o[7] == ':')) {
    char *end = nullptr;
    const unsigned long long seed = o[7] ? strtoull(o + 8, &end, 10) : 1;
    if (o[7] && (end == o + 8 || *end)) {
      snprintf(err, errlen, "RNNBENCH_EMU_ORDER=%s: the seed after shuffle: is not a number", o);
      return -1;
    }
    if (rb_emu_order_kind != 2 || seed != rb_emu_seed) rb_emu_rng = seed * 0x9E3779B97F4A7C15ull + 1;
    rb_emu_order_kind = 2;
    rb_emu_seed = seed;
    return 0;
  }
  snprintf(err, errlen, "RNNBENCH_EMU_ORDER=%s: expected forward, reverse or shuffle[:seed]", o);
  return -1;
}
static unsigned rb_emu_below(unsigned n) { /* xorshift64*, uniform enough for a test order */
  rb_emu_rng ^= rb_emu_rng >> 12;
  rb_emu_rng ^= rb_emu_rng << 25;
  rb_emu_rng ^= rb_emu_rng >> 27;
  return (unsigned)(((rb_emu_rng * 0x2545F4914F6CDD1Dull) >> 33) % n);
}
static void rb_emu_order(int *perm, int n) {
  for (int i = 0; i < n; i++) perm[i] = rb_emu_order_kind == 1 ? n - 1 - i : i;
  if (rb_emu_order_kind == 2) {
    for (int i = n - 1; i > 0; i--) {
      const int j = (int)rb_emu_below((unsigned)i + 1), t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
  }
}

/* Releases warp w's lanes when every live one waits at a warp barrier. 1 released, 0 not yet,
 * -1 misuse (err set): lanes met at different intrinsics or with different masks, or a mask
 * that leaves out a live lane (partial masks are not emulated). */
static int rb_emu_release_warp(rb_emu_thread *th, int n, int w, char *err, int errlen) {
  const int lo = w * 32, hi = lo + 32 < n ? lo + 32 : n;
  int waiting = 0, live = 0, first = -1;
  unsigned liveMask = 0;
  for (int i = lo; i < hi; i++) {
    if (th[i].state == 3) continue;
    live++;
    liveMask |= 1u << (i - lo);
    if (th[i].state == 2) {
      waiting++;
      if (first < 0) first = i;
    }
  }
  if (live == 0 || waiting != live) return 0;
  for (int i = lo; i < hi; i++) {
    if (th[i].state != 2) continue;
    const rb_emu_thread &a = th[first], &b = th[i];
    if (a.wkind != b.wkind || (a.wkind != RB_EMU_SYNCWARP && a.wmask != b.wmask)) {
      snprintf(err, errlen, "warp %d: lane %d is at %s (mask %08x) while lane %d is at %s "
          "(mask %08x)", w, a.lane, rb_emu_wnames[a.wkind], a.wmask, b.lane, rb_emu_wnames[b.wkind],
          b.wmask);
      return -1;
    }
    if ((b.wmask & liveMask) != liveMask) {
      snprintf(err, errlen, "warp %d: %s with mask %08x while lanes %08x are live (partial masks "
          "are not emulated)", w, rb_emu_wnames[b.wkind], b.wmask, liveMask);
      return -1;
    }
  }
  for (int i = lo; i < hi; i++) if (th[i].state == 2) th[i].state = 0;
  return 1;
}

/* Runs a kernel: blocks, and each block's threads as fibers, in the RNNBENCH_EMU_ORDER order.
 * 0, or -1 with err set. */
extern "C" int rb_emu_run(rb_emu_kernel fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
    unsigned by, unsigned bz, unsigned smem, void **args, char *err, int errlen) {
  if (rb_emu_parse_order(err, errlen) != 0) return -1;
  const int n = (int)(bx * by * bz);
  const long long nblocks = (long long)gx * gy * gz;
  if (n > rb_emu_stack_count) {
    free(rb_emu_stacks);
    rb_emu_stacks = (char *)malloc((size_t)n * RB_EMU_STACK);
    rb_emu_stack_count = rb_emu_stacks ? n : 0;
    if (!rb_emu_stacks) { snprintf(err, errlen, "out of host memory for %d fibers", n); return -1; }
  }
  rb_emu_thread *th = (rb_emu_thread *)calloc((size_t)n, sizeof(rb_emu_thread));
  int *perm = (int *)malloc((size_t)n * sizeof(int));
  int *bperm = (int *)malloc((size_t)nblocks * sizeof(int));
  rb_emu_dyn = (float *)malloc((size_t)smem + 16);
  if (!th || !perm || !bperm || !rb_emu_dyn) {
    free(th); free(perm); free(bperm); free(rb_emu_dyn);
    rb_emu_dyn = nullptr;
    snprintf(err, errlen, "out of host memory");
    return -1;
  }
  rb_emu_threads = th;
  rb_emu_nthreads = n;
  rb_emu_fn = fn;
  rb_emu_args = args;
  rb_emu_grid_dim = {gx, gy, gz};
  rb_emu_block_dim = {bx, by, bz};
  rb_emu_err[0] = 0;
  rb_emu_order(bperm, (int)nblocks);
  int rc = 0;
  for (long long k = 0; k < nblocks && rc == 0; k++) {
    const unsigned blk = (unsigned)bperm[k];
    const unsigned x = blk % gx, y = (blk / gx) % gy, z = blk / (gx * gy);
    rb_emu_block_idx = {x, y, z};
    /* shared memory, dynamic and static, starts as NaN in every block */
    memset(rb_emu_dyn, 0xff, (size_t)smem + 16);
    if (__start_rb_emu_shared != __stop_rb_emu_shared) {
      memset(__start_rb_emu_shared, 0xff, (size_t)(__stop_rb_emu_shared - __start_rb_emu_shared));
    }
    for (int i = 0; i < n; i++) {
      rb_emu_thread *t = &th[i];
      t->idx = {(unsigned)i % bx, ((unsigned)i / bx) % by, (unsigned)i / (bx * by)};
      t->warp = i / 32;
      t->lane = i % 32;
      t->state = 0;
      t->started = 0;
      getcontext(&t->ctx);
      t->ctx.uc_stack.ss_sp = rb_emu_stacks + (size_t)i * RB_EMU_STACK;
      t->ctx.uc_stack.ss_size = RB_EMU_STACK;
      t->ctx.uc_link = nullptr;
      makecontext(&t->ctx, rb_emu_entry, 0);
    }
    for (;;) {
      rb_emu_order(perm, n);
      for (int q = 0; q < n; q++) {
        const int i = perm[q];
        if (th[i].state != 0) continue;
        rb_emu_cur = &th[i];
        if (_setjmp(rb_emu_sched_jb)) continue; /* the fiber waits or is done */
        if (th[i].started) _longjmp(th[i].jb, 1);
        th[i].started = 1;
        swapcontext(&rb_emu_sched, &th[i].ctx);
      }
      if (rb_emu_err[0]) {
        snprintf(err, errlen, "%s", rb_emu_err);
        rc = -1;
        break;
      }
      int done = 0, atBlock = 0;
      for (int i = 0; i < n; i++) {
        done += th[i].state == 3;
        atBlock += th[i].state == 1;
      }
      if (done == n) break;
      int released = 0;
      for (int w = 0; w * 32 < n && rc == 0; w++) {
        const int r = rb_emu_release_warp(th, n, w, err, errlen);
        if (r < 0) rc = -1;
        if (r > 0) released = 1;
      }
      if (rc != 0) break;
      if (!released && atBlock == n - done) {
        int first = -1;
        for (int i = 0; i < n && rc == 0; i++) {
          if (th[i].state != 1) continue;
          if (first < 0) first = i;
          else if (th[i].bline != th[first].bline) {
            snprintf(err, errlen, "block (%u,%u,%u): thread %d waits at the __syncthreads of line "
                "%d, thread %d at the one of line %d (undefined on a GPU)", x, y, z, first,
                th[first].bline, i, th[i].bline);
            rc = -1;
          }
        }
        if (rc != 0) break;
        for (int i = 0; i < n; i++) if (th[i].state == 1) th[i].state = 0;
        released = 1;
      }
      if (!released) {
        snprintf(err, errlen, "deadlock in block (%u,%u,%u): %d threads at __syncthreads, the others "
            "at __syncwarp or a shuffle, %d exited", x, y, z, atBlock, done);
        rc = -1;
      }
    }
  }
  free(th);
  free(perm);
  free(bperm);
  free(rb_emu_dyn);
  rb_emu_dyn = nullptr;
  rb_emu_threads = nullptr;
  return rc;
}
`;

/** The fake `libcuda` (C). */
export const EMULATOR_DRIVER = String
  .raw`/* rnnbench fake libcuda: the driver API subset of the CUDA engine, on the CPU (tests). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef RB_HAVE_CUDA_H
#include <cuda.h>
#else
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef int CUdevice_attribute;
typedef int CUfunction_attribute;
#define CUDAAPI
#define CUDA_SUCCESS 0
#define CUDA_ERROR_INVALID_VALUE 1
#define CUDA_ERROR_OUT_OF_MEMORY 2
#define CUDA_ERROR_NOT_INITIALIZED 3
#define CUDA_ERROR_NO_DEVICE 100
#define CUDA_ERROR_INVALID_DEVICE 101
#define CUDA_ERROR_INVALID_IMAGE 200
#define CUDA_ERROR_INVALID_HANDLE 400
#define CUDA_ERROR_NOT_FOUND 500
#define CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES 701
#define CUDA_ERROR_LAUNCH_FAILED 719
#define CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK 1
#define CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT 16
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76
#define CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN 97
#define CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES 1
#define CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES 3
#define CU_FUNC_ATTRIBUTE_NUM_REGS 4
#define CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES 8
/* the versioned names the real library exports (cuda.h maps them the same way) */
#define cuDeviceTotalMem cuDeviceTotalMem_v2
#define cuDevicePrimaryCtxRelease cuDevicePrimaryCtxRelease_v2
#define cuMemGetInfo cuMemGetInfo_v2
#define cuMemAlloc cuMemAlloc_v2
#define cuMemFree cuMemFree_v2
#define cuMemcpyHtoD cuMemcpyHtoD_v2
#define cuMemcpyDtoH cuMemcpyDtoH_v2
#define cuMemsetD32 cuMemsetD32_v2
#endif

#define EMU_OPTIN (227 * 1024)
typedef int (*emu_run_t)(void (*)(void **), unsigned, unsigned, unsigned, unsigned, unsigned,
    unsigned, unsigned, void **, char *, int);
struct emu_module { void *lib; };
struct emu_function { void (*fn)(void **); emu_run_t run; char name[96]; int maxDyn; };
static int emu_ready = 0;
static int emu_ctx_dummy = 0;
static char emu_last_err[320] = "";

/* RNNBENCH_EMU_FAIL=<call>[:<kernel>] makes that call fail. */
static int emu_fail(const char *call, const char *kernel) {
  const char *f = getenv("RNNBENCH_EMU_FAIL");
  if (!f) return 0;
  const size_t n = strlen(call);
  if (strncmp(f, call, n) != 0) return 0;
  if (f[n] == 0) return 1;
  return f[n] == ':' && kernel && strcmp(f + n + 1, kernel) == 0;
}

CUresult CUDAAPI cuGetErrorName(CUresult e, const char **s) {
  switch ((int)e) {
    case 0: *s = "CUDA_SUCCESS"; return CUDA_SUCCESS;
    case 1: *s = "CUDA_ERROR_INVALID_VALUE"; return CUDA_SUCCESS;
    case 2: *s = "CUDA_ERROR_OUT_OF_MEMORY"; return CUDA_SUCCESS;
    case 3: *s = "CUDA_ERROR_NOT_INITIALIZED"; return CUDA_SUCCESS;
    case 100: *s = "CUDA_ERROR_NO_DEVICE"; return CUDA_SUCCESS;
    case 101: *s = "CUDA_ERROR_INVALID_DEVICE"; return CUDA_SUCCESS;
    case 200: *s = "CUDA_ERROR_INVALID_IMAGE"; return CUDA_SUCCESS;
    case 400: *s = "CUDA_ERROR_INVALID_HANDLE"; return CUDA_SUCCESS;
    case 500: *s = "CUDA_ERROR_NOT_FOUND"; return CUDA_SUCCESS;
    case 701: *s = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; return CUDA_SUCCESS;
    case 719: *s = "CUDA_ERROR_LAUNCH_FAILED"; return CUDA_SUCCESS;
    default: *s = 0; return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult CUDAAPI cuGetErrorString(CUresult e, const char **s) {
  switch ((int)e) {
    case 0: *s = "no error"; return CUDA_SUCCESS;
    case 1: *s = "invalid argument"; return CUDA_SUCCESS;
    case 2: *s = "out of memory"; return CUDA_SUCCESS;
    case 3: *s = "initialization error"; return CUDA_SUCCESS;
    case 100: *s = "no CUDA-capable device is detected"; return CUDA_SUCCESS;
    case 101: *s = "invalid device ordinal"; return CUDA_SUCCESS;
    case 200: *s = "device kernel image is invalid"; return CUDA_SUCCESS;
    case 400: *s = "invalid resource handle"; return CUDA_SUCCESS;
    case 500: *s = "named symbol not found"; return CUDA_SUCCESS;
    case 701: *s = "too many resources requested for launch"; return CUDA_SUCCESS;
    case 719: *s = "unspecified launch failure"; return CUDA_SUCCESS;
    default: *s = 0; return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult CUDAAPI cuInit(unsigned int flags) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (emu_fail("cuInit", 0)) return CUDA_ERROR_NO_DEVICE;
  emu_ready = 1;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDriverGetVersion(int *v) { *v = 13000; return CUDA_SUCCESS; }

static int emu_devices(void) {
  const char *d = getenv("RNNBENCH_EMU_DEVICES");
  return d ? atoi(d) : 1;
}

CUresult CUDAAPI cuDeviceGetCount(int *n) {
  if (!emu_ready) return CUDA_ERROR_NOT_INITIALIZED;
  *n = emu_devices();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGet(CUdevice *d, int ordinal) {
  if (!emu_ready) return CUDA_ERROR_NOT_INITIALIZED;
  if (ordinal < 0 || ordinal >= emu_devices()) return CUDA_ERROR_INVALID_DEVICE;
  *d = ordinal;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice d) {
  if (d < 0 || d >= emu_devices()) return CUDA_ERROR_INVALID_DEVICE;
  snprintf(name, (size_t)len, "rnnbench CUDA emulator (CPU)");
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
  if (d < 0 || d >= emu_devices()) return CUDA_ERROR_INVALID_DEVICE;
  switch (a) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 2; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *v = 1024; return CUDA_SUCCESS;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = EMU_OPTIN; return CUDA_SUCCESS;
    default: return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult CUDAAPI cuDeviceTotalMem(size_t *bytes, CUdevice d) {
  if (d < 0 || d >= emu_devices()) return CUDA_ERROR_INVALID_DEVICE;
  *bytes = (size_t)4 << 30;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
  if (d < 0 || d >= emu_devices()) return CUDA_ERROR_INVALID_DEVICE;
  *c = (CUcontext)&emu_ctx_dummy;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice d) { (void)d; return CUDA_SUCCESS; }

CUresult CUDAAPI cuCtxSetCurrent(CUcontext c) {
  return c == (CUcontext)&emu_ctx_dummy ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuCtxSynchronize(void) {
  return emu_fail("cuCtxSynchronize", 0) ? CUDA_ERROR_LAUNCH_FAILED : CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemGetInfo(size_t *free_, size_t *total) {
  *free_ = (size_t)3 << 30;
  *total = (size_t)4 << 30;
  return CUDA_SUCCESS;
}

/* Device buffers: each has EMU_GUARD bytes of 0xFF on both sides, checked after every
 * launch, so a kernel that writes outside a buffer fails its launch (on a GPU: an illegal
 * address, or silent corruption); reads outside get NaN. Copies and memsets must stay
 * inside one buffer, as the real driver requires. */
#define EMU_GUARD 256
struct emu_alloc { struct emu_alloc *next; unsigned char *base; size_t bytes; };
static struct emu_alloc *emu_allocs = 0;

static struct emu_alloc *emu_find(size_t at, size_t n) {
  for (struct emu_alloc *a = emu_allocs; a; a = a->next) {
    const size_t lo = (size_t)(a->base + EMU_GUARD);
    if (at >= lo && at - lo <= a->bytes && n <= a->bytes - (at - lo)) return a;
  }
  return 0;
}

/* The first buffer whose guard a kernel overwrote, with the lowest such byte offset (negative:
 * before the buffer): 1 and err set, or 0 if none. */
static int emu_check_guards(char *err, size_t errlen) {
  for (struct emu_alloc *a = emu_allocs; a; a = a->next) {
    long long bad = 0;
    int found = 0;
    for (size_t i = 0; i < EMU_GUARD && !found; i++) {
      if (a->base[i] != 0xff) { bad = (long long)i - EMU_GUARD; found = 1; }
    }
    for (size_t i = 0; i < EMU_GUARD && !found; i++) {
      if (a->base[EMU_GUARD + a->bytes + i] != 0xff) { bad = (long long)(a->bytes + i); found = 1; }
    }
    if (found) {
      snprintf(err, errlen, "wrote outside a device buffer of %zu bytes, at byte %lld", a->bytes,
          bad);
      memset(a->base, 0xff, EMU_GUARD);
      memset(a->base + EMU_GUARD + a->bytes, 0xff, EMU_GUARD);
      return 1;
    }
  }
  return 0;
}

CUresult CUDAAPI cuMemAlloc(CUdeviceptr *p, size_t bytes) {
  if (!emu_ready) return CUDA_ERROR_NOT_INITIALIZED;
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  if (emu_fail("cuMemAlloc", 0)) return CUDA_ERROR_OUT_OF_MEMORY;
  struct emu_alloc *a = (struct emu_alloc *)malloc(sizeof *a);
  unsigned char *m = (unsigned char *)malloc(bytes + 2 * EMU_GUARD);
  if (!a || !m) { free(a); free(m); return CUDA_ERROR_OUT_OF_MEMORY; }
  /* like real device memory, never zeroed: reads of it show as NaN */
  memset(m, 0xff, bytes + 2 * EMU_GUARD);
  a->base = m;
  a->bytes = bytes;
  a->next = emu_allocs;
  emu_allocs = a;
  *p = (CUdeviceptr)(size_t)(m + EMU_GUARD);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFree(CUdeviceptr p) {
  for (struct emu_alloc **at = &emu_allocs; *at; at = &(*at)->next) {
    struct emu_alloc *a = *at;
    if ((size_t)(a->base + EMU_GUARD) == (size_t)p) {
      *at = a->next;
      free(a->base);
      free(a);
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t n) {
  if (!dst || !src || !emu_find((size_t)dst, n)) return CUDA_ERROR_INVALID_VALUE;
  memcpy((void *)(size_t)dst, src, n);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t n) {
  if (!dst || !src || !emu_find((size_t)src, n)) return CUDA_ERROR_INVALID_VALUE;
  if (emu_fail("cuMemcpyDtoH", 0)) return CUDA_ERROR_LAUNCH_FAILED;
  memcpy(dst, (const void *)(size_t)src, n);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemsetD32(CUdeviceptr dst, unsigned int v, size_t n) {
  if (!dst || !emu_find((size_t)dst, 4 * n)) return CUDA_ERROR_INVALID_VALUE;
  const char *skip = getenv("RNNBENCH_EMU_SKIP"); /* "*": device work is skipped, memsets too */
  if (skip && strcmp(skip, "*") == 0) return CUDA_SUCCESS;
  unsigned int *p = (unsigned int *)(size_t)dst;
  for (size_t i = 0; i < n; i++) p[i] = v;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleLoadData(CUmodule *m, const void *image) {
  if (emu_fail("cuModuleLoadData", 0)) return CUDA_ERROR_INVALID_IMAGE;
  void *lib = dlopen((const char *)image, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "rnnbench CUDA emulator: %s\n", dlerror());
    return CUDA_ERROR_INVALID_IMAGE;
  }
  struct emu_module *em = (struct emu_module *)calloc(1, sizeof *em);
  em->lib = lib;
  *m = (CUmodule)em;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleUnload(CUmodule m) { free(m); return CUDA_SUCCESS; }

CUresult CUDAAPI cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  struct emu_module *em = (struct emu_module *)m;
  char sym[128];
  snprintf(sym, sizeof sym, "rb_emu_k_%s", name);
  void *fn = dlsym(em->lib, sym);
  void *run = dlsym(em->lib, "rb_emu_run");
  if (!fn || !run) return CUDA_ERROR_NOT_FOUND;
  struct emu_function *ef = (struct emu_function *)calloc(1, sizeof *ef);
  *(void **)&ef->fn = fn;
  *(void **)&ef->run = run;
  snprintf(ef->name, sizeof ef->name, "%s", name);
  *f = (CUfunction)ef;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) {
  struct emu_function *ef = (struct emu_function *)f;
  if (!ef) return CUDA_ERROR_INVALID_HANDLE;
  if (a != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) return CUDA_ERROR_INVALID_VALUE;
  if (v < 0 || v > EMU_OPTIN) return CUDA_ERROR_INVALID_VALUE;
  ef->maxDyn = v;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f) {
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  switch (a) {
    case CU_FUNC_ATTRIBUTE_NUM_REGS: *v = 0; return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: *v = 0; return CUDA_SUCCESS;
    case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: *v = 0; return CUDA_SUCCESS;
    default: return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
    unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem, CUstream stream,
    void **params, void **extra) {
  struct emu_function *ef = (struct emu_function *)f;
  if (!ef) return CUDA_ERROR_INVALID_HANDLE;
  if (stream != 0 || extra != 0 || params == 0) return CUDA_ERROR_INVALID_VALUE;
  if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) return CUDA_ERROR_INVALID_VALUE;
  if ((unsigned long long)bx * by * bz > 1024) return CUDA_ERROR_INVALID_VALUE;
  if (smem > 48 * 1024 && (int)smem > ef->maxDyn) return CUDA_ERROR_INVALID_VALUE;
  if (emu_fail("cuLaunchKernel", ef->name)) return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
  const char *skip = getenv("RNNBENCH_EMU_SKIP"); /* a kernel that "runs" but computes nothing */
  if (skip && (strcmp(skip, ef->name) == 0 || strcmp(skip, "*") == 0)) return CUDA_SUCCESS;
  char err[256] = "";
  if (ef->run(ef->fn, gx, gy, gz, bx, by, bz, smem, params, err, sizeof err) != 0 ||
      emu_check_guards(err, sizeof err)) {
    fprintf(stderr, "rnnbench CUDA emulator: kernel %s: %s\n", ef->name, err);
    snprintf(emu_last_err, sizeof emu_last_err, "kernel %s: %s", ef->name, err);
    return CUDA_ERROR_LAUNCH_FAILED;
  }
  return CUDA_SUCCESS;
}

/* Not a driver call: why the last launch failed (tests read it; "" when none has). */
const char *rb_emu_last_error(void) { return emu_last_err; }
`;

/** Where the built emulator is. */
export interface CudaEmulator {
  /** The directory both are in (what `RNNBENCH_CUDA_EMULATOR` names). */
  readonly dir: string;
  /** The fake `libcuda` to open instead of `libcuda.so.1`. */
  readonly driverPath: string;
  /** The emulation header to compile generated kernels with. */
  readonly headerPath: string;
  /** Whether the driver was compiled against the toolkit's `cuda.h` (prototype check). */
  readonly checkedAgainstCudaH: boolean;
}

/** The toolkit's include directory, if `cuda.h` is found (next to `nvcc`, or the usual paths). */
export async function cudaIncludeDir(): Promise<string | null> {
  const candidates: string[] = [];
  const home = Deno.env.get("CUDA_HOME") ?? Deno.env.get("CUDA_PATH");
  if (home) candidates.push(`${home}/include`);
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", 'readlink -f "$(command -v nvcc)"'],
      stdout: "piped",
      stderr: "null",
    }).output();
    const nvcc = new TextDecoder().decode(out.stdout).trim();
    if (out.success && nvcc) {
      const bin = nvcc.slice(0, nvcc.lastIndexOf("/"));
      candidates.push(`${bin}/../include`);
      // A wrapper script (exec /usr/local/cuda-X/bin/nvcc): look where it points.
      const text = await Deno.readTextFile(nvcc).catch(() => "");
      const m = /exec\s+(\S+)\/bin\/nvcc/.exec(text);
      if (m?.[1]) candidates.push(`${m[1]}/include`);
    }
  } catch { /* no sh */ }
  candidates.push("/usr/local/cuda/include");
  for (const dir of candidates) {
    try {
      await Deno.stat(`${dir}/cuda.h`);
      return dir;
    } catch { /* next */ }
  }
  return null;
}

/**
 * Builds the emulator (once per directory): the fake driver with `cc`, against `cuda.h`
 * when the toolkit is installed, and the header file.
 *
 * @param dir where to put `libcuda-emulator.so` and `rb_emulate.h`
 * @returns the paths
 * @throws Error with the compiler's message when the driver does not compile
 */
export async function buildCudaEmulator(dir: string): Promise<CudaEmulator> {
  await Deno.mkdir(dir, { recursive: true });
  const headerPath = `${dir}/rb_emulate.h`;
  const driverPath = `${dir}/libcuda-emulator.so`;
  await Deno.writeTextFile(headerPath, EMULATOR_HEADER);
  await Deno.writeTextFile(`${dir}/emulator.c`, EMULATOR_DRIVER);
  const inc = await cudaIncludeDir();
  const args = [
    "-O1",
    "-fPIC",
    "-shared",
    "-Wall",
    "-Werror=implicit-function-declaration",
    ...(inc ? ["-DRB_HAVE_CUDA_H", `-I${inc}`] : []),
    "-o",
    `${driverPath}.${Deno.pid}.tmp`,
    `${dir}/emulator.c`,
    "-ldl",
  ];
  const out = await new Deno.Command("cc", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `Cannot build the CUDA emulator: cc ${args.join(" ")} failed:\n` +
        new TextDecoder().decode(out.stderr),
    );
  }
  await Deno.rename(`${driverPath}.${Deno.pid}.tmp`, driverPath);
  return { dir, driverPath, headerPath, checkedAgainstCudaH: inc !== null };
}
