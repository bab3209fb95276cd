/**
 * UE4M3, NVFP4's block-scale format: E4M3 without a sign (max 448, 0x7F = NaN).
 *
 * @module
 */
import { UE4M3 } from "./format.ts";
import { decode, encode } from "./codes.ts";

/**
 * Encodes non-negative scales as UE4M3 bytes: each value is first rounded to f32, then to E4M3
 * with round-to-nearest-even and saturation at 448 (+Inf too); NaN gives 0x7F. This is the
 * block-scale rounding of NVFP4.
 *
 * @param values the scales
 * @param out optional output buffer
 * @returns one byte per value
 * @throws {RangeError} for a negative value (naming its index) or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { encodeUE4M3 } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.deepEqual(encodeUE4M3([1, 448, 1000, 0.3]), new Uint8Array([56, 126, 126, 42]));
 * ```
 */
export function encodeUE4M3(values: ArrayLike<number>, out?: Uint8Array): Uint8Array {
  const f32 = values instanceof Float32Array ? values : Float32Array.from(values);
  return encode(f32, UE4M3, { out });
}

/**
 * Decodes UE4M3 bytes into scale values.
 *
 * @param bytes the scale bytes (below 0x80)
 * @param out optional output buffer
 * @returns the scales
 * @throws {RangeError} for a byte with the sign bit set (naming its index)
 *
 * @example
 * ```ts
 * import { decodeUE4M3 } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeUE4M3(new Uint8Array([56, 126, 127])), new Float32Array([1, 448, NaN]));
 * ```
 */
export function decodeUE4M3(bytes: Uint8Array, out?: Float32Array): Float32Array {
  return decode(bytes, UE4M3, out);
}
