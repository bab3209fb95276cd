/**
 * Compute-optimal precision (paper §4.4, App. E): the cost model C = k·P·N·D and the optima at
 * fixed data, at fixed model size, and jointly over N, D and P.
 *
 * @module
 */
import { PAPER_COMPUTE_FACTOR, PAPER_CONSTANTS, type ScalingLawConstants } from "./constants.ts";
import { checkNonNegative, checkPositive } from "./_check.ts";
import { formatFactor, optimalLayout } from "./layout.ts";
import type { Layout } from "./names.ts";
import { minimizeScalar } from "./optimise.ts";

/** Constants derived from the law's eight, named as in the paper (arXiv 2501.02423). */
export interface DerivedConstants {
  /** δ + ν. */
  readonly deltaPlusNu: number;
  /** γ_ρ = γ·δ^δ·ν^ν/(δ+ν)^(δ+ν): the penalty denominator at the optimal split (Eq. 20). */
  readonly gammaRho: number;
  /** γ_D = (δ+ν−α)/(n·α·γ_ρ): fixed-data optimum P^(δ+ν) = γ_D·D^β·log2 B (Eq. 22). */
  readonly gammaD: number;
  /** γ_N = (β+δ+ν)/(d·β·γ_ρ): fixed-size optimum (Eq. 23). */
  readonly gammaN: number;
  /** λ = (d·β)/(n·α)·(δ+ν−α)/(δ+ν+β): joint optimum (Eq. 25). */
  readonly lambda: number;
  /** The exponent of P in the joint optimum, (δ+ν)(α+β)/β + α. */
  readonly jointPrecisionExponent: number;
  /** P_opt ∝ C^this in the joint optimum: α / jointPrecisionExponent. */
  readonly computeExponent: number;
}

/**
 * The constants of the closed forms, derived from the law's eight.
 *
 * @param constants The law's constants; default the paper's Table 2.
 * @returns γ_ρ, γ_D, γ_N, λ and the exponents.
 *
 * @example
 * ```ts
 * import { derivedConstants } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(derivedConstants().gammaRho.toFixed(3), "160.697");
 * ```
 */
export function derivedConstants(
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): DerivedConstants {
  const { n, alpha, d, beta, gamma, delta, nu } = constants;
  const s = delta + nu;
  const gammaRho = gamma * delta ** delta * nu ** nu / s ** s;
  const jointPrecisionExponent = s * (alpha + beta) / beta + alpha;
  return {
    deltaPlusNu: s,
    gammaRho,
    gammaD: (s - alpha) / (n * alpha * gammaRho),
    gammaN: (beta + s) / (d * beta * gammaRho),
    lambda: (d * beta) / (n * alpha) * (s - alpha) / (s + beta),
    jointPrecisionExponent,
    computeExponent: alpha / jointPrecisionExponent,
  };
}

/**
 * The loss at the optimal (continuous) ExMy split for P bits (paper Eq. 20):
 * `n/N^α + d/D^β + ε + (D^β/N^α)·log2 B/(γ_ρ·P^(δ+ν))`.
 *
 * @param params N.
 * @param tokens D.
 * @param precision P (real, > 0).
 * @param log2Block log2 B.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The predicted loss.
 *
 * @example
 * ```ts
 * import { lossAtOptimalSplit } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(lossAtOptimalSplit(1e9, 1e12, 8, 0).toFixed(6), "2.462009");
 * ```
 */
export function lossAtOptimalSplit(
  params: number,
  tokens: number,
  precision: number,
  log2Block: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  const c = constants;
  const { gammaRho, deltaPlusNu } = derivedConstants(c);
  return c.n / params ** c.alpha + c.d / tokens ** c.beta + c.epsilon +
    tokens ** c.beta / params ** c.alpha * log2Block / (gammaRho * precision ** deltaPlusNu);
}

