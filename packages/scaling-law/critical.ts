/**
 * Critical data size: the token count past which more data raises the loss.
 *
 * @module
 */
import { PAPER_CONSTANTS, type ScalingLawConstants } from "./constants.ts";
import { checkNonNegative, checkPositive } from "./_check.ts";

/** What the critical data size depends on: a run without its token count. */
export interface ModelAndFormat {
  /** N, non-embedding parameters. */
  readonly params: number;
  /** E, exponent bits. */
  readonly exponentBits: number;
  /** M, mantissa bits. */
  readonly mantissaBits: number;
  /** log2 B. */
  readonly log2Block: number;
}

/**
 * The critical data size (paper §4.3, App. D), where ∂L/∂D = 0:
 * `D_crit = [d·γ·N^α·(E+0.5)^δ·(M+0.5)^ν / log2 B]^(1/(2β))`. The loss falls for D < D_crit
 * and rises beyond. Infinite when log2 B = 0 (no quantization penalty).
 *
 * @param model N, E, M and log2 B.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns D_crit in tokens.
 *
 * @example
 * ```ts
 * import { criticalTokens } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const fp4 = criticalTokens({ params: 1e9, exponentBits: 2, mantissaBits: 1, log2Block: 7 });
 * assert.equal((fp4 / 1e12).toFixed(2), "0.39"); // 0.39 T tokens
 * ```
 */
export function criticalTokens(
  model: ModelAndFormat,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("params", model.params);
  checkNonNegative("exponentBits", model.exponentBits);
  checkNonNegative("mantissaBits", model.mantissaBits);
  checkNonNegative("log2Block", model.log2Block);
  if (model.log2Block === 0) return Infinity;
  const c = constants;
  const inner = c.d * c.gamma * model.params ** c.alpha *
    (model.exponentBits + 0.5) ** c.delta * (model.mantissaBits + 0.5) ** c.nu / model.log2Block;
  return inner ** (1 / (2 * c.beta));
}

/**
 * ∂L/∂D of the unified law, in closed form: `−β·d·D^(−β−1) + β·D^(β−1)·N^(−α)·log2 B /
 * (γ(E+0.5)^δ(M+0.5)^ν)`. Negative below the critical data size, positive above it.
 *
 * @param model N, E, M and log2 B.
 * @param tokens D (> 0).
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The slope of the loss in tokens (loss per token).
 *
 * @example
 * ```ts
 * import { lossSlopeInTokens } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const m = { params: 1e9, exponentBits: 2, mantissaBits: 1, log2Block: 7 };
 * assert.ok(lossSlopeInTokens(m, 1e11) < 0); // more data still helps
 * assert.ok(lossSlopeInTokens(m, 1e13) > 0); // past the critical size it hurts
 * ```
 */
export function lossSlopeInTokens(
  model: ModelAndFormat,
  tokens: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("tokens", tokens);
  const c = constants;
  const info = model.log2Block /
    ((model.exponentBits + 0.5) ** c.delta * (model.mantissaBits + 0.5) ** c.nu);
  return -c.beta * c.d * tokens ** (-c.beta - 1) +
    c.beta * tokens ** (c.beta - 1) * info / (c.gamma * model.params ** c.alpha);
}
