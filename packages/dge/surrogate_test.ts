import assert from "node:assert/strict";
import { E2M1, E3M2, E4M3, quantize, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertClose } from "../../tests/_util/assert.ts";
import { dgeFactor } from "./factor.ts";
import { gridPoints } from "./grid.ts";
import { dgeSurrogate } from "./surrogate.ts";

Deno.test("dgeSurrogate maps each grid interval onto itself, increasing, fixing ends and midpoint", () => {
  for (const format of [E2M1, E3M2, E4M3]) {
    const grid = gridPoints(format);
    for (const k of [3, 5, 10]) {
      for (let j = 0; j + 1 < grid.length; j++) {
        const lo = grid[j];
        const hi = grid[j + 1];
        const n = 65;
        const xs = new Float64Array(n);
        for (let i = 0; i < n; i++) xs[i] = lo + (hi - lo) * (i / (n - 1));
        xs[n - 1] = hi;
        const f = dgeSurrogate(xs, format, { k });
        const where = `${format.name} k=${k} [${lo}, ${hi}]`;
        assert.equal(f[0], lo, `${where} left end`);
        assert.equal(f[n - 1], hi, `${where} right end`);
        assert.equal(f[(n - 1) / 2], (lo + hi) / 2, `${where} midpoint`);
        for (let i = 0; i < n; i++) {
          assert.ok(
            f[i] >= lo && f[i] <= hi,
            `${where}: f(${xs[i]}) = ${f[i]} leaves the interval`,
          );
          if (i > 0) assert.ok(f[i] > f[i - 1], `${where}: not increasing at ${xs[i]}`);
        }
      }
    }
  }
});

Deno.test("dgeSurrogate: finite differences of f agree with dgeFactor (uncapped)", () => {
  const key = seedKey(11);
  const grid = gridPoints(E2M1);
  let checked = 0;
  for (const k of [3, 5, 10]) {
    for (let i = 0; i < 3000; i++) {
      const x = -6 + 12 * uniformAt(key, i + 3000 * k);
      let j = 0;
      while (j < grid.length - 2 && x >= grid[j + 1]) j++;
      const half = (grid[j + 1] - grid[j]) / 2;
      const u = Math.abs(x - (grid[j] + half)) / half;
      // Stay clear of the midpoint singularity and of the grid points where f″ jumps.
      if (u < 0.05 || u > 0.99) continue;
      const h = 1e-6 * half;
      const f = dgeSurrogate(new Float64Array([x - h, x + h]), E2M1, { k });
      const fd = (f[1] - f[0]) / (2 * h);
      const analytic = dgeFactor(new Float64Array([x]), E2M1, { k, cap: Infinity })[0];
      assertClose(fd, analytic, { rtol: 1e-6, message: `k=${k} x=${x}` });
      checked++;
    }
  }
  assert.ok(checked > 7000);
});

Deno.test("dgeSurrogate tends to hard rounding as k grows, saturates beyond the range", () => {
  const key = seedKey(5);
  const xs = new Float32Array(2000);
  for (let i = 0; i < xs.length; i++) xs[i] = -6 + 12 * uniformAt(key, i);
  const hard = quantize(xs, E2M1);
  const soft = dgeSurrogate(xs, E2M1, { k: 400 });
  let far = 0;
  for (let i = 0; i < xs.length; i++) if (Math.abs(soft[i] - hard[i]) > 0.05) far++;
  // Only values very near a rounding threshold stay far from the hard result.
  assert.ok(far < 20, `${far} of ${xs.length} values far from hard rounding at k = 400`);
  assert.deepEqual(Array.from(dgeSurrogate(new Float32Array([7, -1e9]), E2M1)), [6, -6]);
});

Deno.test("dgeSurrogate: bad input", () => {
  assert.throws(() => dgeSurrogate(new Float64Array([NaN]), E2M1), /scaledWeights\[0\] is NaN/);
  assert.throws(() => dgeSurrogate(new Float64Array([1]), E2M1, { k: 1 }), RangeError);
});
