// Exact extreme order statistics of one row in a single pass, for the common case of quantile
// ranks near both ends (α >= ~0.95): two small sorted buffers keep the kLo + 1 smallest and the
// count − kHi largest values seen so far. Each value costs one range test unless it enters a
// buffer, which for values in random order happens O(k·log(count/k)) times. Adversarial orders
// (e.g. a descending row) could make insertions quadratic, so the scan gives up once it has
// shifted more than `budget` elements and the caller falls back to Floyd–Rivest: linear time
// either way. The same pass refuses NaN and ±Inf.
import { nonFiniteError } from "./_check.ts";

/** The largest buffer (k + 1) for which the scan pays; beyond it Floyd–Rivest is faster. */
export const MAX_EXTREME_BUFFER = 48;

/**
 * Scans `values[start .. start + count)` and writes the rank-kLo and rank-kHi values into
 * `result[0]` and `result[1]`. Returns false (result undefined) when the shift budget ran out.
 * `low` must hold at least kLo + 1 and `high` at least count − kHi elements.
 */
export function scanExtremes(
  values: Float32Array,
  start: number,
  count: number,
  kLo: number,
  kHi: number,
  low: Float32Array,
  high: Float32Array,
  result: Float32Array,
): boolean {
  const nLow = kLo + 1;
  const nHigh = count - kHi;
  low.fill(Infinity, 0, nLow);
  high.fill(-Infinity, 0, nHigh);
  let lowMax = Infinity; // low[nLow - 1]: the largest of the smallest values kept
  let highMin = -Infinity; // high[nHigh - 1]: the smallest of the largest values kept
  let budget = 16 * count;
  const end = start + count;
  for (let p = start; p < end; p++) {
    const v = values[p];
    // One well-predicted test for the values between the current extremes; NaN fails it too.
    if (v >= lowMax && v <= highMin) continue;
    // v − v is 0 for every finite v, NaN for NaN and ±Inf.
    if (v - v !== 0) throw nonFiniteError("values", values, p);
    if (v < lowMax) {
      let i = nLow - 1;
      while (i > 0 && low[i - 1] > v) {
        low[i] = low[i - 1];
        i--;
      }
      budget -= nLow - i;
      low[i] = v;
      lowMax = low[nLow - 1];
    }
    if (v > highMin) {
      let i = nHigh - 1;
      while (i > 0 && high[i - 1] < v) {
        high[i] = high[i - 1];
        i--;
      }
      budget -= nHigh - i;
      high[i] = v;
      highMin = high[nHigh - 1];
    }
    if (budget < 0) return false;
  }
  result[0] = lowMax;
  result[1] = highMin;
  return true;
}
