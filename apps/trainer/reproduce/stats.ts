/**
 * The statistics of the reproduction pages: mean and spread over seeds; paired differences with
 * a t-based 95% interval (n − 1 degrees of freedom); verdicts that say "agrees" only when the
 * interval excludes zero in the paper's direction after a Holm correction over every comparison a
 * page makes; the smallest effect a design can see; a least-squares line with a slope interval.
 * Student's t distribution comes from the npm package `jstat` (checked against a printed table
 * in `stats_test.ts`).
 *
 * @module
 */
import jStat from "jstat";

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
 * import { spread } from "./stats.ts";
 * import assert from "node:assert/strict";
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

function checkDf(df: number): void {
  if (!(df > 0) || !Number.isFinite(df)) {
    throw new RangeError(`degrees of freedom must be a positive number, got ${df}`);
  }
}

/**
 * Quantile of Student's t distribution: the t with P(T <= t) = p.
 *
 * @param p probability in (0, 1)
 * @param df degrees of freedom (> 0)
 * @returns the quantile
 * @throws {RangeError} for p outside (0, 1) or df <= 0
 * @example
 * ```ts
 * import { tQuantile } from "./stats.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(tQuantile(0.975, 2) - 4.303) < 1e-3); // the 95% two-sided value, 2 df
 * ```
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  checkDf(df);
  return jStat.studentt.inv(p, df) as number;
}

/**
 * Cumulative distribution of Student's t: P(T <= t).
 *
 * @param t value
 * @param df degrees of freedom (> 0)
 * @returns the probability
 * @example
 * ```ts
 * import { tCdf } from "./stats.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(tCdf(0, 5) - 0.5) < 1e-6);
 * assert.ok(Math.abs(tCdf(-2.5, 3) - 0.0439) < 1e-4);
 * ```
 */
export function tCdf(t: number, df: number): number {
  checkDf(df);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  return jStat.studentt.cdf(t, df) as number;
}

/** A paired difference over seeds: `worse − better`, seed by seed. */
export interface PairedDifference {
  /** pairs compared (seeds where both runs finished training, diverged or not) */
  n: number;
  /** mean paired difference (±Infinity when a divergence decides it, NaN when nothing does) */
  diff: number;
  /** sample standard deviation of the paired differences (NaN below 2 pairs) */
  std: number;
  /** 95% confidence interval of the mean difference, t with n − 1 df, or null below 2 pairs */
  ci: readonly [number, number] | null;
  /** two-sided p-value of the paired t-test (null when no test applies) */
  p: number | null;
  /** pairs where only the `worse` side diverged, and where only the `better` side did */
  diverged: { worse: number; better: number };
}

/**
 * The paired difference `worse − better` with its t-based 95% interval and two-sided p-value.
 * A diverged run (non-finite loss) has no loss to subtract: when divergence separates the two in
 * every pair (one side diverged in all, the other in none) the difference is ±Infinity and no
 * test is needed; otherwise pairs with a divergence are left out of the t-test and counted.
 *
 * @param worse per-seed losses of the configuration the paper expects to be worse
 * @param better per-seed losses of the other one (same seed order)
 * @param level confidence level of the interval (default 0.95)
 * @returns the difference, its interval and p-value
 * @example
 * ```ts
 * import { pairedDifference } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const d = pairedDifference([2.1, 2.2, 2.3], [2.0, 2.15, 2.32]);
 * assert.ok(Math.abs(d.diff - 0.0433) < 1e-3);
 * assert.ok(d.ci![0] < 0 && d.ci![1] > 0); // three seeds this close: zero is inside
 * ```
 */
