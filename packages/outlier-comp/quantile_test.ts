import assert from "node:assert/strict";
import { quantileRanks, quantileThresholds } from "./quantile.ts";
import { syntheticActivations } from "./synthetic.ts";

Deno.test("quantileRanks: floor((1-α)C) and floor(αC), as the released code indexes a sorted row", () => {
  assert.deepEqual(quantileRanks(768, 0.99), [7, 760]);
  assert.deepEqual(quantileRanks(1000, 0.99), [10, 990]);
  assert.deepEqual(quantileRanks(768, 0.999), [0, 767]);
  assert.deepEqual(quantileRanks(2048, 0.97), [61, 1986]);
  assert.deepEqual(quantileRanks(1, 0.99), [0, 0]);
});

Deno.test("quantileThresholds equal the sorted-row (and sorted-tensor) values, input untouched", () => {
  const [rows, cols] = [20, 777];
  const a = syntheticActivations(rows, cols, { seed: 3 });
  const copy = Float32Array.from(a);
  for (const alpha of [0.999, 0.99, 0.97, 0.75]) {
    const { lower, upper } = quantileThresholds(a, rows, cols, { alpha });
    const [kLo, kHi] = quantileRanks(cols, alpha);
    for (let r = 0; r < rows; r++) {
      const sorted = a.slice(r * cols, (r + 1) * cols).sort();
      assert.equal(lower[r], sorted[kLo], `row ${r} alpha ${alpha}`);
      assert.equal(upper[r], sorted[kHi], `row ${r} alpha ${alpha}`);
    }
    const t = quantileThresholds(a, rows, cols, { alpha, scope: "tensor" });
    const sorted = Float32Array.from(a).sort();
    const [tLo, tHi] = quantileRanks(a.length, alpha);
    assert.deepEqual([t.lower.length, t.upper.length], [1, 1]);
    assert.equal(t.lower[0], sorted[tLo]);
    assert.equal(t.upper[0], sorted[tHi]);
  }
  assert.deepEqual(a, copy);
});

Deno.test("quantileThresholds: bad input gets a clear error", () => {
  const a = new Float32Array(12);
  for (const alpha of [0.5, 1, 0.3, 1.2, NaN]) {
    assert.throws(
      () => quantileThresholds(a, 3, 4, { alpha }),
      (e: Error) =>
        e instanceof RangeError && /options\.alpha must be a number in \(0\.5, 1\)/.test(e.message),
    );
  }
  a[7] = NaN;
  assert.throws(
    () => quantileThresholds(a, 3, 4),
    /values\[7\] is NaN: activations must be finite/,
  );
  assert.throws(() => quantileThresholds(a, 3, 4, { scope: "tensor" }), /values\[7\] is NaN/);
  a[7] = -Infinity;
  assert.throws(() => quantileThresholds(a, 3, 4), /values\[7\] is -Infinity/);
  assert.throws(() => quantileThresholds(new Float32Array(12), 5, 4), /rows \* cols = 20/);
  assert.throws(
    () => quantileThresholds(new Float32Array(12), 3, 4, { scope: "token" as "row" }),
    /options\.scope must be "row" or "tensor", got token/,
  );
});
