/**
 * The precision/parameter trade-off under a fixed compute budget (paper Eq. 24):
 * `P_opt^(δ+ν+2β) · N^(α+2β) = γ_N·(C/k)^(2β)·log2 B`, the same for every N.
 *
 * @module
 */
import { PAPER_COMPUTE_FACTOR, PAPER_CONSTANTS, type ScalingLawConstants } from "./constants.ts";
import { checkPositive } from "./_check.ts";
import { derivedConstants, lossAtOptimalSplit, optimalPrecisionForParams } from "./compute.ts";

/** One row of the trade-off: a model size and its compute-optimal precision. */
export interface TradeoffRow {
  /** N. */
  readonly params: number;
  /** P_opt(N) at the budget, real. */
  readonly precision: number;
  /** D = C/(k·P·N). */
  readonly tokens: number;
  /** The loss at the optimal split. */
  readonly loss: number;
  /** P^(δ+ν+2β)·N^(α+2β): equal to {@link tradeoffConstant} on every row. */
  readonly invariant: number;
}

/**
 * The right-hand side of the trade-off, `γ_N·(C/k)^(2β)·log2 B`.
 *
 * @param compute C, FLOPs.
 * @param log2Block log2 B (> 0).
 * @param k k of C = k·P·N·D; default 6/16.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The invariant's value for this budget.
 *
 * @example
 * ```ts
 * import { tradeoffConstant } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.ok(tradeoffConstant(1e23, 7) > 0);
 * ```
 */
export function tradeoffConstant(
  compute: number,
  log2Block: number,
  k: number = PAPER_COMPUTE_FACTOR,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("compute", compute);
  checkPositive("log2Block", log2Block);
  checkPositive("k", k);
  return derivedConstants(constants).gammaN * (compute / k) ** (2 * constants.beta) * log2Block;
}

/**
 * The trade-off table: for each model size, the compute-optimal precision at the budget (the
 * fixed-N optimum), the tokens that leaves, the loss, and the invariant.
 *
 * @param compute C, FLOPs.
 * @param params The model sizes to tabulate.
 * @param log2Block log2 B (> 0).
 * @param k k of C = k·P·N·D; default 6/16.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns One row per model size.
 *
 * @example
 * ```ts
 * import { tradeoff } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const [small, big] = tradeoff(1e23, [1e9, 2e9], 7);
 * // twice the parameters at the same compute: fewer bits each
 * assert.equal((big.precision / small.precision).toFixed(3), "0.885");
 * ```
 */
export function tradeoff(
  compute: number,
  params: readonly number[],
  log2Block: number,
  k: number = PAPER_COMPUTE_FACTOR,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): TradeoffRow[] {
  const c = constants;
  const { deltaPlusNu } = derivedConstants(c);
  return params.map((n) => {
    const p = optimalPrecisionForParams(n, compute, log2Block, k, c);
    const d = compute / (k * p * n);
    return {
      params: n,
      precision: p,
      tokens: d,
      loss: lossAtOptimalSplit(n, d, p, log2Block, c),
      invariant: p ** (deltaPlusNu + 2 * c.beta) * n ** (c.alpha + 2 * c.beta),
    };
  });
}

/**
 * How many parameters one bit is worth along the trade-off: moving the optimum from P + 1 to P
 * bits at the same budget multiplies N by `((P+1)/P)^((δ+ν+2β)/(α+2β))`.
 *
 * @param precision P (> 0).
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The factor on N that one bit less of precision buys.
 *
 * @example
 * ```ts
 * import { paramsPerBit } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(paramsPerBit(4).toFixed(2), "3.53");
 * ```
 */
export function paramsPerBit(
  precision: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("precision", precision);
  const { deltaPlusNu } = derivedConstants(constants);
  const c = constants;
  return ((precision + 1) / precision) ** ((deltaPlusNu + 2 * c.beta) / (c.alpha + 2 * c.beta));
}

/**
 * The effective-parameter view (paper App. C, Eq. 38-39): at fixed D and B, when the penalty
 * dominates, one more bit multiplies the effective parameter count by `((P+1)/P)^((δ+ν)/α)`.
 *
 * @param precision P (> 0).
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The factor on N_eff that one more bit gives.
 *
 * @example
 * ```ts
 * import { effectiveParamsPerBit } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.ok(effectiveParamsPerBit(4) > 300);
 * ```
 */
export function effectiveParamsPerBit(
  precision: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("precision", precision);
  const { deltaPlusNu } = derivedConstants(constants);
  return ((precision + 1) / precision) ** (deltaPlusNu / constants.alpha);
}