export function pairedDifference(
  worse: readonly number[],
  better: readonly number[],
  level = 0.95,
): PairedDifference {
  const n = Math.min(worse.length, better.length);
  let dw = 0, db = 0;
  const d: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = Number.isFinite(worse[i]), b = Number.isFinite(better[i]);
    if (w && b) d.push(worse[i] - better[i]);
    else if (!w && b) dw++;
    else if (w && !b) db++;
  }
  const diverged = { worse: dw, better: db };
  if (n === 0) return { n, diff: NaN, std: NaN, ci: null, p: null, diverged };
  if (dw === n) return { n, diff: Infinity, std: NaN, ci: null, p: null, diverged };
  if (db === n) return { n, diff: -Infinity, std: NaN, ci: null, p: null, diverged };
  const s = spread(d);
  if (s.n < 2) return { n, diff: s.mean, std: NaN, ci: null, p: null, diverged };
  const se = s.std / Math.sqrt(s.n);
  const df = s.n - 1;
  const half = tQuantile(1 - (1 - level) / 2, df) * se;
  let p: number;
  if (se === 0) p = s.mean === 0 ? 1 : 0;
  else p = Math.min(1, 2 * tCdf(-Math.abs(s.mean / se), df));
  return { n, diff: s.mean, std: s.std, ci: [s.mean - half, s.mean + half], p, diverged };
}

/**
 * Holm's step-down adjustment of p-values (controls the chance of any false call over the family
 * at the level used). Null entries (comparisons without a test) are left null and not counted.
 *
 * @param pValues raw p-values, one per comparison
 * @returns adjusted p-values in the same order (monotone, at most 1)
 * @example
 * ```ts
 * import { holm } from "./stats.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(holm([0.01, 0.04, 0.03, null]), [0.03, 0.06, 0.06, null]);
 * ```
 */
export function holm(pValues: readonly (number | null)[]): (number | null)[] {
  const idx = pValues.map((p, i) => [p, i] as const).filter((x): x is readonly [number, number] =>
    x[0] !== null
  ).sort((a, b) => a[0] - b[0]);
  const m = idx.length;
  const out: (number | null)[] = pValues.map(() => null);
  let running = 0;
  idx.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    // Rounding noise of (m - k) * p is kept out of the page's two-decimal tables.
    out[i] = Number(running.toPrecision(12));
  });
  return out;
}

/** What a comparison says about a claim of the paper. */
export type Verdict = "agrees" | "within noise" | "disagrees" | "n/a";

/**
 * The kind of claim: `"worse"` (the paper says `worse` has the higher loss) or `"match"` (the
 * paper says the two are the same; only a clear difference, either way, is a disagreement).
 */
export type ClaimKind = "worse" | "match";

/** One comparison of a page, judged within its family. */
export interface Judged extends PairedDifference {
  /** Holm-adjusted p-value over the page's comparisons (null when no test applied) */
  pHolm: number | null;
  /** the verdict */
  verdict: Verdict;
  /** the claim's kind */
  kind: ClaimKind;
}

/** One comparison to judge: per-seed losses, same seed order. */
export interface Comparison {
  /** losses of the side the paper expects worse (for `"match"`: either side) */
  readonly worse: readonly number[];
  /** losses of the other side */
  readonly better: readonly number[];
  /** default `"worse"` */
  readonly kind?: ClaimKind;
}

/**
 * Judges a page's comparisons together. A `"worse"` claim *agrees* only when its Holm-adjusted
 * p-value is below `alpha` and the mean difference is positive (so its 95% interval excludes zero
 * on the paper's side), *disagrees* when the same holds on the other side, and is *within noise*
 * otherwise. A `"match"` claim is *within noise* (what the claim predicts) unless the difference
 * is clear, then it *disagrees*. A divergence in every pair decides a comparison without a test;
 * with fewer than two pairs nothing is called.
 *
 * @param comparisons the page's comparisons
 * @param alpha family-wise error rate (default 0.05)
 * @returns one judgement per comparison, in order
 * @example
 * ```ts
 * import { judgeFamily } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = judgeFamily([
 *   { worse: [3.01, 2.51, 2.01, 2.61], better: [3.0, 2.5, 2.0, 2.6] }, // +0.01 every seed
 *   { worse: [2.01, 1.99, 2.02], better: [2, 2, 2] },
 * ]);
 * assert.equal(a.verdict, "agrees");
 * assert.equal(b.verdict, "within noise");
 * ```
 */
