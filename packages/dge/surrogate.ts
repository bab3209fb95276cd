/**
 * The smooth surrogate of the hard quantizer that DGE differentiates (the FP4 paper's Eq. 7).
 *
 * @module
 */
import type { FloatFormat } from "@fp4lab/fp4-format";
import {
  checkFactorOptions,
  checkFloatArray,
  type FloatArray,
  intervalOf,
  intervalPlan,
  nanError,
  outputFor,
} from "./_plan.ts";

/**
 * The DGE surrogate f of the hard quantizer, in grid units. On the grid interval [g_i, g_{i+1})
 * of width δ, with x measured from g_i:
 *
 *   f(x) = g_i + (δ/2) · [1 + sign(2x/δ − 1) · |2x/δ − 1|^(1/k)]
 *
 * f maps each interval onto itself (f(g_i) = g_i, f(midpoint) = midpoint), is continuous and
 * increasing, and tends to hard rounding as k grows. Its derivative is `dgeFactor` before the
 * cap. The forward pass of DGE still uses the hard quantizer: this function exists for
 * analysis, plots and gradient checks. Values past ±maxNormal saturate to ±maxNormal, as the
 * saturating quantizer does.
 *
 * @param scaledWeights weights in grid units (W / scale)
 * @param format the element format whose grid defines the intervals
 * @param options `k` (> 1, default 5); `cap` is checked but does not change f
 * @param out optional output of the same length (may be `scaledWeights` itself)
 * @returns `out`, or a new array of the input's type, holding f(x) per weight
 * @throws {TypeError} when an array is not a Float32Array or Float64Array
 * @throws {RangeError} for k ≤ 1, a NaN weight (naming its index) or a wrong-length `out`
 *
 * @example f fixes grid points and midpoints, and pulls other values toward the grid
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { dgeSurrogate } from "@fp4lab/dge";
 * import assert from "node:assert/strict";
 * const f = dgeSurrogate(new Float64Array([2, 2.5, 2.9, 7]), E2M1, { k: 5 });
 * assert.deepEqual(Array.from(f, (v) => +v.toFixed(3)), [2, 2.5, 2.978, 6]); // ≈, to 3 decimals
 * ```
 */
export function dgeSurrogate(
  scaledWeights: FloatArray,
  format: FloatFormat,
  options: { k?: number; cap?: number } = {},
  out?: FloatArray,
): FloatArray {
  checkFloatArray("scaledWeights", scaledWeights);
  const { k } = checkFactorOptions(options);
  const result = outputFor(scaledWeights, out);
  const plan = intervalPlan(format);
  const { mid, half, invHalf, lo, hi } = plan;
  const invK = 1 / k;
  for (let i = 0; i < scaledWeights.length; i++) {
    const raw = scaledWeights[i];
    const j = intervalOf(plan, raw);
    if (j < 0) {
      if (raw !== raw) throw nanError("scaledWeights", i);
      result[i] = raw > 0 ? hi : lo;
      continue;
    }
    const x = raw > hi ? hi : raw < lo ? lo : raw;
    const d = x - mid[j];
    const u = Math.abs(d) * invHalf[j];
    const step = half[j] * u ** invK;
    result[i] = d < 0 ? mid[j] - step : mid[j] + step;
  }
  return result;
}
