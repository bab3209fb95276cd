/**
 * Counter-based random numbers for stochastic rounding: the draw for element i depends only on
 * (seed, i), so results do not depend on how the work is split into calls, threads or GPU
 * invocations, and every seed (0 included) gives its own stream.
 *
 * @module
 */

/** A 32-bit integer mixing function (the "lowbias32" finaliser): a bijection on 32-bit words. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * The key that {@link uniformAt} uses for `seed`.
 *
 * @param seed any integer; only its low 32 bits count
 * @returns the stream key
 *
 * @example
 * ```ts
 * import { seedKey, uniformAt } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const key = seedKey(42);
 * assert.equal(uniformAt(key, 0), uniformAt(key, 0));
 * ```
 */
export function seedKey(seed: number): number {
  return mix32((seed >>> 0) ^ 0x9e3779b9);
}

/**
 * The uniform draw in [0, 1), with 24 random bits, for element `index` of the stream `key`.
 *
 * @param key a stream key from {@link seedKey}
 * @param index the element's position in the stream
 * @returns a number in [0, 1)
 *
 * @example
 * ```ts
 * import { seedKey, uniformAt } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const u = uniformAt(seedKey(1), 7);
 * assert.ok(u >= 0 && u < 1);
 * ```
 */
export function uniformAt(key: number, index: number): number {
  return (mix32(mix32(index >>> 0) ^ key) >>> 8) * 5.9604644775390625e-8;
}