export function judgeFamily(comparisons: readonly Comparison[], alpha = 0.05): Judged[] {
  const diffs = comparisons.map((c) => pairedDifference(c.worse, c.better));
  const adjusted = holm(diffs.map((d) => d.p));
  return diffs.map((d, i) => {
    const kind = comparisons[i].kind ?? "worse";
    const pHolm = adjusted[i];
    let verdict: Verdict;
    if (d.n === 0 || Number.isNaN(d.diff)) verdict = "n/a";
    else if (!Number.isFinite(d.diff)) {
      verdict = kind === "match" ? "disagrees" : d.diff > 0 ? "agrees" : "disagrees";
    } else if (pHolm === null || pHolm >= alpha) verdict = "within noise";
    else if (kind === "match") verdict = "disagrees";
    else verdict = d.diff > 0 ? "agrees" : "disagrees";
    return { ...d, pHolm, verdict, kind };
  });
}

/**
 * Formats a judged difference: `+0.0123 [−0.0040, +0.0286]`, `diverged: worse side` or `—`.
 *
 * @param j a judged (or plain paired) difference
 * @param digits decimals
 * @returns text for a table cell
 * @example
 * ```ts
 * import { formatDifference, pairedDifference } from "./stats.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatDifference(pairedDifference([2, 2.2], [1.9, 2.0]), 2), "+0.15 [−0.49, +0.79]");
 * ```
 */
export function formatDifference(j: PairedDifference, digits = 4): string {
  const s = (x: number) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(digits);
  if (Number.isNaN(j.diff)) return "—";
  if (j.diff === Infinity) return "only the first diverged";
  if (j.diff === -Infinity) return "only the second diverged";
  const base = j.ci ? `${s(j.diff)} [${s(j.ci[0])}, ${s(j.ci[1])}]` : `${s(j.diff)} (1 pair)`;
  const d = j.diverged.worse + j.diverged.better;
  return d ? `${base} (${d} pair${d > 1 ? "s" : ""} with a divergence left out)` : base;
}

/**
 * The smallest true mean paired difference a design detects with the given power by a two-sided
 * paired t-test at level `alpha`: (t_{1−α/2} + t_{power}) · sd / √n with n − 1 degrees of freedom
 * (the usual approximation to the noncentral t).
 *
 * @param sd standard deviation of a paired difference (e.g. measured seed noise)
 * @param n pairs (seeds)
 * @param alpha test level (default 0.05; divide by the family size for a Bonferroni/Holm bound)
 * @param power chance of detecting an effect of that size (default 0.8)
 * @returns the minimum detectable effect, in the units of `sd`
 * @throws {RangeError} below two pairs
 * @example
 * ```ts
 * import { minimumDetectableEffect } from "./stats.ts";
 * import assert from "node:assert/strict";
 * // paired seed noise 0.02 nats: 3 seeds see gaps of ~0.062 nats, 8 seeds ~0.023
 * assert.ok(Math.abs(minimumDetectableEffect(0.02, 3) - 0.0619) < 1e-3);
 * assert.ok(Math.abs(minimumDetectableEffect(0.02, 8) - 0.0231) < 1e-3);
 * ```
 */
export function minimumDetectableEffect(sd: number, n: number, alpha = 0.05, power = 0.8): number {
  if (!(n >= 2)) throw new RangeError(`need at least 2 pairs, got ${n}`);
  const df = n - 1;
  return (tQuantile(1 - alpha / 2, df) + tQuantile(power, df)) * sd / Math.sqrt(n);
}

/** A least-squares line y = intercept + slope · x. */
export interface LineFit {
  /** slope */
  slope: number;
  /** intercept */
  intercept: number;
  /** 95% interval of the slope (t with n − 2 df), or null below 3 points */
  slopeCi: readonly [number, number] | null;
  /** points used */
  n: number;
}

/**
 * Ordinary least squares of y on x with a t-based 95% interval on the slope (n − 2 df), e.g. a
 * log-log fit whose slope is an exponent.
 *
 * @param x abscissae (at least two distinct)
 * @param y ordinates, same length
 * @returns the fit
 * @throws {RangeError} for fewer than 2 points, unequal lengths or constant x
 * @example
 * ```ts
 * import { fitLine } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const f = fitLine([0, 1, 2, 3], [1, 3.1, 4.9, 7.0]);
 * assert.ok(Math.abs(f.slope - 1.98) < 1e-9 && f.slopeCi![0] < 1.98 && f.slopeCi![1] > 1.98);
 * ```
 */
