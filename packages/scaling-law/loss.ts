/**
 * The unified law L(N, D, E, M, B) and its parts.
 *
 * @module
 */
import { PAPER_CONSTANTS, type ScalingLawConstants } from "./constants.ts";
import { checkNonNegative, checkPositive } from "./_check.ts";

/** One training configuration as the law sees it. */
export interface TrainingRun {
  /** N, non-embedding parameters. */
  readonly params: number;
  /** D, training tokens. */
  readonly tokens: number;
  /** E, exponent bits of the quantized operands. */
  readonly exponentBits: number;
  /** M, mantissa bits of the quantized operands. */
  readonly mantissaBits: number;
  /** log2 of the block size B (0 for B = 1, `CHANNEL_LOG2_BLOCK` for channel-wise scaling). */
  readonly log2Block: number;
}

/** The law's prediction split into its terms. */
export interface LossTerms {
  /** The whole prediction L(N, D, E, M, B). */
  readonly loss: number;
  /** The unquantized (BF16) Chinchilla loss n/N^α + d/D^β + ε. */
  readonly chinchilla: number;
  /** The precision penalty ρ = (D^β/N^α)·log2 B / (γ(E+0.5)^δ(M+0.5)^ν). */
  readonly penalty: number;
  /** n/N^α. */
  readonly paramsTerm: number;
  /** d/D^β. */
  readonly tokensTerm: number;
  /** ε. */
  readonly irreducible: number;
  /** D^β/N^α, the paper's "knowledge intensity". */
  readonly knowledgeIntensity: number;
  /** log2 B / ((E+0.5)^δ(M+0.5)^ν), the paper's "information loss" of the format (before 1/γ). */
  readonly informationLoss: number;
}

/**
 * The Chinchilla part of the law, the loss of an unquantized run: `n/N^α + d/D^β + ε`.
 *
 * @param params N, non-embedding parameters (> 0).
 * @param tokens D, training tokens (> 0).
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The predicted BF16 loss.
 *
 * @example
 * ```ts
 * import { chinchillaLoss } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(chinchillaLoss(1e9, 1e12).toFixed(6), "2.462009");
 * ```
 */
export function chinchillaLoss(
  params: number,
  tokens: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("params", params);
  checkPositive("tokens", tokens);
  const c = constants;
  return c.n / params ** c.alpha + c.d / tokens ** c.beta + c.epsilon;
}

/**
 * The law's prediction with every term reported separately.
 *
 * @param run N, D, E, M and log2 B.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The loss and its parts.
 *
 * @example
 * ```ts
 * import { lossTerms } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const t = lossTerms({ params: 1e9, tokens: 1e12, exponentBits: 2, mantissaBits: 1, log2Block: 7 });
 * assert.equal(t.loss.toFixed(6), "2.577674");
 * assert.equal(t.penalty.toFixed(6), "0.115666"); // added to the full-precision 2.462009
 * ```
 */
export function lossTerms(
  run: TrainingRun,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): LossTerms {
  checkPositive("params", run.params);
  checkPositive("tokens", run.tokens);
  checkNonNegative("exponentBits", run.exponentBits);
  checkNonNegative("mantissaBits", run.mantissaBits);
  checkNonNegative("log2Block", run.log2Block);
  const c = constants;
  const paramsTerm = c.n / run.params ** c.alpha;
  const tokensTerm = c.d / run.tokens ** c.beta;
  const knowledgeIntensity = run.tokens ** c.beta / run.params ** c.alpha;
  const informationLoss = run.log2Block /
    ((run.exponentBits + 0.5) ** c.delta * (run.mantissaBits + 0.5) ** c.nu);
  const penalty = knowledgeIntensity * informationLoss / c.gamma;
  const chinchilla = paramsTerm + tokensTerm + c.epsilon;
  return {
    loss: chinchilla + penalty,
    chinchilla,
    penalty,
    paramsTerm,
    tokensTerm,
    irreducible: c.epsilon,
    knowledgeIntensity,
    informationLoss,
  };
}

/**
 * The unified law `L(N, D, E, M, B)` (paper Eq. 1). With `log2Block = 0` (B = 1, a
 * high-precision copy) it equals {@link chinchillaLoss} exactly.
 *
 * @param run N, D, E, M and log2 B.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The predicted loss.
 *
 * @example
 * ```ts
 * import { loss } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const fp8 = loss({ params: 1e9, tokens: 1e12, exponentBits: 4, mantissaBits: 3, log2Block: 7 });
 * assert.equal(fp8.toFixed(6), "2.463458");
 * ```
 */
export function loss(run: TrainingRun, constants: ScalingLawConstants = PAPER_CONSTANTS): number {
  return lossTerms(run, constants).loss;
}
