/**
 * Transposition between the math layout W[K, N] and the operand layout Wᵀ[N, K].
 *
 * @module
 */
import { checkMatrix, checkOut } from "./_resolve.ts";

/**
 * Transposes a rows × cols matrix: a weight held as W[K, N] becomes Wᵀ[N, K], the layout in which
 * `"row"` granularity is per output channel and blocks run along K.
 *
 * @param values the rows × cols matrix, row-major
 * @param rows number of rows
 * @param cols number of columns
 * @param out optional output of rows · cols floats (not the input)
 * @returns the cols × rows transpose
 * @throws {RangeError} for a shape mismatch or when `out` is `values`
 *
 * @example
 * ```ts
 * import { transpose } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const t = transpose(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3);
 * assert.deepEqual(t, new Float32Array([1, 4, 2, 5, 3, 6]));
 * ```
 */
export function transpose(
  values: Float32Array,
  rows: number,
  cols: number,
  out?: Float32Array,
): Float32Array {
  checkMatrix(values, rows, cols);
  const result = out ?? new Float32Array(values.length);
  checkOut(result, values.length);
  if (result.buffer === values.buffer && rows > 1 && cols > 1) {
    throw new RangeError("out must not share memory with values");
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) result[c * rows + r] = values[r * cols + c];
  }
  return result;
}
