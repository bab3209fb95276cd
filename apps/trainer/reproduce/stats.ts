/**
 * Small statistics for the reproduction reports: mean and sample standard deviation over seeds,
 * and a verdict on a paired difference (same seeds, so same data order and initialization).
 *
 * @module
 */

/** Mean and spread of a few values. */
export interface Spread {
  /** mean of the finite values (NaN when none) */
  mean: number;
  /** sample standard deviation (n − 1) of the finite values, 0 for one value */
  std: number;
  /** how many values were finite */
  n: number;
  /** how many were not (diverged runs) */
  nonFinite: number;
}

/**
 * Mean and sample standard deviation of the finite values.
 *
 * @param values e.g. one validation loss per seed
 * @returns the spread
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { spread } from "./stats.ts";
 * assert.deepEqual(spread([1, 2, 3]), { mean: 2, std: 1, n: 3, nonFinite: 0 });
 * ```
 */
export function spread(values: readonly number[]): Spread {
  const ok = values.filter(Number.isFinite);
  const n = ok.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0, nonFinite: values.length };
  const mean = ok.reduce((a, b) => a + b, 0) / n;
  const ss = ok.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n, nonFinite: values.length - n };
}

/** Whether a paired difference points the expected way, and whether it stands out of the noise. */
export type Verdict =
  | "agrees"
  | "agrees (within noise)"
  | "disagrees (within noise)"
  | "disagrees"
  | "n/a";

/**
 * Judges `worse − better > 0` over paired seeds. A diverged run counts as infinitely bad. The
 * difference is clear when |mean| exceeds two standard errors (std/√n) of the paired
 * differences; with one seed nothing is clear.
 *
 * @param worse per-seed losses of the configuration the paper expects to be worse
 * @param better per-seed losses of the one it expects to be better (same seed order)
 * @returns the verdict, the paired mean difference, its standard deviation and the pairs used
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { judge } from "./stats.ts";
 * assert.equal(judge([2.1, 2.2, 2.3], [2.0, 2.1, 2.2]).verdict, "agrees");
 * ```
 */
export function judge(
  worse: readonly number[],
  better: readonly number[],
): { verdict: Verdict; diff: number; std: number; n: number } {
  const w = worse.map((x) => Number.isFinite(x) ? x : Infinity);
  const b = better.map((x) => Number.isFinite(x) ? x : Infinity);
  const n = Math.min(w.length, b.length);
  if (n === 0) return { verdict: "n/a", diff: NaN, std: NaN, n };
  const wInf = w.slice(0, n).filter((x) => x === Infinity).length;
  const bInf = b.slice(0, n).filter((x) => x === Infinity).length;
  if (wInf > 0 || bInf > 0) {
    if (wInf === bInf) return { verdict: "n/a", diff: NaN, std: NaN, n };
    return {
      verdict: wInf > bInf ? "agrees" : "disagrees",
      diff: wInf > bInf ? Infinity : -Infinity,
      std: NaN,
      n,
    };
  }
  const d = Array.from({ length: n }, (_, i) => w[i] - b[i]);
  const s = spread(d);
  const clear = n > 1 && Math.abs(s.mean) > 2 * s.std / Math.sqrt(n);
  const verdict: Verdict = s.mean > 0
    ? (clear ? "agrees" : "agrees (within noise)")
    : (clear ? "disagrees" : "disagrees (within noise)");
  return { verdict, diff: s.mean, std: s.std, n };
}

/**
 * `x.xxxx ± y.yyyy`, or `diverged` / `—`.
 *
 * @param s a spread
 * @param digits decimals
 * @param signed prefix `+` on non-negative means
 * @returns text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSpread } from "./stats.ts";
 * assert.equal(formatSpread({ mean: 2, std: 0.01, n: 3, nonFinite: 0 }), "2.0000 ± 0.0100");
 * ```
 */
export function formatSpread(s: Spread, digits = 4, signed = false): string {
  if (s.n === 0) return s.nonFinite > 0 ? "diverged" : "—";
  const m = (signed && s.mean >= 0 ? "+" : "") + s.mean.toFixed(digits);
  const text = s.n > 1 ? `${m} ± ${s.std.toFixed(digits)}` : m;
  return s.nonFinite > 0 ? `${text} (${s.nonFinite} diverged)` : text;
}
