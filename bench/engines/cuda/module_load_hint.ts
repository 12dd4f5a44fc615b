/**
 * What to tell the user when the driver refuses the compiled kernels (`cuModuleLoadData`),
 * from the driver's and the compiler's CUDA versions.
 *
 * @module
 */

/** The errors with which a driver refuses a module it cannot run. */
const IMAGE_ERRORS = new Set([
  "CUDA_ERROR_INVALID_IMAGE",
  "CUDA_ERROR_NO_BINARY_FOR_GPU",
  "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
  "CUDA_ERROR_INVALID_PTX",
]);

/**
 * What to do when the driver refuses the compiled kernels: most often a compiler newer
 * than the driver (CUDA 13 cubins need a CUDA 13 driver).
 *
 * @param codeName the `cuModuleLoadData` error, e.g. "CUDA_ERROR_INVALID_IMAGE"
 * @param driverCuda the CUDA version the driver supports, e.g. "12.4"
 * @param compiler the toolchain's description, e.g. "nvcc 13.0.88"
 * @returns the hint, or null when the error is not about the image
 * @example
 * ```ts
 * import { moduleLoadHint } from "./module_load_hint.ts";
 * console.log(moduleLoadHint("CUDA_ERROR_INVALID_IMAGE", "12.4", "nvcc 13.0.88"));
 * ```
 */
export function moduleLoadHint(
  codeName: string,
  driverCuda: string,
  compiler: string,
): string | null {
  if (!IMAGE_ERRORS.has(codeName)) return null;
  const version = (s: string) => {
    const m = /(\d+)\.(\d+)/.exec(s);
    return m ? Number(m[1]) * 1000 + Number(m[2]) : null;
  };
  const d = version(driverCuda), c = version(compiler);
  const what =
    `the kernels were compiled by ${compiler} and the driver supports CUDA ${driverCuda}`;
  if (d !== null && c !== null && c > d) {
    return `${what}: the compiler is newer than the driver. Update the NVIDIA driver, or put ` +
      `an nvcc no newer than CUDA ${driverCuda} on the PATH (or set NVCC=/path/to/nvcc)`;
  }
  if (d !== null && c !== null) {
    return `${what}: the compiler is not newer than the driver, so the compiled file may be ` +
      `damaged. Delete the cache (.cache/cuda) and retry`;
  }
  return `${what}. If the compiler is newer than the driver, update the driver or use an ` +
    `older nvcc (NVCC=/path/to/nvcc); else delete the cache (.cache/cuda) and retry`;
}
