/**
 * Rounding f32 values onto a format's grid: round-to-nearest-even (the OCP default), the FP4
 * paper's ties-upward table, and seeded stochastic rounding.
 *
 * @module
 */
import type { FloatFormat } from "./format.ts";
import { roundingPlan } from "./_plan.ts";
import { checkFloat32Array, checkOutLength } from "./_check.ts";
import { seedKey, uniformAt } from "./random.ts";

/** Rounding modes of {@link quantize}. */
export type Rounding = "nearest-even" | "nearest-up" | "stochastic";

/** Options of {@link quantize}. */
export interface QuantizeOptions {
  /**
   * `"nearest-even"` (default): round to nearest, ties to the even code (OCP, IEEE 754).
   * `"nearest-up"`: round to nearest, exact ties toward +∞ (the FP4 paper's look-up table:
   * 0.25 → 0.5, 2.5 → 3, 5 → 6, −0.75 → −0.5).
   * `"stochastic"`: round up with probability equal to the distance from the grid point below
   * divided by the spacing (unbiased below maxNormal); needs `seed`.
   */
  rounding?: Rounding;
  /** Seed of the stochastic rounding stream (any integer, 0 included). Default 0. */
  seed?: number;
  /** Position of the first value in the random stream, so split calls match one call. Default 0. */
  offset?: number;
  /**
   * `true` (default): values beyond ±maxNormal, and ±Inf, become ±maxNormal (CUDA's satfinite).
   * `false`: overflow gives ±Inf where the format has Inf, NaN where it has only NaN (E4M3), and
   * still saturates in formats with neither.
   */
  saturate?: boolean;
  /**
   * Fake-quantize with one inverse scale (the multiplier applied before rounding; the stored
   * dequantization scale is its reciprocal): each value becomes Q(x·inverseScale)/inverseScale,
   * products and quotients in f32 arithmetic. Default 1. Must be finite and non-zero.
   */
  inverseScale?: number;
  /** Output buffer of the same length as the input (may be the input itself). */
  out?: Float32Array;
}

/**
 * Rounds every value to the nearest value of `format` (ties to even), saturating at ±maxNormal
 * (±Inf too) by default. NaN stays NaN; `-0` stays `-0`, and values that round to zero keep
 * their sign. Results are bit-exact against the OCP Microscaling spec v1.0.
 *
 * @param values the f32 values to round
 * @param format the target format (e.g. {@link E2M1}, {@link E4M3})
 * @param options rounding mode, seed, saturation, inverse scale and output buffer
 * @returns `options.out`, or a new array, holding the rounded values
 * @throws {TypeError} when `values` or `out` is not a Float32Array
 * @throws {RangeError} for a wrong-length `out`, a non-finite or zero `inverseScale`, an unknown
 *   rounding mode, or a non-integer seed
 *
 * @example Round to FP4 (E2M1) and FP8 (E4M3)
 * ```ts
 * import { E2M1, E4M3, quantize } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([0.3, 2.5, -5, 7, 300.7]);
 * assert.deepEqual(quantize(x, E2M1), new Float32Array([0.5, 2, -4, 6, 6]));
 * assert.deepEqual(quantize(x, E4M3), new Float32Array([0.3125, 2.5, -5, 7, 288]));
 * ```
 *
 * @example The FP4 paper's table rounds ties upward
 * ```ts
 * import { E2M1, quantize } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const ties = new Float32Array([0.25, 2.5, 5, -0.75]);
 * const up = quantize(ties, E2M1, { rounding: "nearest-up" });
 * assert.deepEqual(up, new Float32Array([0.5, 3, 6, -0.5]));
 * ```
 */
export function quantize(
  values: Float32Array,
  format: FloatFormat,
  options: QuantizeOptions = {},
): Float32Array {
  checkFloat32Array("values", values);
  const n = values.length;
  const out = options.out ?? new Float32Array(n);
  checkFloat32Array("options.out", out);
  checkOutLength("options.out", out, n);
  const rounding = options.rounding ?? "nearest-even";
  const saturate = options.saturate ?? true;
  if ("scale" in options) {
    throw new RangeError(
      "options.scale is now options.inverseScale (the multiplier applied before rounding)",
    );
  }
  const inverseScale = options.inverseScale ?? 1;
  if (!Number.isFinite(inverseScale) || inverseScale === 0) {
    throw new RangeError(
      `options.inverseScale must be finite and non-zero, got ${inverseScale}`,
    );
  }
  if (inverseScale !== 1) {
    // Multiply in f32 arithmetic, round, divide in f32: what a kernel does.
    const s = Math.fround(inverseScale);
    if (s === 0 || !Number.isFinite(s)) {
      throw new RangeError(
        `options.inverseScale must be representable in f32, got ${inverseScale}`,
      );
    }
    for (let i = 0; i < n; i++) out[i] = values[i] * s;
    quantize(out, format, { ...options, inverseScale: 1, out });
    for (let i = 0; i < n; i++) out[i] = out[i] / s;
    return out;
  }
  switch (rounding) {
    case "nearest-even":
      roundNearestEven(values, format, saturate, out);
      break;
    case "nearest-up":
      roundNearestUp(values, format, saturate, out);
      break;
    case "stochastic": {
      const seed = options.seed ?? 0;
      const offset = options.offset ?? 0;
      if (!Number.isInteger(seed)) {
        throw new RangeError(`options.seed must be an integer, got ${seed}`);
      }
      if (!Number.isInteger(offset) || offset < 0) {
        throw new RangeError(`options.offset must be a non-negative integer, got ${offset}`);
      }
      roundStochastic(values, format, saturate, seedKey(seed), offset, out);
      break;
    }
    default:
      throw new RangeError(
        `options.rounding must be "nearest-even", "nearest-up" or "stochastic", got ${rounding}`,
      );
  }
  return out;
}

