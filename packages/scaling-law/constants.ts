/**
 * The law's constants as data: a plain object, the paper's Table 2 by default.
 *
 * @module
 */

/**
 * The eight fitted constants of the unified law
 * `L = n/N^α + d/D^β + ε + (D^β/N^α)·log2 B / (γ·(E+0.5)^δ·(M+0.5)^ν)`.
 */
export interface ScalingLawConstants {
  /** Coefficient of the parameter term, `n`. */
  readonly n: number;
  /** Exponent of N, `α` (shared by the parameter term and the precision penalty). */
  readonly alpha: number;
  /** Coefficient of the data term, `d`. */
  readonly d: number;
  /** Exponent of D, `β` (shared by the data term and the precision penalty). */
  readonly beta: number;
  /** Irreducible loss, `ε`. */
  readonly epsilon: number;
  /** Penalty denominator, `γ`. */
  readonly gamma: number;
  /** Exponent of (E + 0.5), `δ`. */
  readonly delta: number;
  /** Exponent of (M + 0.5), `ν`. */
  readonly nu: number;
}

/** Names of the constants, in the order the fitter and the tables list them. */
export const CONSTANT_NAMES: readonly (keyof ScalingLawConstants)[] = Object.freeze([
  "n",
  "alpha",
  "d",
  "beta",
  "epsilon",
  "gamma",
  "delta",
  "nu",
]);

/**
 * Table 2 of Sun et al. (arXiv 2501.02423, identical in v1 and v3): the default of every function.
 *
 * @example
 * ```ts
 * import { PAPER_CONSTANTS } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(PAPER_CONSTANTS.gamma, 11334.5197);
 * ```
 */
export const PAPER_CONSTANTS: Readonly<ScalingLawConstants> = Object.freeze({
  n: 69.2343,
  alpha: 0.2368,
  d: 68973.0621,
  beta: 0.5162,
  epsilon: 1.9061,
  gamma: 11334.5197,
  delta: 3.1926,
  nu: 2.9543,
});

/**
 * The equivalent log2 B of channel-wise scaling (paper §3.6): channel-wise runs behave like a
 * constant block of about 9132 elements, whatever d_in is.
 *
 * @example
 * ```ts
 * import { CHANNEL_LOG2_BLOCK } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.ok(2 ** CHANNEL_LOG2_BLOCK > 9000);
 * ```
 */
export const CHANNEL_LOG2_BLOCK = 13.1567;

/**
 * `k` of the cost model `C = k·P·N·D` used by the paper's figures: 6/16, so a 16-bit run costs
 * the usual 6·N·D FLOPs.
 *
 * @example
 * ```ts
 * import { PAPER_COMPUTE_FACTOR } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(PAPER_COMPUTE_FACTOR * 16, 6);
 * ```
 */
export const PAPER_COMPUTE_FACTOR = 6 / 16;

/**
 * Checks that an object holds all eight constants as positive finite numbers, so a hand-written
 * or fitted constants file fails early with the offending name.
 *
 * @param constants The object to check (for example parsed from a JSON file).
 * @returns The same object, typed.
 * @throws {TypeError} When a constant is missing or not a number.
 * @throws {RangeError} When a constant is not positive and finite.
 *
 * @example
 * ```ts
 * import { PAPER_CONSTANTS, validateConstants } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const mine = validateConstants({ ...PAPER_CONSTANTS, gamma: 9000 });
 * assert.equal(mine.gamma, 9000);
 * ```
 */
export function validateConstants(constants: unknown): ScalingLawConstants {
  if (typeof constants !== "object" || constants === null) {
    throw new TypeError(
      "constants must be an object with n, alpha, d, beta, epsilon, gamma, delta, nu",
    );
  }
  const record = constants as Record<string, unknown>;
  for (const name of CONSTANT_NAMES) {
    const value = record[name];
    if (typeof value !== "number") {
      throw new TypeError(`constants.${name} must be a number, got ${JSON.stringify(value)}`);
    }
    if (!(value > 0) || !Number.isFinite(value)) {
      throw new RangeError(`constants.${name} must be positive and finite, got ${value}`);
    }
  }
  return record as unknown as ScalingLawConstants;
}
