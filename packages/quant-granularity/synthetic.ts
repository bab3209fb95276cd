/**
 * Seeded synthetic tensors for comparing schemes: heavy-tailed activations with hot channels, as
 * LLM activations look (the FP4 paper, Fig. 14: outliers concentrate in a few channels).
 *
 * @module
 */
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { checkPositiveInteger } from "./_resolve.ts";

/** Options of {@link heavyTailedActivations}. */
export interface HeavyTailOptions {
  /** Degrees of freedom of the Student-t elements (a positive integer; smaller = heavier). Default 3. */
  df?: number;
  /** Number of hot channels (columns), spread evenly over K. Default 4. */
  hotChannels?: number;
  /** Magnitude multiplier of the hot channels. Default 20. */
  hotScale?: number;
  /** Seed. Default 0. */
  seed?: number;
}

/**
 * A rows × cols activation matrix: Student-t elements with `df` degrees of freedom (a normal over
 * the root of a χ²/df, from Box-Muller normals on the counter-based stream of `seed`), with
 * `hotChannels` columns multiplied by `hotScale`.
 *
 * @param rows tokens
 * @param cols channels (K)
 * @param options tail weight, hot channels, seed
 * @returns the matrix, row-major
 * @throws {RangeError} for non-positive sizes or options out of range
 *
 * @example
 * ```ts
 * import { heavyTailedActivations } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const a = heavyTailedActivations(4, 64, { seed: 1 });
 * assert.equal(a.length, 256);
 * ```
 */
export function heavyTailedActivations(
  rows: number,
  cols: number,
  options: HeavyTailOptions = {},
): Float32Array {
  checkPositiveInteger("rows", rows);
  checkPositiveInteger("cols", cols);
  const df = options.df ?? 3;
  checkPositiveInteger("options.df", df);
  const hot = options.hotChannels ?? 4;
  if (!Number.isInteger(hot) || hot < 0 || hot > cols) {
    throw new RangeError(`options.hotChannels must be an integer in [0, ${cols}], got ${hot}`);
  }
  const hotScale = options.hotScale ?? 20;
  if (!(hotScale > 0) || !Number.isFinite(hotScale)) {
    throw new RangeError(`options.hotScale must be positive and finite, got ${hotScale}`);
  }
  const key = seedKey(options.seed ?? 0);
  let counter = 0;
  const normal = () => {
    // Box-Muller; 1 − u keeps the logarithm's argument in (0, 1].
    const u = 1 - uniformAt(key, counter++);
    const v = uniformAt(key, counter++);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const channelScale = new Float64Array(cols).fill(1);
  for (let h = 0; h < hot; h++) channelScale[Math.floor(((h + 0.5) * cols) / hot)] = hotScale;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    let chi2 = 0;
    for (let k = 0; k < df; k++) chi2 += normal() ** 2;
    out[i] = (normal() / Math.sqrt(chi2 / df)) * channelScale[i % cols];
  }
  return out;
}