/** What a too-large magnitude becomes. */
function overflowValue(format: FloatFormat, saturate: boolean): number {
  if (saturate || format.specials === "none") return format.maxNormal;
  return format.hasInf ? Infinity : NaN;
}

function roundNearestEven(
  values: Float32Array,
  format: FloatFormat,
  saturate: boolean,
  out: Float32Array,
): void {
  const { magic, saturatingMagic, down, branchFreeMin } = roundingPlan(format);
  const max = format.maxNormal;
  if (saturate && branchFreeMin) {
    // Fully branch-free but for Inf/NaN (rare, so predicted): Math.min compiles to a branch
    // that mispredicts when a fair share of values saturate (E2M1 on absmax-scaled data), so
    // the minimum is computed as (r + max - |r - max|) / 2, exact because values far above max
    // are first scaled down by a power of two into the binade above it.
    const signed = new Int32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < values.length; i++) {
      const b = signed[i];
      const field = (b >>> 23) & 255;
      const sign = (b >> 31) | 1;
      if (field === 255) {
        out[i] = (b & 0x7fffff) !== 0 ? NaN : sign * max;
        continue;
      }
      const c = saturatingMagic[field];
      const r = (Math.abs(values[i]) * down[field] + c) - c;
      out[i] = (r + max - Math.abs(r - max)) * 0.5 * sign;
    }
    return;
  }
  if (saturate) {
    // Branch-free: random signs would defeat the branch predictor. ±Inf survives the magic
    // add and subtract as ±Inf and Math.min saturates it; NaN stays NaN; the sign is restored
    // by multiplying with ±1, which also keeps -0.
    const signed = new Int32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < values.length; i++) {
      const b = signed[i];
      const c = magic[(b >>> 23) & 255];
      out[i] = Math.min((Math.abs(values[i]) + c) - c, max) * ((b >> 31) | 1);
    }
    return;
  }
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const over = overflowValue(format, saturate);
  const infValue = saturate ? max : over;
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    const field = (b >>> 23) & 255;
    let r: number;
    if (field === 255) {
      r = (b & 0x7fffff) !== 0 ? NaN : infValue;
    } else {
      const c = magic[field];
      r = (Math.abs(values[i]) + c) - c;
      if (r > max) r = over;
    }
    out[i] = b >>> 31 ? -r : r;
  }
}

function roundNearestUp(
  values: Float32Array,
  format: FloatFormat,
  saturate: boolean,
  out: Float32Array,
): void {
  const { ulp, invUlp } = roundingPlan(format);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const max = format.maxNormal;
  const over = overflowValue(format, saturate);
  const infValue = saturate ? max : over;
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    const negative = b >>> 31;
    const field = (b >>> 23) & 255;
    let r: number;
    if (field === 255) {
      r = (b & 0x7fffff) !== 0 ? NaN : (negative ? -infValue : infValue);
    } else {
      const x = values[i];
      const q = x * invUlp[field];
      const floor = Math.floor(q);
      r = (q - floor >= 0.5 ? floor + 1 : floor) * ulp[field];
      if (r > max) r = over;
      else if (r < -max) r = -over;
      else if (r === 0 && negative) r = -0;
    }
    out[i] = r;
  }
}

function roundStochastic(
  values: Float32Array,
  format: FloatFormat,
  saturate: boolean,
  key: number,
  offset: number,
  out: Float32Array,
): void {
  const { ulp, invUlp } = roundingPlan(format);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const max = format.maxNormal;
  const over = overflowValue(format, saturate);
  const infValue = saturate ? max : over;
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    const field = (b >>> 23) & 255;
    let r: number;
    if (field === 255) {
      r = (b & 0x7fffff) !== 0 ? NaN : infValue;
    } else {
      const q = Math.abs(values[i]) * invUlp[field];
      const floor = Math.floor(q);
      r = (uniformAt(key, offset + i) < q - floor ? floor + 1 : floor) * ulp[field];
      if (r > max) r = Math.abs(values[i]) > max ? over : max;
    }
    out[i] = b >>> 31 ? -r : r;
  }
}
