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
  plan = { magic, ulp, invUlp };
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
