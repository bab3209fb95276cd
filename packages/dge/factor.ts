/**
 * Gradient correction factors for a quantized weight, evaluated on the scaled weight (in grid
 * units): the DGE derivative and the two straight-through baselines, all with one signature.
 *
 * @module
 */
import type { FloatFormat } from "@fp4lab/fp4-format";
import {
  checkFactorOptions,
  checkFloatArray,
  type FactorOptions,
  type FloatArray,
  intervalOf,
  intervalPlan,
  nanError,
  outputFor,
} from "./_plan.ts";

export type { FactorOptions, FloatArray } from "./_plan.ts";

/**
 * The DGE correction factor (the FP4 paper's Eq. 8): the derivative of the smooth surrogate of
 * the hard quantizer, capped. For a scaled weight x in the grid interval [g_i, g_{i+1}) of width
 * δ, with u = |2(x − g_i)/δ − 1|:
 *
 *   f′(x) = min(cap, (1/k) · u^(1/k − 1))
 *
 * so the factor is 1/k at grid points, grows toward the interval midpoint (the rounding
 * threshold), and averages to 1 over an interval before the cap. The intervals come from the
 * format's code table, so any ExMy works. `scaledWeights` are in grid units: the weight divided
 * by its (per-channel) dequantization scale, so that |x| ≤ maxNormal. Values past ±maxNormal
 * (more than a relative 2^-20 of f32 rounding slack) are clipped by the saturating quantizer and
 * get factor 0.
 *
 * @param scaledWeights weights in grid units (W / scale)
 * @param format the element format whose grid the quantizer rounds to (e.g. `E2M1`)
 * @param options `k` (> 1, default 5) and `cap` (> 0, default 3.0; `Infinity` for no cap)
 * @param out optional output of the same length (may be `scaledWeights` itself)
 * @returns `out`, or a new array of the input's type, holding one factor per weight
 * @throws {TypeError} when an array is not a Float32Array or Float64Array
 * @throws {RangeError} for k ≤ 1, cap ≤ 0, a NaN weight (naming its index) or a wrong-length `out`
 *
 * @example The paper's settings on the FP4 grid
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { dgeFactor } from "@fp4lab/dge";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([0, 1, 1.25, 1.4, 5]);
 * const factor = Array.from(dgeFactor(x, E2M1), (v) => +v.toFixed(3));
 * assert.deepEqual(factor, [0.2, 0.2, 3, 0.301, 3]); // 1/k on the grid, capped mid-way
 * ```
 */
export function dgeFactor(
  scaledWeights: FloatArray,
  format: FloatFormat,
  options: FactorOptions = {},
  out?: FloatArray,
): FloatArray {
  checkFloatArray("scaledWeights", scaledWeights);
  const { k, cap } = checkFactorOptions(options);
  const result = outputFor(scaledWeights, out);
  const plan = intervalPlan(format);
  const { mid, invHalf } = plan;
  const invK = 1 / k;
  const exponent = 1 / k - 1;
  for (let i = 0; i < scaledWeights.length; i++) {
    const x = scaledWeights[i];
    const j = intervalOf(plan, x);
    if (j < 0) {
      if (x !== x) throw nanError("scaledWeights", i);
      result[i] = 0;
      continue;
    }
    // u = |x − mid| / (δ/2); u = 0 gives Infinity, which the cap (if any) bounds.
    const factor = invK * (Math.abs(x - mid[j]) * invHalf[j]) ** exponent;
    result[i] = factor > cap ? cap : factor;
  }
  return result;
}

/**
 * The straight-through estimator as a factor: 1 for every weight, the quantizer treated as the
 * identity in the backward pass. Same signature as {@link dgeFactor} so a recipe can switch.
 *
 * @param scaledWeights weights in grid units (only checked for NaN; the factor ignores them)
 * @param format the element format (unused by STE, kept for a uniform signature)
 * @param options unused (kept for a uniform signature)
 * @param out optional output of the same length
 * @returns `out`, or a new array, filled with 1
 * @throws {TypeError} when an array is not a Float32Array or Float64Array
 * @throws {RangeError} for a NaN weight or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { steFactor } from "@fp4lab/dge";
 * import assert from "node:assert/strict";
 * assert.deepEqual(steFactor(new Float32Array([0.3, 7]), E2M1), new Float32Array([1, 1]));
 * ```
 */
export function steFactor(
  scaledWeights: FloatArray,
  format: FloatFormat,
  options: FactorOptions = {},
  out?: FloatArray,
): FloatArray {
  checkFloatArray("scaledWeights", scaledWeights);
  void format;
  void options;
  const result = outputFor(scaledWeights, out);
  for (let i = 0; i < scaledWeights.length; i++) {
    const x = scaledWeights[i];
    if (x !== x) throw nanError("scaledWeights", i);
    result[i] = 1;
  }
  return result;
}

/**
 * The clipped straight-through estimator: 1 inside the format's range [−maxNormal, maxNormal]
 * (where the quantizer follows its input on average), 0 beyond it (where the saturating
 * quantizer is constant). Same signature as {@link dgeFactor}.
 *
 * @param scaledWeights weights in grid units (W / scale)
 * @param format the element format (its range bounds the pass-through region)
 * @param options unused (kept for a uniform signature)
 * @param out optional output of the same length
 * @returns `out`, or a new array, holding 1 or 0 per weight
 * @throws {TypeError} when an array is not a Float32Array or Float64Array
 * @throws {RangeError} for a NaN weight or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { clippedSteFactor } from "@fp4lab/dge";
 * import assert from "node:assert/strict";
 * const factor = clippedSteFactor(new Float32Array([-6, 2.2, 6.5]), E2M1);
 * assert.deepEqual(factor, new Float32Array([1, 1, 0])); // zero past ±maxNormal
 * ```
 */
export function clippedSteFactor(
  scaledWeights: FloatArray,
  format: FloatFormat,
  options: FactorOptions = {},
  out?: FloatArray,
): FloatArray {
  checkFloatArray("scaledWeights", scaledWeights);
  void options;
  const result = outputFor(scaledWeights, out);
  const { loTolerant, hiTolerant } = intervalPlan(format);
  for (let i = 0; i < scaledWeights.length; i++) {
    const x = scaledWeights[i];
    if (x !== x) throw nanError("scaledWeights", i);
    result[i] = x >= loTolerant && x <= hiTolerant ? 1 : 0;
  }
  return result;
}