/** Where the budget goes: the cost model and an optional constraint. */
export interface BudgetOptions {
  /** log2 B of the block scaling (> 0: with B = 1 there is no penalty and no optimum). */
  readonly log2Block: number;
  /** k of C = k·P·N·D; default 6/16. */
  readonly k?: number;
  /** Fix the model size N (the paper's Eq. 23 optimum). */
  readonly params?: number;
  /** Fix the data size D (the paper's Eq. 22 optimum). */
  readonly tokens?: number;
}

/** A compute-optimal allocation. */
export interface ComputePlan {
  /** What was held fixed: nothing (`"joint"`), N (`"params"`) or D (`"tokens"`). */
  readonly constraint: "joint" | "params" | "tokens";
  /** C, FLOPs. */
  readonly compute: number;
  /** P, total bits (real for the closed forms, integer for a format plan). */
  readonly precision: number;
  /** N. */
  readonly params: number;
  /** D. */
  readonly tokens: number;
  /** The predicted loss (at the optimal split for real P, at the format for a format plan). */
  readonly loss: number;
}

function checkBudget(compute: number, options: BudgetOptions): number {
  checkPositive("compute", compute);
  checkNonNegative("log2Block", options.log2Block);
  if (options.log2Block === 0) {
    throw new RangeError(
      "log2Block must be > 0: with block size 1 there is no precision penalty, so no optimal precision",
    );
  }
  const k = options.k ?? PAPER_COMPUTE_FACTOR;
  checkPositive("k", k);
  if (options.params !== undefined && options.tokens !== undefined) {
    throw new RangeError("fix at most one of params and tokens (with both, compute fixes P)");
  }
  if (options.params !== undefined) checkPositive("params", options.params);
  if (options.tokens !== undefined) checkPositive("tokens", options.tokens);
  return k;
}

/**
 * The fixed-data optimum (paper Eq. 22): `P^(δ+ν) = γ_D·D^β·log2 B`. It does not depend on
 * the compute budget (which sets N = C/(kPD)).
 *
 * @param tokens D.
 * @param log2Block log2 B (> 0).
 * @param constants The law's constants; default the paper's Table 2.
 * @returns P_opt(D), real.
 *
 * @example
 * ```ts
 * import { optimalPrecisionForTokens } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(optimalPrecisionForTokens(1e11, 7).toFixed(3), "4.268");
 * ```
 */
export function optimalPrecisionForTokens(
  tokens: number,
  log2Block: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("tokens", tokens);
  checkPositive("log2Block", log2Block);
  const { gammaD, deltaPlusNu } = derivedConstants(constants);
  return (gammaD * tokens ** constants.beta * log2Block) ** (1 / deltaPlusNu);
}

/**
 * The fixed-size optimum (paper Eq. 23):
 * `P^(δ+ν+2β) = γ_N·(C/k)^(2β)·N^(−(α+2β))·log2 B`.
 *
 * @param params N.
 * @param compute C, FLOPs.
 * @param log2Block log2 B (> 0).
 * @param k k of C = k·P·N·D; default 6/16.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns P_opt(N), real.
 *
 * @example
 * ```ts
 * import { optimalPrecisionForParams } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(optimalPrecisionForParams(1e9, 1e23, 7).toFixed(3), "11.717");
 * ```
 */
export function optimalPrecisionForParams(
  params: number,
  compute: number,
  log2Block: number,
  k: number = PAPER_COMPUTE_FACTOR,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  checkPositive("params", params);
  checkPositive("compute", compute);
  checkPositive("log2Block", log2Block);
  checkPositive("k", k);
  const { alpha, beta } = constants;
  const { gammaN, deltaPlusNu } = derivedConstants(constants);
  const rhs = gammaN * (compute / k) ** (2 * beta) * params ** -(alpha + 2 * beta) * log2Block;
  return rhs ** (1 / (deltaPlusNu + 2 * beta));
}

