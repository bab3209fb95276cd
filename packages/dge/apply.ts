/**
 * Applying a correction factor to a weight gradient in one fused pass, with the two statistics a
 * trainer logs: the mean factor and the fraction of weights whose factor hit the cap.
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

/** The weight-gradient estimators: DGE and the two straight-through baselines. */
export type Estimator = "dge" | "ste" | "clipped-ste";

/** Options of {@link applyGradientFactor}. */
export interface ApplyFactorOptions extends FactorOptions {
  /** Which factor to apply; default `"dge"`. */
  estimator?: Estimator;
  /** Output buffer of the gradient's length (may be the gradient itself: in place). */
  out?: FloatArray;
}

/** What {@link applyGradientFactor} returns. */
export interface AppliedFactor {
  /** ∂L/∂W = ∂L/∂W_q ⊙ factor(W_scaled): `options.out` or a new array. */
  gradient: FloatArray;
  /** Mean factor over all weights (after the cap); 1 for STE; 0 for an empty tensor. */
  meanFactor: number;
  /** Fraction of weights whose DGE factor exceeded the cap; 0 for STE, clipped STE, no cap. */
  cappedFraction: number;
}

/**
 * Turns the gradient with respect to the quantized weight, ∂L/∂W_q (the weight-gradient GEMM's
 * output), into the gradient with respect to the weight: ∂L/∂W = ∂L/∂W_q ⊙ factor(W_scaled),
 * with the factor of {@link Estimator} evaluated on the scaled weights saved by the forward pass
 * (grid units, W / scale per output channel). The per-channel scale cancels (the FP4 paper's
 * App. C.2), so nothing else is needed. One pass, no factor array allocated.
 *
 * @param gradient ∂L/∂W_q, same length and element order as `scaledWeights`
 * @param scaledWeights the weights in grid units from the forward pass
 * @param format the element format the forward pass quantized to (e.g. `E2M1`)
 * @param options `estimator` (default `"dge"`), `k` (default 5), `cap` (default 3.0), `out`
 * @returns the weight gradient, the mean factor and the fraction capped
 * @throws {TypeError} when an array is not a Float32Array or Float64Array
 * @throws {RangeError} for k ≤ 1, cap ≤ 0, an unknown estimator, a length mismatch or a NaN
 *   scaled weight
 *
 * @example In place, as a trainer's backward pass does
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { applyGradientFactor } from "@fp4lab/dge";
 * import assert from "node:assert/strict";
 * const scaled = new Float32Array([0, 1.25, 3.5, 6]);
 * const grad = new Float32Array([1, 1, -2, 0.5]);
 * const { meanFactor, cappedFraction } = applyGradientFactor(grad, scaled, E2M1, { out: grad });
 * assert.deepEqual(grad, new Float32Array([0.2, 3, -6, 0.1]));
 * assert.equal(meanFactor, 1.6);
 * assert.equal(cappedFraction, 0.5);
 * ```
 */
export function applyGradientFactor(
  gradient: FloatArray,
  scaledWeights: FloatArray,
  format: FloatFormat,
  options: ApplyFactorOptions = {},
): AppliedFactor {
  checkFloatArray("gradient", gradient);
  checkFloatArray("scaledWeights", scaledWeights);
  const { k, cap } = checkFactorOptions(options);
  const n = gradient.length;
  if (scaledWeights.length !== n) {
    throw new RangeError(
      `scaledWeights must have the gradient's length ${n}, got ${scaledWeights.length}`,
    );
  }
  const out = outputFor(gradient, options.out, "options.out");
  const estimator = options.estimator ?? "dge";
  const plan = intervalPlan(format);
  let sum = 0;
  let capped = 0;
  if (estimator === "dge") {
    const { mid, invHalf, loTolerant, hiTolerant, lo, invCell } = plan;
    const cells = plan.cells;
    const lastCell = cells === null ? 0 : cells.length - 1;
    const invK = 1 / k;
    const exponent = 1 / k - 1;
    for (let i = 0; i < n; i++) {
      const x = scaledWeights[i];
      let factor = 0;
      if (x >= loTolerant && x <= hiTolerant) {
        // The cell lookup of intervalOf, inlined: this loop is the whole cost of DGE.
        let j: number;
        if (cells !== null) {
          const c = Math.floor((x - lo) * invCell);
          j = cells[c < 0 ? 0 : c > lastCell ? lastCell : c];
        } else {
          j = intervalOf(plan, x);
        }
        factor = invK * (Math.abs(x - mid[j]) * invHalf[j]) ** exponent;
        if (factor > cap) {
          factor = cap;
          capped++;
        }
      } else if (x !== x) {
        throw nanError("scaledWeights", i);
      }
      sum += factor;
      out[i] = gradient[i] * factor;
    }
  } else if (estimator === "ste") {
    for (let i = 0; i < n; i++) {
      if (scaledWeights[i] !== scaledWeights[i]) throw nanError("scaledWeights", i);
      out[i] = gradient[i];
    }
    sum = n;
  } else if (estimator === "clipped-ste") {
    const { loTolerant, hiTolerant } = plan;
    for (let i = 0; i < n; i++) {
      const x = scaledWeights[i];
      if (x !== x) throw nanError("scaledWeights", i);
      const inside = x >= loTolerant && x <= hiTolerant;
      out[i] = inside ? gradient[i] : 0;
      if (inside) sum++;
    }
  } else {
    throw new RangeError(
      `options.estimator must be "dge", "ste" or "clipped-ste", got ${estimator}`,
    );
  }
  return {
    gradient: out,
    meanFactor: n === 0 ? 0 : sum / n,
    cappedFraction: n === 0 ? 0 : capped / n,
  };
}
