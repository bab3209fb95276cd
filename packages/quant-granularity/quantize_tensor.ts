/**
 * The one entry point that quantizes a matrix under any scheme.
 *
 * @module
 */
import { checkMatrix, resolveScheme } from "./_resolve.ts";
import { computeScales, groupAmax } from "./_scales.ts";
import { runQuantization } from "./_run.ts";
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

function checkBuffer<T extends Uint8Array | Float32Array>(
  name: string,
  buffer: T | undefined,
  type: { new (n: number): T; name: string },
  length: number,
): T {
  if (buffer === undefined) return new type(length);
  if (!(buffer instanceof type)) throw new TypeError(`${name} must be a ${type.name}`);
  if (buffer.length !== length) {
    throw new RangeError(`${name} must have length ${length}, got ${buffer.length}`);
  }
  return buffer;
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
  checkMatrix(values, rows, cols);
  const plan = resolveScheme(scheme, rows, cols);
  if (plan.format.bits > 8) {
    throw new RangeError(
      `scheme.format must have at most 8 bits to be stored as codes, got ${plan.format.name} (${plan.format.bits} bits); use fakeQuant`,
    );
  }
  const groups = plan.groupRows * plan.groupCols;
  const rowBytes = plan.format.bits === 4 ? (cols + 1) >> 1 : cols;
  const data = checkBuffer("into.data", into.data, Uint8Array, rows * rowBytes);
  const scales = checkBuffer("into.scales", into.scales, Float32Array, groups);
  const scaleCodes = plan.scaleFormat === "f32"
    ? undefined
    : checkBuffer("into.scaleCodes", into.scaleCodes, Uint8Array, groups);
  // NVFP4 needs a second f32 array per group (enc_b beside the scales); the others compute their
  // scales in place over the amax.
  const nvfp4 = plan.scaleRule === "nvfp4";
  const amax = groupAmax(values, rows, cols, plan, nvfp4 ? undefined : scales);
  const group = computeScales(amax, plan, values, cols, {
    scaleCodes,
    spare: nvfp4 ? scales : undefined,
  });
  const clipped = runQuantization(values, rows, cols, plan, group, { data });
  const result: QuantizedTensor = {
    shape: [rows, cols],
    format: plan.format,
    data,
    blockRows: plan.blockRows,
    blockCols: plan.blockCols,
    scales: group.scales,
    tensorScale: group.tensorScale,
    scaleFormat: plan.scaleFormat,
    scheme: plan.name,
    clipped,
  };
  return group.scaleCodes ? { ...result, scaleCodes: group.scaleCodes } : result;
}
