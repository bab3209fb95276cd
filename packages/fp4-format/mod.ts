/**
 * `@fp4lab/fp4-format`: minifloat number formats down to FP4, bit-exact against the OCP
 * Microscaling spec v1.0.
 *
 * Formats are plain objects (`E2M1`, `E2M3`, `E3M2`, `E4M3`, `E5M2`, `FP16`, `BF16`, or any ExMy
 * from `floatFormat`). `quantize` rounds a Float32Array onto a format (nearest-even with
 * saturation by default, the FP4 paper's ties-up table, or seeded stochastic rounding);
 * `encode`/`decode` convert to and from codes, `packNibbles` puts two FP4 codes in a byte (low
 * nibble first), and the scale formats E8M0 and UE4M3 have their own encoders.
 *
 * @example
 * ```ts
 * import { E2M1, encode, packNibbles, quantize } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([0.3, -2.6, 5.2, 100]);
 * assert.deepEqual(quantize(x, E2M1), new Float32Array([0.5, -3, 6, 6]));
 * assert.deepEqual(packNibbles(encode(x, E2M1)), new Uint8Array([0xd1, 0x77]));
 * ```
 *
 * @module
 */
export * from "./format.ts";
export * from "./quantize.ts";
export * from "./codes.ts";
export * from "./pack.ts";
export * from "./e8m0.ts";
export * from "./ue4m3.ts";
export * from "./random.ts";
