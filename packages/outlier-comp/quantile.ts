/**
 * Quantile clamp thresholds, exact, by selection: per row (token) or per tensor.
 *
 * @module
 */
import { checkAlpha, checkFloat32Array, checkShape, nonFiniteError } from "./_check.ts";
import { floydRivest } from "./select.ts";

/** Where the quantiles are taken: each row (token) on its own, or the whole tensor. */
export type QuantileScope = "row" | "tensor";

/** Options of {@link quantileThresholds}. */
export interface QuantileOptions {
  /** Upper quantile α in (0.5, 1); the lower one is 1 − α. Default 0.99 (the paper's choice). */
  alpha?: number;
  /** `"row"` (default, as the released code: one pair per token) or `"tensor"`. */
  scope?: QuantileScope;
}

/** Clamp thresholds: one pair per row, or a single pair (length 1) for scope `"tensor"`. */
export interface Thresholds {
  /** The (1 − α)-quantile of each group. */
  lower: Float32Array;
  /** The α-quantile of each group. */
  upper: Float32Array;
}

/**
 * Ranks of the two quantiles in a group of `count` values, as the released code takes them
 * after a sort: the ⌊(1 − α)·count⌋-th and ⌊α·count⌋-th values (0-based), computed in f64.
 *
 * @param count group size (row length, or element count for scope "tensor")
 * @param alpha the upper quantile, in (0.5, 1)
 * @returns the 0-based ranks `[lowerRank, upperRank]`
 * @throws {RangeError} for α outside (0.5, 1) or a non-positive count
 *
 * @example 768 channels at α = 0.99: the 7th and 760th values (0-based)
 * ```ts
 * import { quantileRanks } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * assert.deepEqual(quantileRanks(768, 0.99), [7, 760]);
 * ```
 */
export function quantileRanks(count: number, alpha: number): [number, number] {
  checkAlpha(alpha, "alpha");
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  const lower = Math.floor((1 - alpha) * count);
  const upper = Math.min(count - 1, Math.floor(alpha * count));
  return [lower, upper];
}

/**
 * The clamp thresholds q_{1−α} and q_α of an activation matrix `[rows, cols]`, exact (the same
 * values a full sort would pick, see {@link quantileRanks}) but found by Floyd–Rivest selection
 * in expected linear time. The input is not modified.
 *
 * @param values the activations, row-major `[rows, cols]` (rows = tokens)
 * @param rows number of rows
 * @param cols number of columns (channels)
 * @param options `alpha` (default 0.99) and `scope` (default `"row"`)
 * @returns the lower and upper thresholds
 * @throws {TypeError} when `values` is not a Float32Array
 * @throws {RangeError} for α outside (0.5, 1), an unknown scope, a shape that does not match, or
 *   a NaN or infinite value (naming its index)
 *
 * @example
 * ```ts
 * import { quantileThresholds } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const x = new Float32Array(200).map((_, i) => i); // two rows: 0..99 and 100..199
 * const { lower, upper } = quantileThresholds(x, 2, 100, { alpha: 0.95 });
 * assert.deepEqual(lower, new Float32Array([5, 105]));
 * assert.deepEqual(upper, new Float32Array([95, 195]));
 * ```
 */
export function quantileThresholds(
  values: Float32Array,
  rows: number,
  cols: number,
  options: QuantileOptions = {},
): Thresholds {
  checkFloat32Array("values", values);
  checkShape(values.length, rows, cols);
  const alpha = checkAlpha(options.alpha ?? 0.99);
  const scope = checkScope(options.scope ?? "row");
  if (scope === "tensor") {
    const scratch = finiteCopy(values, 0, values.length, new Float32Array(values.length));
    const [lo, hi] = selectPair(scratch, values.length, alpha);
    return { lower: Float32Array.of(lo), upper: Float32Array.of(hi) };
  }
  const lower = new Float32Array(rows);
  const upper = new Float32Array(rows);
  const scratch = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    finiteCopy(values, r * cols, cols, scratch);
    [lower[r], upper[r]] = selectPair(scratch, cols, alpha);
  }
  return { lower, upper };
}

/** Validates the scope option. */
export function checkScope(scope: unknown): QuantileScope {
  if (scope !== "row" && scope !== "tensor") {
    throw new RangeError(`options.scope must be "row" or "tensor", got ${scope}`);
  }
  return scope;
}

/** Copies `count` values from `start` into `scratch`, refusing NaN and ±Inf. */
export function finiteCopy(
  values: Float32Array,
  start: number,
  count: number,
  scratch: Float32Array,
): Float32Array {
  for (let c = 0; c < count; c++) {
    const v = values[start + c];
    // v − v is 0 for every finite v and NaN for NaN and ±Inf.
    if (v - v !== 0) throw nonFiniteError("values", values, start + c);
    scratch[c] = v;
  }
  return scratch;
}

/** Selects the two quantile ranks of `scratch[0..count)` (rearranging it). */
export function selectPair(scratch: Float32Array, count: number, alpha: number): [number, number] {
  const [kLo, kHi] = quantileRanks(count, alpha);
  floydRivest(scratch, kLo, 0, count - 1);
  const lower = scratch[kLo];
  if (kHi === kLo) return [lower, lower];
  // Everything after kLo is now >= lower, so rank kHi is found within (kLo, count).
  floydRivest(scratch, kHi, kLo + 1, count - 1);
  return [lower, scratch[kHi]];
}
