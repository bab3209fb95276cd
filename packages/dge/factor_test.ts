import assert from "node:assert/strict";
import { E2M1, E2M3, E3M2, E4M3, E5M2, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertAllClose, assertClose } from "../../tests/_util/assert.ts";
import { clippedSteFactor, dgeFactor, steFactor } from "./factor.ts";
import { gridPoints } from "./grid.ts";

/** Obviously-correct reference: linear scan over the spec's E2M1 interval table (§2.4). */
function referenceFactorE2M1(x: number, k: number, cap: number): number {
  // Left ends and widths exactly as the spec's table lists them.
  const starts = [-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4];
  const widths = [2, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 1, 2];
  if (x < -6 || x > 6) return 0;
  let i = 0;
  while (i < starts.length - 1 && x >= starts[i + 1]) i++;
  const delta = widths[i];
  const f = (1 / k) * Math.pow(Math.abs((2 * (x - starts[i])) / delta - 1), 1 / k - 1);
  return Math.min(f, cap);
}

function uniformPoints(n: number, lo: number, hi: number, seed: number): Float64Array {
  const key = seedKey(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + (hi - lo) * uniformAt(key, i);
  return x;
}

Deno.test("dgeFactor matches the linear-scan reference on the E2M1 grid", () => {
  const x = uniformPoints(20000, -6.5, 6.5, 1);
  for (const [k, cap] of [[5, 3], [3, 3], [10, 3], [5, Infinity]]) {
    const got = dgeFactor(x, E2M1, { k, cap });
    const want = Array.from(x, (v) => referenceFactorE2M1(v, k, cap));
    assertAllClose(got, want, { rtol: 1e-12, message: `k=${k} cap=${cap}` });
  }
});

Deno.test("dgeFactor is 1/k at every grid point, for any ExMy", () => {
  for (const format of [E2M1, E3M2, E4M3]) {
    const grid = Float32Array.from(gridPoints(format));
    for (const k of [3, 5, 10]) {
      const got = dgeFactor(grid, format, { k });
      for (let i = 0; i < grid.length; i++) {
        assert.equal(got[i], Math.fround(1 / k), `${format.name} k=${k} at ${grid[i]}`);
      }
    }
  }
});

Deno.test("dgeFactor: the cap holds and bites exactly where (1/k)u^(1/k-1) > cap", () => {
  const grid = gridPoints(E2M1);
  const x = uniformPoints(50000, -6, 6, 2);
  for (const [k, cap] of [[5, 3], [3, 1.5], [10, 3]]) {
    const got = dgeFactor(x, E2M1, { k, cap });
    // The cap bites for u < u_c = (k·cap)^(-k/(k-1)), the closed form of (1/k)u^(1/k-1) = cap.
    const uc = Math.pow(k * cap, -k / (k - 1));
    let capped = 0;
    for (let i = 0; i < x.length; i++) {
      assert.ok(got[i] <= cap && got[i] > 0, `factor ${got[i]} at ${x[i]}`);
      let j = 0;
      while (j < grid.length - 2 && x[i] >= grid[j + 1]) j++;
      const u = Math.abs((2 * (x[i] - grid[j])) / (grid[j + 1] - grid[j]) - 1);
      if (u < uc * (1 - 1e-9)) {
        assert.equal(got[i], cap);
        capped++;
      }
      if (u > uc * (1 + 1e-9)) assert.ok(got[i] < cap);
    }
    // For uniform x the capped fraction is u_c (u is uniform on [0, 1] inside each interval).
    assertClose(capped / x.length, uc, { atol: 0.004, message: `capped fraction k=${k}` });
  }
  // The paper's figure: the cap starts near u ≈ 0.0339 for k = 5, cap 3.
  assertClose(Math.pow(15, -1.25), 0.0339, { atol: 1e-4 });
  assert.deepEqual(Array.from(dgeFactor(new Float64Array([1.25, 5, -0.25]), E2M1)), [3, 3, 3]);
});

Deno.test("dgeFactor: mean over each interval is 1 before the cap, 1 - u_c^(1/k) + cap·u_c after", () => {
  for (const format of [E2M1, E3M2]) {
    const grid = gridPoints(format);
    for (const k of [3, 5, 10]) {
      for (let j = 0; j + 1 < grid.length; j += format === E2M1 ? 1 : 7) {
        const lo = grid[j];
        const hi = grid[j + 1];
        const mid = (lo + hi) / 2;
        const half = (hi - lo) / 2;
        // Uncapped: the substitution x = mid ± half·t^k makes f′ dx = half·dt, so a midpoint
        // rule over t ∈ [t0, 1] evaluates ∫ f′ dx despite the singularity at the midpoint. That
        // integral is δ·(1 − t0) in closed form; t0 keeps x − mid resolvable in f64, and as
        // t0 → 0 the mean over the whole interval is 1.
        const n = 4000;
        const t0 = Math.pow(1e-6, 1 / k); // u = t^k >= 1e-6
        const xs = new Float64Array(2 * n);
        const jac = new Float64Array(2 * n);
        for (let i = 0; i < n; i++) {
          const t = t0 + (1 - t0) * (i + 0.5) / n;
          const dx = half * Math.pow(t, k);
          xs[2 * i] = mid - dx;
          xs[2 * i + 1] = mid + dx;
          jac[2 * i] = jac[2 * i + 1] = half * k * Math.pow(t, k - 1) * (1 - t0) / n;
        }
        const f = dgeFactor(xs, format, { k, cap: Infinity });
        let integral = 0;
        for (let i = 0; i < xs.length; i++) integral += f[i] * jac[i];
        assertClose(integral / (hi - lo), 1 - t0, {
          rtol: 1e-9,
          message: `${format.name} k=${k} j=${j}`,
        });
      }
    }
  }
  // Capped (k = 5, cap 3): plain midpoint rule over x, against the closed form ≈ 0.594.
  const k = 5;
  const cap = 3;
  const uc = Math.pow(k * cap, -k / (k - 1));
  const closedForm = 1 - Math.pow(uc, 1 / k) + cap * uc;
  const grid = gridPoints(E2M1);
  for (let j = 0; j + 1 < grid.length; j++) {
    const n = 100000;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = grid[j] + (grid[j + 1] - grid[j]) * (i + 0.5) / n;
    const f = dgeFactor(xs, E2M1, { k, cap });
    let sum = 0;
    for (let i = 0; i < n; i++) sum += f[i];
    assertClose(sum / n, closedForm, { rtol: 1e-3, message: `interval ${j}` });
  }
  assertClose(closedForm, 0.594, { atol: 1e-3 });
});

Deno.test("dgeFactor: outside ±maxNormal the factor is 0, within f32 rounding slack it is not", () => {
  const x = new Float32Array([6.5, -7, 1e30, -Infinity, Math.fround(6 * (1 + 2 ** -22))]);
  const got = dgeFactor(x, E2M1);
  assert.deepEqual(Array.from(got.subarray(0, 4)), [0, 0, 0, 0]);
  assertClose(got[4], 0.2, { rtol: 1e-5 });
});

Deno.test("dgeFactor: f32 and f64 inputs agree, out may alias the input", () => {
  const x64 = uniformPoints(1000, -6, 6, 3);
  const x32 = Float32Array.from(x64);
  const from32 = dgeFactor(x32, E2M1);
  assert.ok(from32 instanceof Float32Array);
  const from64 = dgeFactor(Float64Array.from(x32), E2M1);
  assertAllClose(from32, from64, { rtol: 1e-6 });
  const same = dgeFactor(x32, E2M1, {}, x32);
  assert.equal(same, x32);
  assertAllClose(x32, from32, { rtol: 0 });
});

Deno.test("steFactor and clippedSteFactor: the baselines in the same API", () => {
  const x = new Float32Array([-7, -6, -0.3, 0, 2.5, 6, 6.01, 100]);
  assert.deepEqual(Array.from(steFactor(x, E2M1)), [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(clippedSteFactor(x, E2M1)), [0, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(
    Array.from(clippedSteFactor(new Float32Array([27.9, 28, 29]), E3M2)),
    [1, 1, 0],
  );
  const out = new Float64Array(8);
  assert.equal(steFactor(x, E2M1, {}, out), out);
});

Deno.test("factors: bad input gets a clear error", () => {
  const x = new Float32Array([0, 1, NaN]);
  assert.throws(() => dgeFactor(x, E2M1), /scaledWeights\[2\] is NaN/);
  assert.throws(() => steFactor(x, E2M1), /scaledWeights\[2\] is NaN/);
  assert.throws(() => clippedSteFactor(x, E2M1), /scaledWeights\[2\] is NaN/);
  const ok = new Float32Array([0, 1]);
  for (const k of [1, 0.5, -2, NaN, Infinity]) {
    assert.throws(() => dgeFactor(ok, E2M1, { k }), (e: Error) => {
      return e instanceof RangeError &&
        /options\.k must be a finite number greater than 1/.test(e.message);
    });
  }
  for (const cap of [0, -1, NaN]) {
    assert.throws(
      () => dgeFactor(ok, E2M1, { cap }),
      /options\.cap must be a number greater than 0/,
    );
  }
  assert.throws(() => dgeFactor([0, 1] as unknown as Float32Array, E2M1), TypeError);
  assert.throws(() => dgeFactor(ok, E2M1, {}, new Float32Array(3)), /out must have length 2/);
});

Deno.test("dgeFactor matches a linear scan over gridPoints for other ExMy (cell table and binary search)", () => {
  // E2M3 and E3M2 take the cell-table lookup, E4M3 and E5M2 the binary search.
  for (const format of [E2M3, E3M2, E4M3, E5M2]) {
    const grid = gridPoints(format);
    const max = format.maxNormal;
    const x = uniformPoints(4000, -max, max, 7);
    // Grid points and their neighbours, where an off-by-one interval would show.
    const extra = Array.from(grid).flatMap((g) => [g, g * (1 + 1e-9) + 1e-12]).filter((v) =>
      Math.abs(v) <= max
    );
    const xs = Float64Array.from([...x, ...extra]);
    const got = dgeFactor(xs, format, { k: 5, cap: Infinity });
    for (let i = 0; i < xs.length; i++) {
      let j = 0;
      while (j < grid.length - 2 && xs[i] >= grid[j + 1]) j++;
      const delta = grid[j + 1] - grid[j];
      const want = 0.2 * Math.pow(Math.abs((2 * (xs[i] - grid[j])) / delta - 1), -0.8);
      assertClose(got[i], want, { rtol: 1e-9, message: `${format.name} x=${xs[i]}` });
    }
  }
});
