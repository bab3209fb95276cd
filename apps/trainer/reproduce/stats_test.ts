import assert from "node:assert/strict";
import {
  fitCommonSlope,
  fitLine,
  holm,
  judgeFamily,
  minimumDetectableEffect,
  pairedDifference,
  spread,
  tCdf,
  tQuantile,
} from "./stats.ts";

// Two-sided 95% critical values t(0.975, df), df = 1..30, from a printed table (3 decimals).
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.160,
  2.145,
  2.131,
  2.120,
  2.110,
  2.101,
  2.093,
  2.086,
  2.080,
  2.074,
  2.069,
  2.064,
  2.060,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

Deno.test("stats: the t quantile equals a printed table (df 1-30, and 0.95 / 0.8 columns)", () => {
  T975.forEach((t, i) => {
    assert.ok(
      Math.abs(tQuantile(0.975, i + 1) - t) < 6e-4,
      `df ${i + 1}: ${tQuantile(0.975, i + 1)}`,
    );
  });
  for (const [df, t] of [[1, 6.314], [2, 2.920], [5, 2.015], [10, 1.812], [30, 1.697]]) {
    assert.ok(Math.abs(tQuantile(0.95, df) - t) < 6e-4, `0.95, df ${df}`);
  }
  for (const [df, t] of [[2, 1.061], [4, 0.941], [10, 0.879]]) {
    assert.ok(Math.abs(tQuantile(0.8, df) - t) < 6e-4, `0.8, df ${df}`);
  }
  // the quantile inverts the CDF, and large df tends to the normal's 1.96
  assert.ok(Math.abs(tCdf(tQuantile(0.975, 3), 3) - 0.975) < 1e-9);
  assert.ok(Math.abs(tQuantile(0.975, 1e6) - 1.95996) < 1e-4);
  assert.throws(() => tQuantile(1, 3), /p must be/);
  assert.throws(() => tQuantile(0.5, 0), /degrees of freedom/);
});

Deno.test("stats: spread skips diverged runs and counts them", () => {
  const s = spread([1, NaN, 3]);
  assert.deepEqual(s, { mean: 2, std: Math.SQRT2, n: 2, nonFinite: 1 });
  assert.equal(spread([5]).std, 0);
});

Deno.test("stats: the paired interval is t-based with n - 1 df", () => {
  // differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, se 0.1/sqrt(3), t(0.975, 2) = 4.303
  const d = pairedDifference([1.1, 1.2, 1.3], [1, 1, 1]);
  const half = 4.3027 * 0.1 / Math.sqrt(3);
  assert.ok(Math.abs(d.diff - 0.2) < 1e-12);
  assert.ok(Math.abs(d.ci![0] - (0.2 - half)) < 1e-4 && Math.abs(d.ci![1] - (0.2 + half)) < 1e-4);
  // t = 0.2 / (0.1/sqrt 3) = 3.464 on 2 df: two-sided p = 0.0742
  assert.ok(Math.abs(d.p! - 0.0742) < 5e-4, String(d.p));
  // pairing matters: a large spread across seeds but a constant difference is exact
  const c = pairedDifference([3.01, 2.51, 2.01], [3.0, 2.5, 2.0]);
  assert.ok(c.p! < 1e-6 && c.ci![0] > 0);
  assert.equal(pairedDifference([2], [1]).ci, null, "one pair has no interval");
});

Deno.test("stats: the 95% interval covers the true mean about 95% of the time (3 seeds)", () => {
  let state = 12345;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  let covered = 0;
  const trials = 4000;
  for (let t = 0; t < trials; t++) {
    const w = [0, 1, 2].map(() => 0.05 + 0.02 * normal()), b = [0, 0, 0];
    const d = pairedDifference(w, b);
    if (d.ci![0] <= 0.05 && 0.05 <= d.ci![1]) covered++;
  }
  const rate = covered / trials;
  assert.ok(rate > 0.935 && rate < 0.965, `coverage ${rate}`);
});

Deno.test("stats: Holm adjusts step-down, monotone, capped at 1, skips untested", () => {
  assert.deepEqual(holm([0.01, 0.04, 0.03, null]), [0.03, 0.06, 0.06, null]);
  assert.deepEqual(holm([0.5, 0.9]), [1, 1]);
  assert.deepEqual(holm([0.001, 0.2, 0.01, 0.03]), [0.004, 0.2, 0.03, 0.06]);
  assert.deepEqual(holm([]), []);
});

