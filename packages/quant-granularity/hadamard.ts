/**
 * The random Hadamard transform (RHT) of NVFP4 training: blocks of 16 (or 32) along K are
 * multiplied by a seeded random sign diagonal and an orthonormal Walsh-Hadamard matrix, which
 * spreads outliers across the block before quantization. The inverse undoes it.
 *
 * @module
 */
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { checkMatrix, checkOut } from "./_resolve.ts";

/** Options of {@link randomHadamard}. */
export interface HadamardOptions {
  /** Transform size along K: 16 (NVFP4's) or 32. Default 16. */
  size?: 16 | 32;
  /** Seed of the sign vector; the same seed must be used for the inverse. Default 0. */
  seed?: number;
  /** `true` applies the inverse transform. Default `false`. */
  inverse?: boolean;
  /** Output buffer of rows · cols floats; may be the input. Default: a new array. */
  out?: Float32Array;
}

/**
 * The sign vector of the random Hadamard transform: `size` entries ±1, entry i negative when the
 * counter-based draw `uniformAt(seedKey(seed), i)` is below 1/2. Every block uses the same vector.
 *
 * @param size 16 or 32
 * @param seed any integer
 * @returns the signs
 * @throws {RangeError} for a size other than 16 or 32, or a non-integer seed
 *
 * @example
 * ```ts
 * import { hadamardSigns } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const signs = hadamardSigns(16, 7);
 * assert.equal(signs.length, 16);
 * assert.ok(signs.every((s) => s === 1 || s === -1));
 * ```
 */
export function hadamardSigns(size: number, seed: number): Float32Array {
  if (size !== 16 && size !== 32) throw new RangeError(`size must be 16 or 32, got ${size}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const key = seedKey(seed);
  const signs = new Float32Array(size);
  for (let i = 0; i < size; i++) signs[i] = uniformAt(key, i) < 0.5 ? -1 : 1;
  return signs;
}

/**
 * Applies the random Hadamard transform y = H · D · x / √n (or its inverse x = D · H · y / √n) to
 * every block of n = `size` consecutive elements along K of a rows × cols matrix, with D the
 * seeded sign diagonal of {@link hadamardSigns} and H the Sylvester Walsh-Hadamard matrix. The
 * butterflies run in f32; for n = 16 the normalisation 1/4 is exact, so integer inputs give exact
 * results. K must be a multiple of `size`.
 *
 * @param values the rows × cols matrix, K contiguous
 * @param rows number of rows
 * @param cols number of columns (K), a multiple of `size`
 * @param options size, seed, direction, output buffer
 * @returns the transformed matrix
 * @throws {TypeError} when `values` or `out` is not a Float32Array
 * @throws {RangeError} for a shape mismatch, a size other than 16 or 32, or a K that `size` does
 *   not divide
 *
 * @example A round trip
 * ```ts
 * import { randomHadamard } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const x = new Float32Array(32).map((_, i) => i - 8);
 * const y = randomHadamard(x, 2, 16, { seed: 3 });
 * const back = randomHadamard(y, 2, 16, { seed: 3, inverse: true });
 * assert.deepEqual(back, x);
 * ```
 */
export function randomHadamard(
  values: Float32Array,
  rows: number,
  cols: number,
  options: HadamardOptions = {},
): Float32Array {
  checkMatrix(values, rows, cols);
  const size = options.size ?? 16;
  const signs = hadamardSigns(size, options.seed ?? 0);
  if (cols % size !== 0) {
    throw new RangeError(`cols must be a multiple of options.size = ${size}, got ${cols}`);
  }
  const out = options.out ?? new Float32Array(values.length);
  checkOut(out, values.length, "options.out");
  const norm = Math.fround(1 / Math.sqrt(size));
  const inverse = options.inverse ?? false;
  const block = new Float32Array(size);
  for (let start = 0; start < values.length; start += size) {
    if (inverse) {
      for (let i = 0; i < size; i++) block[i] = values[start + i];
    } else {
      for (let i = 0; i < size; i++) block[i] = values[start + i] * signs[i];
    }
    // In-place fast Walsh-Hadamard transform (Sylvester order), each sum rounded to f32.
    for (let h = 1; h < size; h <<= 1) {
      for (let i = 0; i < size; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = block[j];
          const b = block[j + h];
          block[j] = a + b;
          block[j + h] = a - b;
        }
      }
    }
    if (inverse) {
      for (let i = 0; i < size; i++) out[start + i] = Math.fround(block[i] * norm) * signs[i];
    } else {
      for (let i = 0; i < size; i++) out[start + i] = block[i] * norm;
    }
  }
  return out;
}
