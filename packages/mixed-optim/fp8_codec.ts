/**
 * The FP8 gradient codec: one power-of-two scale shared by every rank (from the largest |g| over
 * ranks, MS-AMP's rule), E4M3 codes on the wire, f32 on either side. A multi-worker all-reduce
 * uses these three functions exactly as the in-process ring of `ringAllReduce` does.
 *
 * @module
 */
import { codesOfRounded, codeTable, E4M3, quantize } from "@fp4lab/fp4-format";
import { checkFiniteIn, checkFloat32Array, checkInteger } from "./_check.ts";
import { pow2Scale } from "./moment_format.ts";

const E4M3_VALUES = codeTable(E4M3);

/** Relative rounding bound of E4M3 for normal values: half an ulp, 2^-4 of the value. */
export const E4M3_UNIT_ROUNDOFF = 2 ** -4;

/**
 * The shared scale of an FP8 all-reduce over `ranks` ranks, from `amax`, the largest |x| of any
 * rank's contribution (each rank sends its amax around the ring first). Every partial sum of k
 * contributions is at most k·amax; the scale leaves room for R of them plus the growth of R
 * roundings ((1 + 2^-4)^R), so no hop saturates. A power of two, so scaling is exact.
 *
 * @param amax the largest |contribution| over all ranks, finite and ≥ 0
 * @param ranks the number of ranks R ≥ 1
 * @returns the dequantization multiplier (code value × scale = value)
 * @throws {RangeError} for a negative or non-finite `amax` or a bad `ranks`
 *
 * @example
 * ```ts
 * import { fp8GradScale } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * assert.equal(fp8GradScale(0.25, 4), 2 ** -8); // a sum up to 1.27 fits under 448 · 2^-8
 * ```
 */
export function fp8GradScale(amax: number, ranks: number): number {
  checkFiniteIn("amax", amax, 0, Number.MAX_VALUE);
  checkInteger("ranks", ranks, 1, 2 ** 20);
  return pow2Scale(amax * ranks * (1 + E4M3_UNIT_ROUNDOFF) ** ranks, E4M3.maxNormal);
}

/**
 * Encodes f32 values as E4M3 codes behind `scale`: code = E4M3(value / scale), round to nearest
 * even, saturating (a scale from {@link fp8GradScale} never saturates).
 *
 * @param values the values to send
 * @param scale the shared power-of-two scale
 * @param codes output, one byte per value
 * @param scratch an f32 work buffer of the same length (reused, so the hot path allocates nothing)
 * @returns `codes`
 * @throws {RangeError} for mismatched lengths or a scale that is not a positive power of two
 *
 * @example
 * ```ts
 * import { decodeFp8, encodeFp8 } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([0.3, -1.1]);
 * const codes = encodeFp8(x, 2 ** -6, new Uint8Array(2), new Float32Array(2));
 * const back = decodeFp8(codes, 2 ** -6, new Float32Array(2));
 * assert.deepEqual(back, new Float32Array([0.3125, -1.125]));
 * ```
 */
export function encodeFp8(
  values: Float32Array,
  scale: number,
  codes: Uint8Array,
  scratch: Float32Array,
): Uint8Array {
  checkFloat32Array("values", values);
  checkFloat32Array("scratch", scratch);
  checkPow2("scale", scale);
  if (!(codes instanceof Uint8Array)) throw new TypeError("codes must be a Uint8Array");
  if (codes.length !== values.length || scratch.length !== values.length) {
    throw new RangeError(
      `codes and scratch must have the length of values (${values.length}), got ` +
        `${codes.length} and ${scratch.length}`,
    );
  }
  const inverse = 1 / scale;
  for (let i = 0; i < values.length; i++) scratch[i] = values[i] * inverse;
  quantize(scratch, E4M3, { out: scratch });
  codesOfRounded(scratch, E4M3, codes);
  return codes;
}

/**
 * Decodes E4M3 codes behind `scale` into f32: `out[i] = value(code) × scale`, or
 * `out[i] += value(code) × scale` with `accumulate` (the receiving side of a reduce).
 *
 * @param codes the received codes
 * @param scale the shared power-of-two scale
 * @param out the output (same length)
 * @param accumulate add into `out` instead of overwriting it (sum in f32)
 * @returns `out`
 * @throws {RangeError} for mismatched lengths or a bad scale
 *
 * @example
 * ```ts
 * import { decodeFp8 } from "@fp4lab/mixed-optim";
 * import assert from "node:assert/strict";
 * const out = new Float32Array([1, 1]);
 * decodeFp8(new Uint8Array([0x38, 0xb8]), 0.5, out, true); // ±1 · 0.5, added to out
 * assert.deepEqual(out, new Float32Array([1.5, 0.5]));
 * ```
 */
export function decodeFp8(
  codes: Uint8Array,
  scale: number,
  out: Float32Array,
  accumulate = false,
): Float32Array {
  checkFloat32Array("out", out);
  checkPow2("scale", scale);
  if (!(codes instanceof Uint8Array)) throw new TypeError("codes must be a Uint8Array");
  if (codes.length !== out.length) {
    throw new RangeError(`out must have the length of codes (${codes.length}), got ${out.length}`);
  }
  if (accumulate) {
    for (let i = 0; i < codes.length; i++) out[i] += E4M3_VALUES[codes[i]] * scale;
  } else {
    for (let i = 0; i < codes.length; i++) out[i] = E4M3_VALUES[codes[i]] * scale;
  }
  return out;
}

function checkPow2(name: string, scale: number): void {
  if (!(scale > 0) || !Number.isFinite(scale) || 2 ** Math.round(Math.log2(scale)) !== scale) {
    throw new RangeError(`${name} must be a positive power of two, got ${scale}`);
  }
}
