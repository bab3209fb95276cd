/**
 * The grid of a format: its distinct finite values in increasing order, read from the format's
 * code table. DGE works interval by interval over this grid.
 *
 * @module
 */
import { codeTable, type FloatFormat } from "@fp4lab/fp4-format";

const grids = new WeakMap<FloatFormat, Float64Array>();

/**
 * The distinct finite values of `format` in increasing order (±0 counted once), taken from
 * `codeTable(format)`: for E2M1 the 15 points −6, −4, −3, −2, −1.5, −1, −0.5, 0, 0.5, …, 6, which
 * bound its 14 quantization intervals. Works for any ExMy of at most 16 bits.
 *
 * @param format the element format (e.g. `E2M1`, `E3M2`, or any `floatFormat(e, m)`)
 * @returns a shared read-only array of the grid points (copy it before writing)
 * @throws {RangeError} when the format is wider than 16 bits or has fewer than two grid points
 *
 * @example The FP4 grid
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { gridPoints } from "@fp4lab/dge";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   Array.from(gridPoints(E2M1)),
 *   [-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6],
 * );
 * ```
 */
export function gridPoints(format: FloatFormat): Float64Array {
  let grid = grids.get(format);
  if (grid) return grid;
  const table = codeTable(format);
  const finite: number[] = [];
  for (const value of table) if (Number.isFinite(value)) finite.push(value === 0 ? 0 : value);
  const sorted = Array.from(new Set(finite)).sort((a, b) => a - b);
  if (sorted.length < 2) {
    throw new RangeError(`format ${format.name} must have at least two finite values for DGE`);
  }
  grid = Float64Array.from(sorted);
  grids.set(format, grid);
  return grid;
}
