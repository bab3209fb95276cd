/**
 * The one entry point that quantizes a matrix under any scheme.
 *
 * @module
 */
import { kernelTakes, quantizeOnKernels } from "./_kernel.ts";
import { prepareQuantize, quantizedTensor, quantizePrepared } from "./_reference.ts";
import type { QuantizedTensor, QuantScheme } from "./types.ts";

/** Caller-owned buffers for {@link quantizeTensor}; each is optional. */
export interface QuantizeInto {
  /** Codes: rows · ceil(cols / 2) bytes for 4-bit formats, rows · cols otherwise. */
  data?: Uint8Array;
  /** One f32 scale per group. */
  scales?: Float32Array;
  /** One byte per group, used by the E8M0 and NVFP4 rules. */
  scaleCodes?: Uint8Array;
}

/**
 * Quantizes the rows × cols matrix `values` (row-major, K = cols contiguous) under `scheme`:
 * absmax per group (tensor, row, 1-D block along K, 2-D tile), the scheme's scale rule, then each
 * element divided by its group's scale (NVFP4: multiplied by enc_b) in f32 and rounded with
 * `@fp4lab/fp4-format`'s `quantize` (nearest-even, the paper's ties-up table, or seeded
 * stochastic rounding at stream position r · cols + c).
 *
 * A block size that does not divide K is allowed: the last block of each row is narrower, which is
 * exactly zero-padding the row to a multiple of the block size. NaN is refused; ±Inf saturates
 * (scale 1) under `absmax`/`pow2-floor`, makes its E8M0 block read back as NaN (scale byte 0xFF),
 * and is refused by NVFP4 (its tensor scale would be 0).
 *
 * Matrices of 4096 elements and more under nearest-even rounding with a format of at most 8 bits
 * run on `@fp4lab/kernels`' WebAssembly SIMD quantizer (on its worker pool from 2^20 elements), with
 * results identical to the bit to the plain TypeScript path that runs everything else.
 *
 * @param values the matrix, rows · cols f32 values
 * @param rows number of rows (tokens for activations, output channels for weights stored [N, K])
 * @param cols number of columns (K, the reduction axis)
 * @param scheme the scheme, e.g. {@link MXFP4}, {@link NVFP4}, {@link FP4_PAPER_ACT}, or any
 *   {@link QuantScheme} object
 * @param into optional caller-owned buffers to fill instead of allocating (for loops that
 *   quantize the same shape repeatedly): `data` (rows · ceil(cols/2) bytes for 4-bit formats,
 *   rows · cols otherwise), `scales` (one f32 per group), `scaleCodes` (one byte per group)
 * @returns the packed codes, scales and shape; `clipped` counts saturated elements
 * @throws {TypeError} when `values` is not a Float32Array or `scheme` is not a scheme
 * @throws {RangeError} for a shape/length mismatch, a bad scheme field, a format wider than 8
 *   bits, a wrong-sized buffer in `into`, or NaN in `values` (naming its row)
 *
 * @example MXFP4: E2M1 codes, one E8M0 scale per 32 elements
 * ```ts
 * import { MXFP4, quantizeTensor } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const x = new Float32Array(64).map((_, i) => (i - 32) / 4);
 * const q = quantizeTensor(x, 2, 32, MXFP4);
 * assert.equal(q.data.length, 32); // 64 codes, two to a byte
 * assert.deepEqual(q.scaleCodes, new Uint8Array([128, 127]));
 * assert.deepEqual(q.scales, new Float32Array([2, 1]));
 * ```
 */
export function quantizeTensor(
  values: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
  into: QuantizeInto = {},
): QuantizedTensor {
  const prepared = prepareQuantize(values, rows, cols, scheme, into);
  const { plan, data, scales, scaleCodes } = prepared;
  if (kernelTakes(plan, values.length)) {
    const done = quantizeOnKernels(values, rows, cols, plan, { data, scales, scaleCodes });
    if (done) {
      return quantizedTensor(
        rows,
        cols,
        prepared,
        scales,
        scaleCodes,
        done.tensorScale,
        done.clipped,
      );
    }
  }
  return quantizePrepared(values, rows, cols, prepared);
}
