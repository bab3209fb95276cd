/**
 * Gradient clipping by global norm.
 *
 * @module
 */
import { checkFiniteIn, checkTensorList } from "./_check.ts";

/**
 * The global L2 norm of all gradients, √(Σ g²) accumulated in f64. Infinite or NaN when any
 * gradient is: a cheap overflow check.
 *
 * @param grads the gradient tensors
 * @returns the norm
 * @throws {TypeError} when `grads` is not an array of Float32Array
 *
 * @example
 * ```ts
 * import { gradNorm } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * assert.equal(gradNorm([new Float32Array([3]), new Float32Array([4])]), 5);
 * ```
 */
export function gradNorm(grads: readonly Float32Array[]): number {
  checkTensorList("grads", grads);
  let sum = 0;
  for (const g of grads) {
    for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  }
  return Math.sqrt(sum);
}

/**
 * Scales all gradients in place by `maxNorm / (norm + 1e-6)` when their global norm exceeds
 * `maxNorm` (PyTorch's `clip_grad_norm_`); leaves them alone when the norm is within bounds or
 * not finite (the loss scaler then skips the step).
 *
 * @param grads the gradient tensors, scaled in place
 * @param maxNorm the largest allowed global norm, finite and > 0
 * @returns the global norm before clipping
 * @throws {TypeError} when `grads` is not an array of Float32Array
 * @throws {RangeError} for a non-finite or non-positive `maxNorm`
 *
 * @example
 * ```ts
 * import { clipGradNorm, gradNorm } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const g = [new Float32Array([3, 4])];
 * assert.equal(clipGradNorm(g, 1), 5); // the norm before clipping
 * assert.ok(Math.abs(gradNorm(g) - 1) < 1e-6); // 0.9999998 after, in f32
 * ```
 */
export function clipGradNorm(grads: Float32Array[], maxNorm: number): number {
  checkFiniteIn("maxNorm", maxNorm, 0, Number.MAX_VALUE, { openLow: true });
  const norm = gradNorm(grads);
  if (Number.isFinite(norm) && norm > maxNorm) {
    const factor = maxNorm / (norm + 1e-6);
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) g[i] *= factor;
    }
  }
  return norm;
}
