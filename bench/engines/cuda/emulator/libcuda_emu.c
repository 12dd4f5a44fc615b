/* rnnbench fake libcuda: the driver API subset of the CUDA engine, on the CPU (tests).
 *
 * emulator.ts (buildCudaEmulator) compiles it with cc into libcuda-emulator.so, against the
 * toolkit's cuda.h when there is one (-DRB_HAVE_CUDA_H, so that a prototype unlike the real
 * driver's does not compile), else with the declarations below. Device memory is host memory
 * with guard bytes; a module is a shared library of kernels g++ built with rb_emulate.h,
 * loaded by its path, and a launch runs its rb_emu_run. Fault injection: RNNBENCH_EMU_FAIL,
 * RNNBENCH_EMU_SKIP, RNNBENCH_EMU_DEVICES (see emulator.ts). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
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
static pthread_mutex_t emu_lock = PTHREAD_MUTEX_INITIALIZER;
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

static CUresult unlocked_cuMemAlloc(CUdeviceptr *p, size_t bytes) {
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

static CUresult unlocked_cuMemFree(CUdeviceptr p) {
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

static CUresult unlocked_cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t n) {
  if (!dst || !src || !emu_find((size_t)dst, n)) return CUDA_ERROR_INVALID_VALUE;
  memcpy((void *)(size_t)dst, src, n);
  return CUDA_SUCCESS;
}

static CUresult unlocked_cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t n) {
  if (!dst || !src || !emu_find((size_t)src, n)) return CUDA_ERROR_INVALID_VALUE;
  if (emu_fail("cuMemcpyDtoH", 0)) return CUDA_ERROR_LAUNCH_FAILED;
  memcpy(dst, (const void *)(size_t)src, n);
  return CUDA_SUCCESS;
}

static CUresult unlocked_cuMemsetD32(CUdeviceptr dst, unsigned int v, size_t n) {
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

static CUresult unlocked_cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
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

/* Test workers of one process may use one copy of this library from several threads: the
 * device memory list and the launches (which check every buffer's guards) go one at a time. */
CUresult CUDAAPI cuMemAlloc(CUdeviceptr *p, size_t bytes) {
  pthread_mutex_lock(&emu_lock);
  CUresult r = unlocked_cuMemAlloc(p, bytes);
  pthread_mutex_unlock(&emu_lock);
  return r;
}

CUresult CUDAAPI cuMemFree(CUdeviceptr p) {
  pthread_mutex_lock(&emu_lock);
  CUresult r = unlocked_cuMemFree(p);
  pthread_mutex_unlock(&emu_lock);
  return r;
}

CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t n) {
  pthread_mutex_lock(&emu_lock);
  CUresult r = unlocked_cuMemcpyHtoD(dst, src, n);
  pthread_mutex_unlock(&emu_lock);
  return r;
}

CUresult CUDAAPI cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t n) {
  pthread_mutex_lock(&emu_lock);
  CUresult r = unlocked_cuMemcpyDtoH(dst, src, n);
  pthread_mutex_unlock(&emu_lock);
  return r;
}

CUresult CUDAAPI cuMemsetD32(CUdeviceptr dst, unsigned int v, size_t n) {
  pthread_mutex_lock(&emu_lock);
  CUresult r = unlocked_cuMemsetD32(dst, v, n);
  pthread_mutex_unlock(&emu_lock);
  return r;
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
    unsigned int bx, unsigned int by, unsigned int bz, unsigned int smem, CUstream stream,
    void **params, void **extra) {
  pthread_mutex_lock(&emu_lock);
  CUresult r = unlocked_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, smem, stream, params, extra);
  pthread_mutex_unlock(&emu_lock);
  return r;
}

/* Not a driver call: why the last launch failed (tests read it; "" when none has). */
const char *rb_emu_last_error(void) { return emu_last_err; }
