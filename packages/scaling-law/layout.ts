/**
 * The optimal exponent/mantissa split for a given bit budget (paper §4.2, App. C).
 *
 * @module
 */
import { PAPER_CONSTANTS, type ScalingLawConstants } from "./constants.ts";
import { type Layout, layout } from "./names.ts";

function checkPrecision(precision: number): void {
  if (!Number.isInteger(precision) || precision < 1 || precision > 64) {
    throw new RangeError(`precision (bits) must be an integer in [1, 64], got ${precision}`);
  }
}

/**
 * The format's factor in the precision penalty, `(E+0.5)^(−δ)·(M+0.5)^(−ν)`: smaller is better.
 *
 * @param exponentBits E.
 * @param mantissaBits M.
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The factor (1 / ((E+0.5)^δ (M+0.5)^ν)).
 *
 * @example
 * ```ts
 * import { formatFactor } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.ok(formatFactor(2, 1) > formatFactor(4, 3));
 * ```
 */
export function formatFactor(
  exponentBits: number,
  mantissaBits: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): number {
  return 1 / ((exponentBits + 0.5) ** constants.delta * (mantissaBits + 0.5) ** constants.nu);
}

/**
 * The best integer ExMy for P total bits (P = 1 + E + M, sign included): the split with the
 * smallest {@link formatFactor}, found by trying every E from 0 to P − 1.
 *
 * @param precision P, total bits (integer 1..64).
 * @param constants The law's constants; default the paper's Table 2.
 * @returns The layout, e.g. E2M1 for 4 bits.
 *
 * @example
 * ```ts
 * import { optimalLayout } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.deepEqual([4, 8, 16].map((p) => optimalLayout(p).name), ["E2M1", "E4M3", "E8M7"]);
 * ```
 */
export function optimalLayout(
  precision: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): Layout {
  checkPrecision(precision);
  let best = 0;
  let bestFactor = Infinity;
  for (let e = 0; e <= precision - 1; e++) {
    const f = formatFactor(e, precision - 1 - e, constants);
    if (f < bestFactor) {
      bestFactor = f;
      best = e;
    }
  }
  return layout(best, precision - 1 - best);
}

/**
 * The continuous optimum (paper Eq. 19): `E = δ·P/(δ+ν) − 0.5`, `M = ν·P/(δ+ν) − 0.5`, so
 * (E+0.5):(M+0.5) = δ:ν and E + M + 1 = P.
 *
 * @param precision P, total bits (any positive real).
 * @param constants The law's constants; default the paper's Table 2.
 * @returns Real-valued exponent and mantissa bits.
 *
 * @example
 * ```ts
 * import { continuousLayout } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const s = continuousLayout(8);
 * assert.equal(s.exponentBits.toFixed(2), "3.66");
 * assert.equal(s.mantissaBits.toFixed(2), "3.34");
 * ```
 */
export function continuousLayout(
  precision: number,
  constants: ScalingLawConstants = PAPER_CONSTANTS,
): { exponentBits: number; mantissaBits: number } {
  if (!(precision > 0) || !Number.isFinite(precision)) {
    throw new RangeError(`precision must be a positive finite number, got ${precision}`);
  }
  const s = constants.delta + constants.nu;
  return {
    exponentBits: constants.delta * precision / s - 0.5,
    mantissaBits: constants.nu * precision / s - 0.5,
  };
}