/**
 * The compute-optimal precision, model size and data size from the paper's closed forms: joint
 * over N, D and P (Eq. 25), or with N or D fixed (Eq. 23, 22). P is real; the loss is at the
 * optimal continuous split ({@link lossAtOptimalSplit}).
 *
 * @param compute C, FLOPs.
 * @param options log2 B, k, and at most one of params / tokens to hold fixed.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The allocation.
 *
 * @example
 * ```ts
 * import { computeOptimal } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const plan = computeOptimal(1e21, { log2Block: 7 });
 * assert.equal(plan.precision.toFixed(3), "4.190");
 * ```
 */
export function computeOptimal(
  compute: number,
  options: BudgetOptions,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): ComputePlan {
  const k = checkBudget(compute, options);
  const lb = options.log2Block;
  const c = constants;
  let precision: number, params: number, tokens: number;
  let constraint: ComputePlan["constraint"];
  if (options.tokens !== undefined) {
    constraint = "tokens";
    tokens = options.tokens;
    precision = optimalPrecisionForTokens(tokens, lb, c);
    params = compute / (k * precision * tokens);
  } else if (options.params !== undefined) {
    constraint = "params";
    params = options.params;
    precision = optimalPrecisionForParams(params, compute, lb, k, c);
    tokens = compute / (k * precision * params);
  } else {
    constraint = "joint";
    const dc = derivedConstants(c);
    const ratio = (c.alpha + c.beta) / c.beta;
    const rhs = dc.lambda * (dc.gammaD * lb) ** ratio * (compute / k) ** c.alpha;
    precision = rhs ** (1 / dc.jointPrecisionExponent);
    // At the joint optimum the fixed-D condition P^(δ+ν) = γ_D·D^β·log2 B also holds.
    tokens = (precision ** dc.deltaPlusNu / (dc.gammaD * lb)) ** (1 / c.beta);
    params = compute / (k * precision * tokens);
  }
  return {
    constraint,
    compute,
    precision,
    params,
    tokens,
    loss: lossAtOptimalSplit(params, tokens, precision, lb, c),
  };
}

// Search ranges for the numeric optimiser: P in bits, log D in nats.
const P_LO = 0.6;
const P_HI = 64;

/**
 * The same optimum as {@link computeOptimal}, found numerically (golden-section search over P,
 * nested over log D for the joint case) on {@link lossAtOptimalSplit} with the cost model
 * substituted. It uses none of the closed forms: it is their cross-check.
 *
 * @param compute C, FLOPs.
 * @param options log2 B, k, and at most one of params / tokens to hold fixed.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The allocation found by search.
 *
 * @example
 * ```ts
 * import { numericComputeOptimal } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const plan = numericComputeOptimal(1e21, { log2Block: 7 });
 * assert.equal(plan.precision.toFixed(3), "4.190"); // the closed form's answer
 * ```
 */
export function numericComputeOptimal(
  compute: number,
  options: BudgetOptions,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): ComputePlan {
  const k = checkBudget(compute, options);
  const lb = options.log2Block;
  const c = constants;
  const at = (p: number, n: number, d: number) => lossAtOptimalSplit(n, d, p, lb, c);
  if (options.tokens !== undefined) {
    const d = options.tokens;
    const best = minimizeScalar((p) => at(p, compute / (k * p * d), d), P_LO, P_HI, 1e-12);
    const p = best.x;
    return {
      constraint: "tokens",
      compute,
      precision: p,
      params: compute / (k * p * d),
      tokens: d,
      loss: best.value,
    };
  }
  if (options.params !== undefined) {
    const n = options.params;
    const best = minimizeScalar((p) => at(p, n, compute / (k * p * n)), P_LO, P_HI, 1e-12);
    const p = best.x;
    return {
      constraint: "params",
      compute,
      precision: p,
      params: n,
      tokens: compute / (k * p * n),
      loss: best.value,
    };
  }
  const bestTokens = (p: number) => {
    const total = Math.log(compute / (k * p)); // ln(N·D): D ranges over 1 .. N·D
    return minimizeScalar((lnD) => at(p, Math.exp(total - lnD), Math.exp(lnD)), 0, total, 1e-12);
  };
  const best = minimizeScalar((p) => bestTokens(p).value, P_LO, P_HI, 1e-12);
  const p = best.x;
  const d = Math.exp(bestTokens(p).x);
  return {
    constraint: "joint",
    compute,
    precision: p,
    params: compute / (k * p * d),
    tokens: d,
    loss: best.value,
  };
}

