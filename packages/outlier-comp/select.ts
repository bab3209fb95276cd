/**
 * Exact order statistics by selection (Floyd–Rivest), in expected linear time: the quantile
 * thresholds of outlier clamping without sorting the tensor.
 *
 * @module
 */
import { checkFloat32Array } from "./_check.ts";

/**
 * Rearranges `values[left..right]` in place so that `values[k]` holds the value a full sort would
 * put there, everything before it is ≤ and everything after it is ≥ (Floyd and Rivest's
 * SELECT, Algorithm 489: a sample narrows the search to a small window around k, then one
 * partition pass; about n + min(k, n − k) comparisons on average, no sort). NaN-free input is
 * the caller's duty.
 *
 * @param values the array to rearrange (only `left..right` is touched)
 * @param k the rank to select, `left <= k <= right`
 * @param left first index of the range (default 0)
 * @param right last index of the range (default `values.length - 1`)
 * @returns the k-th smallest value of the range
 * @throws {TypeError} when `values` is not a Float32Array
 * @throws {RangeError} when the indices are not integers with `0 <= left <= k <= right < length`
 *
 * @example The 3rd smallest (0-based rank 2) without sorting
 * ```ts
 * import { selectKth } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([9, -1, 4, 7, 0, 3]);
 * assert.equal(selectKth(x, 2), 3);
 * ```
 */
export function selectKth(
  values: Float32Array,
  k: number,
  left = 0,
  right: number = values.length - 1,
): number {
  checkFloat32Array("values", values);
  if (
    !Number.isInteger(left) || !Number.isInteger(right) || !Number.isInteger(k) || left < 0 ||
    right >= values.length || k < left || k > right
  ) {
    throw new RangeError(
      `need integers 0 <= left <= k <= right < ${values.length}, got left ${left}, k ${k}, right ${right}`,
    );
  }
  floydRivest(values, k, left, right);
  return values[k];
}

/** The unchecked selection used by the hot paths. */
export function floydRivest(a: Float32Array, k: number, left: number, right: number): void {
  while (right > left) {
    if (right - left > 600) {
      // Recurse on a sample of size s around the expected position of k, so that the final
      // partition below runs with a pivot already very close to rank k.
      const n = right - left + 1;
      const i = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (i - n / 2 < 0 ? -1 : 1);
      const newLeft = Math.max(left, Math.floor(k - (i * s) / n + sd));
      const newRight = Math.min(right, Math.floor(k + ((n - i) * s) / n + sd));
      floydRivest(a, k, newLeft, newRight);
    }
    const t = a[k];
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right] > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i] < t) i++;
      while (a[j] > t) j--;
    }
    if (a[left] === t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
