/**
 * `@fp4lab/outlier-comp`: outlier clamping and compensation (OCC) of the FP4 training paper.
 *
 * `clampOutliers` clamps an activation matrix at its exact quantiles q_{1−α} and q_α (per token
 * by default, found by Floyd–Rivest selection, no sort) and returns the clamped matrix, the
 * residual ΔA = A − A_c as a CSR matrix built in the same pass, and the sparsity reached.
 * `csrMatmul` adds ΔA·W_q to the low-precision product in f32. `fidelityTable` reproduces the
 * paper's Table 1 (cosine, MSE, SNR) on any activation tensor.
 *
 * @example
 * ```ts
 * import { clampOutliers, csrMatmul, syntheticActivations } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const [tokens, k, n] = [8, 256, 4];
 * const a = syntheticActivations(tokens, k, { seed: 1 });
 * const { clamped, residual, sparsity } = clampOutliers(a, tokens, k, { alpha: 0.99 });
 * const wq = new Float32Array(n * k).fill(0.5); // W_q stored [N, K]
 * const y = new Float32Array(tokens * n); // y = Q(A_c)·W_q from the FP4 GEMM goes here
 * csrMatmul(residual, wq, n, y, true, "nt"); // y += ΔA·W_q
 * assert.equal(clamped.length, 2048);
 * assert.equal(sparsity, 4 / 256); // per token: 2 values below rank 2, 2 above rank 253
 * ```
 *
 * @module
 */
export * from "./select.ts";
export * from "./quantile.ts";
export * from "./clamp.ts";
export * from "./csr.ts";
export * from "./fidelity.ts";
export * from "./synthetic.ts";
export type { FloatFormat, Rounding, Specials } from "@fp4lab/fp4-format";
