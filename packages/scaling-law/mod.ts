/**
 * `@fp4lab/scaling-law`: the floating-point quantization training scaling law of Sun et al.
 * (arXiv 2501.02423, ICML 2025) as pure functions. The constants are a plain object parameter,
 * the paper's Table 2 by default.
 *
 * `L(N, D, E, M, B) = n/N^α + d/D^β + ε + (D^β/N^α)·log2 B / (γ(E+0.5)^δ(M+0.5)^ν)`:
 * `loss` / `lossTerms`, the critical data size `criticalTokens`, the best ExMy per bit budget
 * `optimalLayout`, the compute-optimal precision `computeOptimal` (closed forms) beside
 * `numericComputeOptimal` (search, their cross-check), the precision/parameter `tradeoff`, and
 * `fitConstants` (Levenberg-Marquardt on the log-loss, optional Huber, bootstrap intervals).
 *
 * @example
 * ```ts
 * import { computeOptimal, criticalTokens, optimalLayout, resolveBlock } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const log2Block = resolveBlock(128);
 * assert.ok(criticalTokens({ params: 1e9, exponentBits: 4, mantissaBits: 3, log2Block }) > 2.7e13);
 * assert.equal(optimalLayout(4).name, "E2M1");
 * assert.equal(computeOptimal(1e24, { log2Block }).precision.toFixed(2), "5.01");
 * ```
 *
 * @module
 */
export * from "./constants.ts";
export * from "./names.ts";
export * from "./loss.ts";
export * from "./critical.ts";
export * from "./layout.ts";
export * from "./optimise.ts";
export * from "./compute.ts";
export * from "./tradeoff.ts";
export * from "./runs.ts";
export * from "./fit.ts";
