/**
 * E8M0, the OCP MX block-scale format: an unsigned power of two 2^(byte − 127) for bytes 0..254
 * (2^-127 to 2^127), and 0xFF = NaN. No sign, no zero, no Inf.
 *
 * @module
 */
import { checkOutLength } from "./_check.ts";

/** The E8M0 scale format as data. */
export const E8M0: Readonly<{
  name: "E8M0";
  bits: 8;
  bias: 127;
  minValue: number;
  maxValue: number;
  nanCode: 0xff;
}> = Object.freeze({
  name: "E8M0",
  bits: 8,
  bias: 127,
  minValue: 2 ** -127,
  maxValue: 2 ** 127,
  nanCode: 0xff,
});

/** How {@link encodeE8M0} rounds a value that is not a power of two. */
export type E8M0Rounding = "floor" | "ceil" | "nearest-up";

const scratch = new DataView(new ArrayBuffer(8));

/** floor(log2(v)) for finite v > 0, exact (read from the f64 exponent field). */
export function floorLog2(v: number): number {
  scratch.setFloat64(0, v);
  const hi = scratch.getUint32(0);
  const field = (hi >>> 20) & 0x7ff;
  if (field !== 0) return field - 1023;
  // f64 subnormal: normalise first.
  scratch.setFloat64(0, v * 2 ** 64);
  return ((scratch.getUint32(0) >>> 20) & 0x7ff) - 1023 - 64;
}

/**
 * Encodes positive scales as E8M0 bytes. A value that is not a power of two rounds down
 * (`"floor"`), up (`"ceil"`, the default: a scale rounded up never makes scaled elements
 * overflow) or to the nearer power in linear terms with ties up (`"nearest-up"`, as ml_dtypes
 * does). Exponents clamp to [−127, 127]; 0 becomes 0x00 (the smallest scale, since E8M0 has no
 * zero) and negative, NaN or infinite values become 0xFF (NaN).
 *
 * @param values the scales
 * @param options rounding and an optional output buffer
 * @returns one byte per value
 * @throws {RangeError} for an unknown rounding or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { encodeE8M0 } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.deepEqual(encodeE8M0([1, 0.5, 3]), new Uint8Array([127, 126, 129]));
 * assert.deepEqual(encodeE8M0([3], { rounding: "floor" }), new Uint8Array([128]));
 * ```
 */
export function encodeE8M0(
  values: ArrayLike<number>,
  options: { rounding?: E8M0Rounding; out?: Uint8Array } = {},
): Uint8Array {
  const rounding = options.rounding ?? "ceil";
  if (rounding !== "floor" && rounding !== "ceil" && rounding !== "nearest-up") {
    throw new RangeError(
      `options.rounding must be "floor", "ceil" or "nearest-up", got ${rounding}`,
    );
  }
  const n = values.length;
  const out = options.out ?? new Uint8Array(n);
  checkOutLength("options.out", out, n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!(v >= 0) || v === Infinity) {
      out[i] = 0xff;
      continue;
    }
    if (v === 0) {
      out[i] = 0;
      continue;
    }
    let k = floorLog2(v);
    const power = 2 ** k;
    if (v !== power) {
      if (rounding === "ceil") k += 1;
      else if (rounding === "nearest-up" && v >= 1.5 * power) k += 1;
    }
    out[i] = Math.min(Math.max(k, -127), 127) + 127;
  }
  return out;
}

/**
 * Decodes E8M0 bytes into their scale values: 2^(byte − 127), and NaN for 0xFF.
 *
 * @param bytes the scale bytes
 * @param out optional output buffer
 * @returns the scales
 *
 * @example
 * ```ts
 * import { decodeE8M0 } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeE8M0(new Uint8Array([127, 130, 255])), new Float32Array([1, 8, NaN]));
 * ```
 */
export function decodeE8M0(bytes: Uint8Array, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(bytes.length);
  checkOutLength("out", result, bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    result[i] = b === 0xff ? NaN : 2 ** (b - 127);
  }
  return result;
}
