import assert from "node:assert/strict";
import { E2M1, E3M2, E4M3, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertAllClose, assertClose } from "../../tests/_util/assert.ts";
import { applyGradientFactor } from "./apply.ts";
import { clippedSteFactor, dgeFactor } from "./factor.ts";

function randomArray(n: number, lo: number, hi: number, seed: number): Float32Array {
  const key = seedKey(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + (hi - lo) * uniformAt(key, i);
  return x;
}

Deno.test("applyGradientFactor (dge) = gradient ⊙ dgeFactor, with mean factor and fraction capped", () => {
  const scaled = randomArray(5000, -6, 6, 1);
  const grad = randomArray(5000, -1, 1, 2);
  for (const format of [E2M1, E3M2, E4M3]) {
    for (const [k, cap] of [[5, 3], [3, 2], [10, Infinity]]) {
      const factor = dgeFactor(scaled, format, { k, cap });
      const uncapped = dgeFactor(scaled, format, { k, cap: Infinity });
      const { gradient, meanFactor, cappedFraction } = applyGradientFactor(grad, scaled, format, {
        k,
        cap,
      });
      assert.notEqual(gradient, grad);
      assertAllClose(gradient, Array.from(grad, (g, i) => g * factor[i]), { rtol: 1e-6 });
      let sum = 0;
      let capped = 0;
      for (let i = 0; i < factor.length; i++) {
        sum += factor[i];
        if (uncapped[i] > cap) capped++;
      }
      assertClose(meanFactor, sum / factor.length, { rtol: 1e-6 });
      assert.equal(cappedFraction, capped / factor.length);
      if (cap === Infinity) assert.equal(cappedFraction, 0);
      else assert.ok(cappedFraction > 0);
    }
  }
});

Deno.test("applyGradientFactor: in place, STE and clipped STE", () => {
  const scaled = new Float32Array([-6.5, -6, 0, 1.25, 6, 9]);
  const grad = new Float32Array([1, 2, 3, 4, 5, 6]);
  const ste = applyGradientFactor(grad, scaled, E2M1, { estimator: "ste" });
  assert.deepEqual(Array.from(ste.gradient), [1, 2, 3, 4, 5, 6]);
  assert.equal(ste.meanFactor, 1);
  assert.equal(ste.cappedFraction, 0);
  const clipped = applyGradientFactor(grad, scaled, E2M1, { estimator: "clipped-ste" });
  const mask = clippedSteFactor(scaled, E2M1);
  assert.deepEqual(Array.from(clipped.gradient), Array.from(grad, (g, i) => g * mask[i]));
  assert.equal(clipped.meanFactor, 4 / 6);
  const inPlace = applyGradientFactor(grad, scaled, E2M1, { out: grad });
  assert.equal(inPlace.gradient, grad);
  assertAllClose(grad, [0, 2 * 0.2, 3 * 0.2, 4 * 3, 5 * 0.2, 0], { rtol: 1e-6 });
  assertClose(inPlace.meanFactor, (0.2 * 3 + 3) / 6, { rtol: 1e-12 });
  assertClose(inPlace.cappedFraction, 1 / 6, { rtol: 1e-12 });
  const empty = applyGradientFactor(new Float32Array(0), new Float32Array(0), E2M1);
  assert.deepEqual([empty.meanFactor, empty.cappedFraction], [0, 0]);
});

Deno.test("applyGradientFactor: bad input", () => {
  const s = new Float32Array([0, NaN]);
  const g = new Float32Array(2);
  assert.throws(() => applyGradientFactor(g, s, E2M1), /scaledWeights\[1\] is NaN/);
  assert.throws(
    () => applyGradientFactor(g, new Float32Array(3), E2M1),
    /scaledWeights must have the gradient's length 2, got 3/,
  );
  assert.throws(
    () =>
      applyGradientFactor(g, new Float32Array(2), E2M1, {
        estimator: "dje" as "dge",
      }),
    /options\.estimator must be "dge", "ste" or "clipped-ste", got dje/,
  );
  assert.throws(() => applyGradientFactor(g, new Float32Array(2), E2M1, { k: 0.9 }), /options\.k/);
  assert.throws(
    () => applyGradientFactor(g, new Float32Array(2), E2M1, { out: new Float32Array(1) }),
    /options\.out must have length 2/,
  );
});