export function fitLine(x: readonly number[], y: readonly number[]): LineFit {
  if (x.length !== y.length) throw new RangeError(`x has ${x.length} values, y ${y.length}`);
  const n = x.length;
  if (n < 2) throw new RangeError(`need at least 2 points, got ${n}`);
  const mx = x.reduce((a, b) => a + b, 0) / n, my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx === 0) throw new RangeError("x is constant: no slope to fit");
  const slope = sxy / sxx, intercept = my - slope * mx;
  if (n < 3) return { slope, intercept, slopeCi: null, n };
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (y[i] - intercept - slope * x[i]) ** 2;
  const se = Math.sqrt(sse / (n - 2) / sxx);
  const half = tQuantile(0.975, n - 2) * se;
  return { slope, intercept, slopeCi: [slope - half, slope + half], n };
}

/**
 * One slope shared by several groups, each with its own intercept (least squares on the values
 * centred within each group), with a t-based 95% interval on n − groups − 1 degrees of freedom:
 * e.g. the exponent of a power law in D measured at several model sizes.
 *
 * @param groups per group: x and y of equal length (groups with fewer than 2 points are skipped)
 * @returns the slope, its interval (null without a spare degree of freedom) and the points used
 * @throws {RangeError} when no group varies in x
 * @example
 * ```ts
 * import { fitCommonSlope } from "./stats.ts";
 * import assert from "node:assert/strict";
 * const f = fitCommonSlope([
 *   { x: [0, 1, 2], y: [5, 5.5, 6.1] },
 *   { x: [0, 1, 2], y: [1, 1.5, 1.9] },
 * ]);
 * assert.ok(Math.abs(f.slope - 0.5) < 1e-9 && f.slopeCi![0] < 0.5 && f.slopeCi![1] > 0.5);
 * ```
 */
export function fitCommonSlope(
  groups: readonly { readonly x: readonly number[]; readonly y: readonly number[] }[],
): { slope: number; slopeCi: readonly [number, number] | null; n: number; groups: number } {
  let sxx = 0, sxy = 0, n = 0, used = 0;
  const centred: [number, number][] = [];
  for (const g of groups) {
    if (g.x.length !== g.y.length) throw new RangeError("x and y differ in length");
    if (g.x.length < 2) continue;
    const mx = g.x.reduce((a, b) => a + b, 0) / g.x.length;
    const my = g.y.reduce((a, b) => a + b, 0) / g.y.length;
    used++;
    for (let i = 0; i < g.x.length; i++) {
      const xc = g.x[i] - mx, yc = g.y[i] - my;
      sxx += xc * xc;
      sxy += xc * yc;
      centred.push([xc, yc]);
      n++;
    }
  }
  if (sxx === 0) throw new RangeError("x is constant within every group: no slope to fit");
  const slope = sxy / sxx;
  const df = n - used - 1;
  if (df < 1) return { slope, slopeCi: null, n, groups: used };
  const sse = centred.reduce((a, [xc, yc]) => a + (yc - slope * xc) ** 2, 0);
  const half = tQuantile(0.975, df) * Math.sqrt(sse / df / sxx);
  return { slope, slopeCi: [slope - half, slope + half], n, groups: used };
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
 * import { formatSpread } from "./stats.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatSpread({ mean: 2, std: 0.01, n: 3, nonFinite: 0 }), "2.0000 ± 0.0100");
 * ```
 */
export function formatSpread(s: Spread, digits = 4, signed = false): string {
  if (s.n === 0) return s.nonFinite > 0 ? "diverged" : "—";
  const m = (signed && s.mean >= 0 ? "+" : "") + s.mean.toFixed(digits);
  const text = s.n > 1 ? `${m} ± ${s.std.toFixed(digits)}` : m;
  return s.nonFinite > 0 ? `${text} (${s.nonFinite} diverged)` : text;
}
