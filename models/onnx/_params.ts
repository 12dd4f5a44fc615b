/**
 * One named tensor read out of a classifier's flat parameter array, for the ONNX lowerings
 * that turn parameters into initializers.
 *
 * @module
 */
import type { ParamLayout } from "../classifier.ts";

/** Flat parameters in layout order (float32 or float64; stored in the file as float32). */
export type Params = Float32Array | Float64Array;

/**
 * The values of one tensor, in place.
 *
 * @param layout the parameter layout
 * @param params flat parameters in layout order
 * @param name the tensor, e.g. `layers.0.W_xh`
 * @returns a view of its values (no copy)
 */
export function paramView(layout: ParamLayout, params: Params, name: string): Params {
  const t = layout.get(name);
  return params.subarray(t.offset, t.offset + t.size);
}

/**
 * The values of one tensor as float32, for an initializer.
 *
 * @param layout the parameter layout
 * @param params flat parameters in layout order
 * @param name the tensor, e.g. `head.W_hy`
 * @returns a float32 copy of its values
 */
export function paramF32(layout: ParamLayout, params: Params, name: string): Float32Array {
  return Float32Array.from(paramView(layout, params, name));
}
