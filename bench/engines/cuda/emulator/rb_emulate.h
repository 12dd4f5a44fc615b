/* rnnbench CUDA emulation header: generated kernels on the CPU, for tests.
 *
 * g++ compiles the generated CUDA with this header included first (`-include rb_emulate.h
 * -DRB_EMULATE`, see emulatorToolchain in ../compiler.ts) into a shared library that the fake
 * driver (libcuda_emu.c) loads and launches through rb_emu_run below. Each CUDA thread is a
 * fiber (ucontext); blocks run one after another; __syncthreads, __syncwarp and the warp
 * shuffles are barriers of the fiber scheduler, which also reports their misuse. The order of
 * blocks and threads comes from RNNBENCH_EMU_ORDER. emulator.ts (buildCudaEmulator) copies this
 * file into the emulator's directory and describes the whole emulator. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <ucontext.h>
#include <pthread.h>

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
static int rb_emu_run_unlocked(rb_emu_kernel fn, unsigned gx, unsigned gy, unsigned gz,
    unsigned bx, unsigned by, unsigned bz, unsigned smem, void **args, char *err, int errlen) {
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

/* The scheduler above is one set of globals per kernel module, and test workers of one process
 * may launch the same module from several threads: one launch at a time. */
static pthread_mutex_t rb_emu_run_lock = PTHREAD_MUTEX_INITIALIZER;
extern "C" int rb_emu_run(rb_emu_kernel fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
    unsigned by, unsigned bz, unsigned smem, void **args, char *err, int errlen) {
  pthread_mutex_lock(&rb_emu_run_lock);
  int r = rb_emu_run_unlocked(fn, gx, gy, gz, bx, by, bz, smem, args, err, errlen);
  pthread_mutex_unlock(&rb_emu_run_lock);
  return r;
}
