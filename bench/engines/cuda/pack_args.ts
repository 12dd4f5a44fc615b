/**
 * Marshalling of a kernel's arguments for `cuLaunchKernel`, in the order and with the
 * types of the kernel table (`CUDA_KERNELS` in `models/codegen/cuda.ts`).
 *
 * @module
 */
import { type KernelName, kernelParams } from "../../../models/codegen/cuda.ts";

/**
 * Packs a kernel's arguments into 8-byte slots in declaration order, as `cuLaunchKernel`'s
 * `kernelParams` points at them.
 * @throws Error naming a missing or mistyped argument
 */
export function packArgs(k: KernelName, args: Record<string, number | bigint>): ArrayBuffer {
  const params = kernelParams(k);
  const buf = new ArrayBuffer(8 * params.length);
  const view = new DataView(buf);
  params.forEach(({ name, kind }, i) => {
    const v = args[name];
    if (kind === "ptr") {
      if (typeof v !== "bigint" || v === 0n) {
        throw new Error(`Internal error: kernel ${k} argument ${name} must be a device pointer`);
      }
      view.setBigUint64(8 * i, v, true);
    } else if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`Internal error: kernel ${k} argument ${name} must be a finite number`);
    } else if (kind === "i32") {
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new Error(`Internal error: kernel ${k} argument ${name} = ${v} is not a 32-bit int`);
      }
      view.setInt32(8 * i, v, true);
    } else view.setFloat32(8 * i, v, true);
  });
  const extra = Object.keys(args).filter((a) => !params.some((p) => p.name === a));
  if (extra.length) throw new Error(`Internal error: kernel ${k} has no argument ${extra[0]}`);
  return buf;
}
