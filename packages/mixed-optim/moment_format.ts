/**
 * The storage formats of the AdamW moments and the per-tensor power-of-two scale that keeps a
 * narrow format's range over the values a moment actually takes.
 *
 * @module
 */
import { momentFloatFormat } from "./_formats.ts";

/**
 * How a moment is stored: `"f32"` (exact f32), `"FP16"` (IEEE half), `"BF16"`, or `"E4M3"` (OCP
 * FP8). The narrow formats are simulated: the buffers are f32 holding values on the format's grid,
 * and checkpoints hold the real codes.
 */
export type MomentFormat = "f32" | "FP16" | "BF16" | "E4M3";

/**
 * How the FP16 and E4M3 moments are scaled: `"tensor"` (default) gives every tensor one
 * power-of-two scale chosen each step so that the largest stored value lands in the top binade of
 * the format (BF16 has f32's exponent range and is stored unscaled); `"none"` stores the raw values (FP16 then flushes a typical second moment to zero:
 * kept only to show that failure).
 */
export type MomentScaling = "tensor" | "none";

/** The moment formats, in order of width. */
export const MOMENT_FORMATS: readonly MomentFormat[] = Object.freeze([
  "f32",
  "FP16",
  "BF16",
  "E4M3",
]);

/**
 * Bytes one stored element of a moment format takes (4, 2, 2, 1).
 *
 * @param name a moment format name
 * @returns bytes per element
 * @throws {RangeError} for an unknown name
 *
 * @example
 * ```ts
 * import { momentBytes } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * assert.deepEqual([momentBytes("E4M3"), momentBytes("FP16"), momentBytes("f32")], [1, 2, 4]);
 * ```
 */
export function momentBytes(name: MomentFormat): number {
  const format = momentFloatFormat(name);
  return format === null ? 4 : format.bits / 8;
}

/**
 * The per-tensor scale of a scaled narrow format: the smallest power of two `s` (within f32's
 * normal range, 2^-126 to 2^127) with `amax / s <= maxNormal`, so the largest value is stored in
 * the format's top binade and nothing saturates. A power of two makes scaling and unscaling
 * exact. Returns 1 when `amax` is 0 or not finite.
 *
 * @param amax the largest magnitude to store
 * @param maxNormal the format's largest finite value
 * @returns the dequantization multiplier (stored value × scale = value)
 *
 * @example
 * ```ts
 * import { pow2Scale } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * assert.equal(pow2Scale(1, 448), 1 / 256); // 1 is stored as 256
 * assert.equal(pow2Scale(448, 448), 1);
 * ```
 */
export function pow2Scale(amax: number, maxNormal: number): number {
  if (!(amax > 0) || !Number.isFinite(amax)) return 1;
  let e = Math.ceil(Math.log2(amax / maxNormal));
  // Math.log2 may be off by an ulp near powers of two: settle on the exact smallest exponent.
  while (amax / 2 ** e > maxNormal) e++;
  while (amax / 2 ** (e - 1) <= maxNormal) e--;
  if (e < -126) e = -126;
  if (e > 127) e = 127;
  return 2 ** e;
}
