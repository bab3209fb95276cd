/**
 * `@fp4lab/dge`: the differentiable gradient estimator (DGE) of the FP4 training paper, with the
 * straight-through baselines in the same API.
 *
 * The forward pass keeps the hard quantizer. The backward pass multiplies the weight gradient by
 * the derivative of a smooth surrogate of the quantizer, evaluated on the scaled weight (grid
 * units), interval by interval over the format's grid: `dgeFactor` (k = 5, cap 3.0 by default),
 * `steFactor`, `clippedSteFactor`; `applyGradientFactor` does it in one pass and returns the mean
 * factor and the fraction capped. `dgeSurrogate` is the surrogate itself, `gridPoints` the grid.
 *
 * @example
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { applyGradientFactor, dgeFactor } from "@fp4lab/dge";
 * import assert from "node:assert/strict";
 * const scaled = new Float32Array([0, 0.7, 1.25, 4.5]); // W / scale, in [-6, 6]
 * const factor = Array.from(dgeFactor(scaled, E2M1), (v) => +v.toFixed(3));
 * assert.deepEqual(factor, [0.2, 0.725, 3, 0.348]); // ≈, to 3 decimals
 * const grad = new Float32Array([1, 1, 1, 1]); // dL/dW_q from the weight-gradient GEMM
 * const { meanFactor, cappedFraction } = applyGradientFactor(grad, scaled, E2M1, { out: grad });
 * assert.equal(meanFactor.toFixed(3), "1.068");
 * assert.equal(cappedFraction, 0.25);
 * ```
 *
 * @module
 */
export * from "./grid.ts";
export * from "./factor.ts";
export * from "./surrogate.ts";
export * from "./apply.ts";
export type { FloatFormat, Specials } from "@fp4lab/fp4-format";
