/**
 * Floating-point formats as data: a format is a plain object, and every function of this package
 * takes one as an argument. A new ExMy is a new object, not new code.
 *
 * @module
 */

/**
 * How a format spends its top exponent code.
 *
 * - `"ieee"`: the all-ones exponent is reserved, mantissa 0 is ±Inf and anything else NaN (E5M2,
 *   FP16, BF16).
 * - `"nan-only"`: only the all-ones pattern S.1…1.1…1 is NaN, there is no Inf (OCP E4M3, "FN").
 * - `"none"`: every code is a finite number (OCP E2M1, E2M3, E3M2; the scaling-law paper's ExMy).
 */
export type Specials = "ieee" | "nan-only" | "none";

/** A signed minifloat with `exponentBits` exponent bits and `mantissaBits` mantissa bits. */
export interface FloatFormat {
  /** Name such as `"E2M1"`. */
  readonly name: string;
  /** Exponent field width in bits (0 to 8). */
  readonly exponentBits: number;
  /** Mantissa (fraction) field width in bits (0 to 10). */
  readonly mantissaBits: number;
  /** Total bits of a code: sign + exponent + mantissa (or no sign for unsigned formats). */
  readonly bits: number;
  /** Whether a code carries a sign bit. */
  readonly signed: boolean;
  /** Exponent bias: a normal code with exponent field e is worth 2^(e - bias) · 1.m. */
  readonly bias: number;
  /** Unbiased exponent of the largest normal value (the OCP "emax"). */
  readonly emax: number;
  /** Largest finite value. */
  readonly maxNormal: number;
  /** Smallest positive normal value, 2^(1 - bias). */
  readonly minNormal: number;
  /** Smallest positive subnormal value, 2^(1 - bias - mantissaBits). */
  readonly minSubnormal: number;
  /** Whether the format has ±Inf codes. */
  readonly hasInf: boolean;
  /** Whether the format has NaN codes. */
  readonly hasNaN: boolean;
  /** Which codes are special; see {@link Specials}. */
  readonly specials: Specials;
}

/** Options of {@link floatFormat}. */
export interface FloatFormatOptions {
  /**
   * `true` reserves the top exponent code for Inf and NaN as IEEE 754 does; `false` makes every
   * code finite (the scaling-law paper's simulated formats). Ignored when `specials` is given.
   * Default: the OCP / IEEE convention for the bit count (see {@link floatFormat}).
   */
  ieeeSpecials?: boolean;
  /** Exact special-code convention; overrides `ieeeSpecials`. */
  specials?: Specials;
  /** Exponent bias; default 2^(exponentBits - 1) - 1 (0 when there are no exponent bits). */
  bias?: number;
  /** Name; default `E{e}M{m}`. */
  name?: string;
  /** `false` builds an unsigned format (no sign bit), such as the NVFP4 block scale UE4M3. */
  signed?: boolean;
}

function defaultSpecials(e: number, m: number): Specials {
  // The convention of OCP MX v1.0 and ml_dtypes: 4- and 6-bit floats have no specials, E4M3 keeps
  // only NaN, and everything wider is IEEE-like.
  if (1 + e + m <= 6 || e <= 1) return "none";
  if (e === 4 && m === 3) return "nan-only";
  return "ieee";
}