/** A compute plan for one concrete integer format. */
export interface FormatPlan extends ComputePlan {
  /** The format the plan trains in; precision = 1 + E + M. */
  readonly format: Layout;
}

/**
 * The best allocation of a budget for one concrete format: N and D minimising the full law
 * `L(N, D, E, M, B)` with C = k·(1+E+M)·N·D (numeric; with N or D fixed, the other follows).
 *
 * @param compute C, FLOPs.
 * @param format The ExMy to train in.
 * @param options log2 B, k, and at most one of params / tokens to hold fixed.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The plan with its loss.
 *
 * @example
 * ```ts
 * import { planForFormat, resolveFormat } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const plan = planForFormat(1e21, resolveFormat("E2M1"), { log2Block: 7 });
 * assert.equal(plan.precision, 4);
 * assert.ok(plan.tokens > plan.params);
 * ```
 */
export function planForFormat(
  compute: number,
  format: Layout,
  options: BudgetOptions,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): FormatPlan {
  const k = checkBudget(compute, options);
  const c = constants;
  const p = 1 + format.exponentBits + format.mantissaBits;
  const penaltyScale = options.log2Block *
    formatFactor(format.exponentBits, format.mantissaBits, c) /
    c.gamma;
  const at = (n: number, d: number) =>
    c.n / n ** c.alpha + c.d / d ** c.beta + c.epsilon + d ** c.beta / n ** c.alpha * penaltyScale;
  const total = compute / (k * p); // N·D
  let params: number, tokens: number;
  let constraint: ComputePlan["constraint"] = "joint";
  if (options.tokens !== undefined) {
    constraint = "tokens";
    tokens = options.tokens;
    params = total / tokens;
  } else if (options.params !== undefined) {
    constraint = "params";
    params = options.params;
    tokens = total / params;
  } else {
    const lnTotal = Math.log(total);
    const best = minimizeScalar(
      (lnD) => at(Math.exp(lnTotal - lnD), Math.exp(lnD)),
      0,
      lnTotal,
      1e-12,
    );
    tokens = Math.exp(best.x);
    params = total / tokens;
  }
  return { constraint, compute, precision: p, params, tokens, loss: at(params, tokens), format };
}

/**
 * The best integer precision for a budget: the paper's optimal ExMy for each whole P near the
 * continuous optimum, each planned with {@link planForFormat}, the lowest loss kept.
 *
 * @param compute C, FLOPs.
 * @param options log2 B, k, and at most one of params / tokens to hold fixed.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The winning format's plan.
 *
 * @example
 * ```ts
 * import { bestFormatPlan } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(bestFormatPlan(1e21, { log2Block: 7 }).format.name, "E2M1");
 * ```
 */
export function bestFormatPlan(
  compute: number,
  options: BudgetOptions,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): FormatPlan {
  const continuous = computeOptimal(compute, options, constants);
  // Clamped: far from the paper's range (tiny budgets with a fixed N) P_opt can pass 64 bits.
  const centre = Math.min(64, Math.max(1, Math.round(continuous.precision)));
  let best: FormatPlan | undefined;
  for (let p = Math.max(1, centre - 2); p <= Math.min(64, centre + 2); p++) {
    const plan = planForFormat(compute, optimalLayout(p, constants), options, constants);
    if (!best || plan.loss < best.loss) best = plan;
  }
  return best!;
}
