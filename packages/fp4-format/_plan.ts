// Per-format rounding tables, built once per format object and cached. The tables are indexed by
// the biased exponent field of the f32 input (0..255), so the hot loops need no Math.log2.
import type { FloatFormat } from "./format.ts";

/** Precomputed constants for rounding f32 values onto a format's grid. */
export interface RoundingPlan {
  /** 1.5 · 2^52 · ulp: adding and subtracting it in f64 rounds to a multiple of ulp, ties even. */
  readonly magic: Float64Array;
  /** The grid spacing (ulp) of the format in the binade of each f32 exponent. */
  readonly ulp: Float64Array;
  /** 1 / ulp, exact (a power of two). */
  readonly invUlp: Float64Array;
  /**
   * For saturating RNE: `magic` with every f32 exponent above the format's top binade mapped to
   * the first binade above it, and `down`, the power of two that brings such a value there.
   * Rounded results then stay below 2^(emax + 2), so saturation can be computed branch-free as
   * (r + max - |r - max|) / 2, exactly, when `branchFreeMin` says the format's range allows.
   */
  readonly saturatingMagic: Float64Array;
  readonly down: Float64Array;
  /** max / minSubnormal fits in f64's 53 bits, so the branch-free min above is exact. */
  readonly branchFreeMin: boolean;
}

const plans = new WeakMap<FloatFormat, RoundingPlan>();

/** The rounding plan of `format`, built on first use. */
export function roundingPlan(format: FloatFormat): RoundingPlan {
  let plan = plans.get(format);
  if (plan) return plan;
  const magic = new Float64Array(256);
  const ulp = new Float64Array(256);
  const invUlp = new Float64Array(256);
  const emin = 1 - format.bias;
  for (let field = 0; field < 256; field++) {
    // f32 subnormals (field 0) lie below 2^-126, below every format's normal range here.
    const exponent = Math.max(field === 0 ? -127 : field - 127, emin);
    const step = 2 ** (exponent - format.mantissaBits);
    ulp[field] = step;
    invUlp[field] = 1 / step;
    magic[field] = 1.5 * 2 ** 52 * step;
  }
  const saturatingMagic = new Float64Array(256);
  const down = new Float64Array(256);
  const above = Math.min(format.emax + 128, 255); // f32 field of the binade just above maxNormal
  for (let field = 0; field < 256; field++) {
    const capped = Math.min(field, above);
    saturatingMagic[field] = magic[capped];
    down[field] = field > above ? 2 ** (above - field) : 1;
  }
  const branchFreeMin = Math.log2(format.maxNormal / format.minSubnormal) <= 48;
  plan = { magic, ulp, invUlp, saturatingMagic, down, branchFreeMin };
  plans.set(format, plan);
  return plan;
}

/** Canonical NaN code of a format (quiet NaN for IEEE formats, all ones for E4M3-style). */
export function nanCode(format: FloatFormat): number {
  const e = format.exponentBits;
  const m = format.mantissaBits;
  if (format.specials === "ieee") return ((2 ** e - 1) * 2 ** m) + (m > 0 ? 2 ** (m - 1) : 0);
  return 2 ** (e + m) - 1;
}