function checkInteger(name: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${value}`);
  }
}

/**
 * Builds the format with `exponentBits` exponent and `mantissaBits` mantissa bits.
 *
 * Without options the special codes follow the standard for that width: no Inf/NaN for 4- and
 * 6-bit formats (OCP FP4/FP6), NaN-only for E4M3 (OCP FP8), IEEE Inf/NaN otherwise. With
 * `exponentBits` 0 every value is subnormal: E0M7 is MXINT8's grid (max 1.984375).
 *
 * @param exponentBits exponent field width, 0 to 8
 * @param mantissaBits mantissa field width, 0 to 10
 * @param options special-code convention, bias, name, signedness
 * @returns the format
 * @throws {RangeError} when a bit count is out of range or the convention needs more codes than
 *   the format has
 *
 * @example Build the scaling-law paper's E3M1 with no reserved codes
 * ```ts
 * import { floatFormat } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const e3m1 = floatFormat(3, 1, { ieeeSpecials: false });
 * assert.equal(e3m1.maxNormal, 24);
 * ```
 */
export function floatFormat(
  exponentBits: number,
  mantissaBits: number,
  options: FloatFormatOptions = {},
): FloatFormat {
  checkInteger("exponentBits", exponentBits, 0, 8);
  checkInteger("mantissaBits", mantissaBits, 0, 10);
  const e = exponentBits;
  const m = mantissaBits;
  const specials: Specials = options.specials ??
    (options.ieeeSpecials === undefined
      ? defaultSpecials(e, m)
      : options.ieeeSpecials
      ? "ieee"
      : "none");
  if (specials !== "none" && specials !== "ieee" && specials !== "nan-only") {
    throw new RangeError(`specials must be "ieee", "nan-only" or "none", got ${specials}`);
  }
  if (specials === "ieee" && e < 2) {
    throw new RangeError(`exponentBits must be at least 2 for IEEE specials, got ${e}`);
  }
  if (specials === "nan-only" && e + m < 2) {
    throw new RangeError(`exponentBits + mantissaBits must be at least 2 for a NaN code`);
  }
  const bias = options.bias ?? (e === 0 ? 0 : 2 ** (e - 1) - 1);
  checkInteger("bias", bias, -1024, 1024);
  const signed = options.signed ?? true;
  const topExponent = e === 0 ? 0 : 2 ** e - 1;
  const mantissaMax = 2 ** m - 1;
  let maxExpField: number;
  let maxMantissa: number;
  if (specials === "ieee") {
    maxExpField = topExponent - 1;
    maxMantissa = mantissaMax;
  } else if (specials === "nan-only") {
    maxExpField = topExponent;
    maxMantissa = mantissaMax - 1;
    if (maxMantissa < 0) {
      // S.1…1 with no mantissa: the top code is NaN, so the largest value has exponent one less.
      maxExpField = topExponent - 1;
      maxMantissa = 0;
    }
  } else {
    maxExpField = topExponent;
    maxMantissa = mantissaMax;
  }
  const minNormal = 2 ** (1 - bias);
  const minSubnormal = 2 ** (1 - bias - m);
  const maxNormal = maxExpField === 0
    ? minNormal * (maxMantissa / 2 ** m)
    : 2 ** (maxExpField - bias) * (1 + maxMantissa / 2 ** m);
  return Object.freeze({
    name: options.name ?? `${signed ? "" : "U"}E${e}M${m}`,
    exponentBits: e,
    mantissaBits: m,
    bits: (signed ? 1 : 0) + e + m,
    signed,
    bias,
    emax: Math.max(maxExpField, 1) - bias,
    maxNormal,
    minNormal,
    minSubnormal,
    hasInf: specials === "ieee",
    hasNaN: specials !== "none",
    specials,
  });
}

/** OCP FP4 E2M1: ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no Inf or NaN. */
export const E2M1: FloatFormat = floatFormat(2, 1, { name: "E2M1" });
/** OCP FP6 E2M3: max 7.5, min subnormal 0.125, no Inf or NaN. */
export const E2M3: FloatFormat = floatFormat(2, 3, { name: "E2M3" });
/** OCP FP6 E3M2: max 28, min subnormal 0.0625, no Inf or NaN. */
export const E3M2: FloatFormat = floatFormat(3, 2, { name: "E3M2" });
/** OCP FP8 E4M3 ("E4M3FN"): max 448, NaN = S.1111.111, no Inf. */
export const E4M3: FloatFormat = floatFormat(4, 3, { name: "E4M3" });
/** OCP FP8 E5M2: max 57344, IEEE Inf and NaN. */
export const E5M2: FloatFormat = floatFormat(5, 2, { name: "E5M2" });
/** IEEE 754 binary16: max 65504. */
export const FP16: FloatFormat = floatFormat(5, 10, { name: "FP16" });
/** bfloat16: f32's exponent range with 7 mantissa bits. */
export const BF16: FloatFormat = floatFormat(8, 7, { name: "BF16" });
/** NVFP4's block-scale format: E4M3 without a sign bit (max 448, 0x7F = NaN). */
export const UE4M3: FloatFormat = floatFormat(4, 3, {
  name: "UE4M3",
  signed: false,
  specials: "nan-only",
});

/** Every named element format of this package, by name. */
export const FORMATS: Readonly<Record<string, FloatFormat>> = Object.freeze({
  E2M1,
  E2M3,
  E3M2,
  E4M3,
  E5M2,
  FP16,
  BF16,
});

const ALIASES: Readonly<Record<string, string>> = {
  FP4: "E2M1",
  FP8: "E4M3",
  BFLOAT16: "BF16",
  E8M7: "BF16",
  HALF: "FP16",
  E5M10: "FP16",
};

/**
 * Looks a format up by name, case-insensitively: `E2M1`, `e4m3`, `fp4` (E2M1), `fp8` (E4M3),
 * `bf16` (= E8M7), `fp16` (= E5M10), or any `ExMy` (built with {@link floatFormat}'s defaults).
 *
 * @param name the format's name
 * @returns the format
 * @throws {RangeError} for a name that is not a format
 *
 * @example
 * ```ts
 * import { parseFormat } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.equal(parseFormat("fp8").name, "E4M3");
 * assert.equal(parseFormat("e3m4").maxNormal, 15.5);
 * ```
 */
export function parseFormat(name: string): FloatFormat {
  const upper = String(name).trim().toUpperCase();
  const key = ALIASES[upper] ?? upper;
  const named = FORMATS[key];
  if (named) return named;
  const match = /^E(\d+)M(\d+)$/.exec(key);
  if (match) return floatFormat(Number(match[1]), Number(match[2]));
  throw new RangeError(
    `unknown format "${name}": use E2M1, E2M3, E3M2, E4M3, E5M2, FP16, BF16, fp4, fp8 or any ExMy`,
  );
}
