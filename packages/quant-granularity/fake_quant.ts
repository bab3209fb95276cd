/**
 * Fake quantization: quantize then dequantize in one pass, for training.
 *
 * @module
 */
import { kernelTakes, quantizeOnKernels } from "./_kernel.ts";
import { fakeQuantPrepared, prepareFakeQuant } from "./_reference.ts";
import type { QuantScheme } from "./types.ts";

/**
 * Quantizes and dequantizes the rows × cols matrix `values` under `scheme` without materialising
 * codes: the result is bit-identical to `dequantize(quantizeTensor(values, rows, cols, scheme))`.
 * Works in place when `out` is `values`. Unlike {@link quantizeTensor}, any element format is
 * allowed, including FP16 and BF16. Like quantizeTensor, it runs on `@fp4lab/kernels`' quantizer
 * where that applies (formats of at most 8 bits, nearest-even, 4096 elements and more), with the
 * same bits.
 *
 * @param values the matrix, rows · cols f32 values
 * @param rows number of rows (tokens, or output channels of a weight stored [N, K])
 * @param cols number of columns (K)
 * @param scheme the scheme, e.g. {@link FP4_PAPER_ACT}
 * @param out output buffer of rows · cols floats; may be `values` itself. Default: a new array
 * @returns `out`, holding the fake-quantized values
 * @throws {TypeError} when `values` or `out` is not a Float32Array
 * @throws {RangeError} for a shape/length mismatch, a bad scheme field, or NaN (naming its row)
 *
 * @example Per-token FP4, in place
 * ```ts
 * import { FP4_PAPER_ACT, fakeQuant } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const a = new Float32Array([0.1, -0.6, 1.2, 60, 3, -12]);
 * fakeQuant(a, 2, 3, FP4_PAPER_ACT, a);
 * assert.deepEqual(Array.from(a, (v) => +v.toFixed(4)), [0.1, -0.6, 1.2, 60, 5, -10]);
 * ```
 */
export function fakeQuant(
  values: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
  out?: Float32Array,
): Float32Array {
  const { plan, result } = prepareFakeQuant(values, rows, cols, scheme, out);
  if (kernelTakes(plan, values.length)) {
    if (quantizeOnKernels(values, rows, cols, plan, { out: result })) return result;
  }
  return fakeQuantPrepared(values, rows, cols, plan, result);
}
