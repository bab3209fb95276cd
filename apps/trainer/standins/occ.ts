/**
 * TEMPORARY STAND-IN for `@fp4lab/outlier-comp`'s `clampOutliers` (helper branch `dge`),
 * deleted when that package lands on main.
 *
 * @module
 */

/**
 * Two-sided quantile clamp per row (or per tensor): values below the ⌊(1−α)·C⌋-th or above the
 * ⌊α·C⌋-th order statistic are set to it (the released code's per-token rule).
 *
 * @param values [rows, cols] input
 * @param rows row count
 * @param cols row length
 * @param alpha upper quantile (0.99)
 * @param scope "row" or "tensor"
 * @param clamped output [rows, cols]
 * @returns the number of entries changed
 * @example
 * ```ts
 * import { clampOutliersInto } from "./occ.ts";
 * const out = new Float32Array(4);
 * console.log(clampOutliersInto(new Float32Array([9, 1, 2, -9]), 1, 4, 0.7, "row", out), out);
 * // 2 Float32Array [2, 1, 2, 1]
 * ```
 */
export function clampOutliersInto(
  values: Float32Array,
  rows: number,
  cols: number,
  alpha: number,
  scope: "row" | "tensor",
  clamped: Float32Array,
): number {
  const n = scope === "row" ? cols : rows * cols;
  const groups = scope === "row" ? rows : 1;
  const sorted = new Float32Array(n);
  const loIdx = Math.floor((1 - alpha) * n), hiIdx = Math.min(n - 1, Math.floor(alpha * n));
  let changed = 0;
  for (let g = 0; g < groups; g++) {
    const row = values.subarray(g * n, g * n + n);
    sorted.set(row);
    sorted.sort();
    const lo = sorted[loIdx], hi = sorted[hiIdx];
    for (let i = 0; i < n; i++) {
      const v = row[i];
      const c = v < lo ? lo : v > hi ? hi : v;
      if (c !== v) changed++;
      clamped[g * n + i] = c;
    }
  }
  return changed;
}