Deno.test("stats: verdicts need the Holm-adjusted interval to exclude zero", () => {
  const clear = { worse: [3.01, 2.51, 2.01, 2.61], better: [3.0, 2.5, 2.0, 2.6] };
  const noisy = { worse: [2.01, 1.99, 2.02], better: [2, 2, 2] };
  const against = { worse: [2, 2, 2, 2], better: [2.1, 2.2, 2.15, 2.12] };
  const [a, b, c] = judgeFamily([clear, noisy, against]);
  assert.equal(a.verdict, "agrees");
  assert.equal(b.verdict, "within noise");
  assert.equal(c.verdict, "disagrees");
  // positive mean but the interval includes zero: never "agrees" (the old judge said agrees)
  const [d] = judgeFamily([{ worse: [2.05, 1.99, 2.04], better: [2, 2, 2] }]);
  assert.ok(d.diff > 0 && d.ci![0] < 0);
  assert.equal(d.verdict, "within noise");
  // p = 0.0742 alone is not significant; p just below 0.05 alone is, but not among 14 tests
  const marginal = { worse: [1.1, 1.2, 1.3, 1.22], better: [1, 1, 1, 1] };
  const [alone] = judgeFamily([marginal]);
  assert.ok(alone.p! < 0.05);
  assert.equal(alone.verdict, "agrees");
  const family = judgeFamily([marginal, ...Array.from({ length: 13 }, () => noisy)]);
  assert.ok(family[0].pHolm! >= 0.05);
  assert.equal(family[0].verdict, "within noise", "14 comparisons raise the bar");
});

Deno.test("stats: divergence decides only when it separates every pair; match claims", () => {
  const [all, some, other] = judgeFamily([
    { worse: [NaN, NaN, NaN], better: [2, 2, 2] },
    { worse: [NaN, 2.01, 2.0, 2.02], better: [2, 2, 2, 2] },
    { worse: [2, 2], better: [NaN, NaN] },
  ]);
  assert.equal(all.verdict, "agrees");
  assert.equal(all.diff, Infinity);
  assert.equal(some.verdict, "within noise");
  assert.deepEqual(some.diverged, { worse: 1, better: 0 });
  assert.equal(some.n, 4);
  assert.equal(other.verdict, "disagrees");
  const [same, differs] = judgeFamily([
    { worse: [2.01, 1.99, 2.0], better: [2, 2, 2], kind: "match" },
    { worse: [2.1, 2.11, 2.09, 2.1], better: [2, 2, 2, 2], kind: "match" },
  ]);
  assert.equal(same.verdict, "within noise");
  assert.equal(differs.verdict, "disagrees");
  assert.equal(judgeFamily([{ worse: [], better: [] }])[0].verdict, "n/a");
  assert.equal(judgeFamily([{ worse: [2], better: [1] }])[0].verdict, "within noise");
});

Deno.test("stats: minimum detectable effect and the line fit", () => {
  // (t(0.975, 2) + t(0.8, 2)) · sd / sqrt(3) = (4.303 + 1.061) · 0.02 / 1.732
  assert.ok(Math.abs(minimumDetectableEffect(0.02, 3) - 5.364 * 0.02 / Math.sqrt(3)) < 1e-4);
  assert.ok(minimumDetectableEffect(0.02, 10) < minimumDetectableEffect(0.02, 5));
  assert.throws(() => minimumDetectableEffect(0.02, 1), /2 pairs/);
  // an exact power law recovers its exponent with a zero-width interval
  const D = [1e3, 2e3, 4e3, 8e3];
  const f = fitLine(D.map(Math.log), D.map((d) => Math.log(0.01 * d ** 0.5)));
  assert.ok(Math.abs(f.slope - 0.5) < 1e-12);
  assert.ok(Math.abs(f.slopeCi![1] - f.slopeCi![0]) < 1e-9);
  assert.throws(() => fitLine([1, 1], [2, 3]), /constant/);
  assert.equal(fitLine([0, 1], [0, 2]).slopeCi, null);
});

Deno.test("stats: a common slope over groups with their own intercepts", () => {
  // exact lines of slope 0.5 at three offsets: the slope, with a zero-width interval
  const xs = [Math.log(1e3), Math.log(2e3), Math.log(4e3), Math.log(8e3)];
  const exact = fitCommonSlope([3, -1, 10].map((c) => ({ x: xs, y: xs.map((x) => c + 0.5 * x) })));
  assert.ok(Math.abs(exact.slope - 0.5) < 1e-12);
  assert.ok(exact.slopeCi![1] - exact.slopeCi![0] < 1e-9);
  assert.equal(exact.n, 12);
  assert.equal(exact.groups, 3);
  // pooled: the offsets would bias a single line's slope; the common slope ignores them
  const a = { x: [0, 1], y: [0, 1] }, b = { x: [2, 3], y: [-10, -9] };
  assert.ok(Math.abs(fitCommonSlope([a, b]).slope - 1) < 1e-12);
  assert.ok(fitLine([...a.x, ...b.x], [...a.y, ...b.y]).slope < 0, "one line gets it wrong");
  assert.notEqual(fitCommonSlope([a, b]).slopeCi, null, "4 points, 2 intercepts, 1 slope: df 1");
  assert.equal(fitCommonSlope([a]).slopeCi, null, "2 points, 1 intercept, 1 slope: df 0");
  assert.throws(() => fitCommonSlope([{ x: [1, 1], y: [0, 1] }]), /constant/);
});
