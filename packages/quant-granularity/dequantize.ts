/**
 * Dequantization of a {@link QuantizedTensor}.
 *
 * @module
 */
import { codeTable } from "@fp4lab/fp4-format";
import { checkOut, checkPositiveInteger } from "./_resolve.ts";
import type { QuantizedTensor } from "./types.ts";

/**
 * Turns a quantized matrix back into f32 values, in f32 arithmetic and this order:
 * `(decode(code) · scales[group]) / tensorScale`.
 *
 * @param q the quantized matrix (from {@link quantizeTensor} or a checkpoint decoder)
 * @param out output buffer of rows · cols floats; default a new array
 * @returns `out`, holding the values
 * @throws {RangeError} when `q`'s data or scales do not match its shape and groups, or `out`
 *   has the wrong length
 *
 * @example
 * ```ts
 * import { dequantize, NVFP4, quantizeTensor } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const w = new Float32Array([0.5, -1, 2, 6, 0, 3, 1.5, -4, 0.5, -1, 2, 6, 0, 3, 1.5, -4]);
 * const back = dequantize(quantizeTensor(w, 1, 16, NVFP4));
 * assert.deepEqual(back, w); // E2M1 values come back exactly
 * ```
 */
export function dequantize(q: QuantizedTensor, out?: Float32Array): Float32Array {
  const [rows, cols] = q.shape;
  checkPositiveInteger("q.shape[0]", rows);
  checkPositiveInteger("q.shape[1]", cols);
  checkPositiveInteger("q.blockRows", q.blockRows);
  checkPositiveInteger("q.blockCols", q.blockCols);
  const format = q.format;
  if (format.bits > 8) {
    throw new RangeError(`q.format must have at most 8 bits, got ${format.name}`);
  }
  const nibbles = format.bits === 4;
  const rowBytes = nibbles ? (cols + 1) >> 1 : cols;
  if (q.data.length !== rows * rowBytes) {
    throw new RangeError(
      `q.data must have ${
        rows * rowBytes
      } bytes for shape [${rows}, ${cols}] of ${format.name}, got ${q.data.length}`,
    );
  }
  const groupCols = Math.ceil(cols / q.blockCols);
  const groups = Math.ceil(rows / q.blockRows) * groupCols;
  if (q.scales.length !== groups) {
    throw new RangeError(
      `q.scales must have ${groups} entries for ${q.blockRows}x${q.blockCols} groups, got ${q.scales.length}`,
    );
  }
  const tensorScale = q.tensorScale;
  if (!Number.isFinite(tensorScale) || tensorScale === 0) {
    throw new RangeError(`q.tensorScale must be finite and non-zero, got ${tensorScale}`);
  }
  const result = out ?? new Float32Array(rows * cols);
  checkOut(result, rows * cols);
  const table = codeTable(format);
  const limit = table.length;
  const { data, scales, blockRows, blockCols } = q;
  for (let r = 0; r < rows; r++) {
    const gBase = Math.floor(r / blockRows) * groupCols;
    const xBase = r * cols;
    const bBase = r * rowBytes;
    for (let gc = 0, c0 = 0; c0 < cols; gc++, c0 += blockCols) {
      const c1 = Math.min(cols, c0 + blockCols);
      const s = scales[gBase + gc];
      for (let c = c0; c < c1; c++) {
        const code = nibbles ? (data[bBase + (c >> 1)] >> ((c & 1) << 2)) & 15 : data[bBase + c];
        if (code >= limit) {
          throw new RangeError(
            `q.data code at row ${r}, column ${c} is ${code}, not a ${format.name} code`,
          );
        }
        result[xBase + c] = tensorScale === 1
          ? table[code] * s
          : Math.fround(table[code] * s) / tensorScale;
      }
    }
  }
  return result;
}
