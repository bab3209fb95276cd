import assert from "node:assert/strict";
import { assertBitsEqual, assertClose } from "../../tests/_util/assert.ts";
import { clampOutliers } from "./clamp.ts";
import { csrToDense } from "./csr.ts";
import { quantileRanks } from "./quantile.ts";
import { syntheticActivations } from "./synthetic.ts";

/** Dense reference: clamp with the given thresholds, residual as f32 differences. */
function denseReference(a: Float32Array, cols: number, lower: Float32Array, upper: Float32Array) {
  const clamped = new Float32Array(a.length);
  const residual = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const g = lower.length === 1 ? 0 : Math.floor(i / cols);
    clamped[i] = Math.min(Math.max(a[i], lower[g]), upper[g]);
    residual[i] = a[i] - clamped[i];
  }
  return { clamped, residual };
}

Deno.test("clampOutliers: clamped matrix and CSR residual match a dense reference", () => {
  const [rows, cols] = [32, 1000];
  const a = syntheticActivations(rows, cols, { seed: 4 });
  for (const scope of ["row", "tensor"] as const) {
    for (const alpha of [0.999, 0.99, 0.97]) {
      const { clamped, residual, lower, upper, sparsity } = clampOutliers(a, rows, cols, {
        alpha,
        scope,
      });
      const ref = denseReference(a, cols, lower, upper);
      assertBitsEqual(clamped, ref.clamped, `${scope} ${alpha} clamped`);
      assertBitsEqual(csrToDense(residual), ref.residual, `${scope} ${alpha} residual`);
      // CSR is well formed: increasing columns per row, no stored zeros.
      for (let r = 0; r < rows; r++) {
        for (let e = residual.rowOffsets[r]; e < residual.rowOffsets[r + 1]; e++) {
          assert.notEqual(residual.values[e], 0);
          if (e > residual.rowOffsets[r]) {
            assert.ok(residual.columnIndices[e] > residual.columnIndices[e - 1]);
          }
        }
      }
      assert.equal(sparsity, residual.values.length / a.length);
      // A_c + ΔA gives back A (up to the one f32 rounding of each difference).
      for (let i = 0; i < a.length; i++) {
        assertClose(clamped[i] + ref.residual[i], a[i], { rtol: 1e-6 });
      }
    }
  }
});

Deno.test("clampOutliers: clamped fraction ≈ 2(1 − α), bounded by the quantile ranks", () => {
  const [rows, cols] = [64, 2048];
  const a = syntheticActivations(rows, cols, { seed: 5 });
  for (const alpha of [0.999, 0.99, 0.97]) {
    for (const scope of ["row", "tensor"] as const) {
      const { sparsity } = clampOutliers(a, rows, cols, { alpha, scope });
      const group = scope === "row" ? cols : a.length;
      const [kLo, kHi] = quantileRanks(group, alpha);
      // Distinct values: exactly kLo below and group − 1 − kHi above the thresholds.
      assertClose(sparsity, (kLo + group - 1 - kHi) / group, { rtol: 1e-12 });
      assertClose(sparsity, 2 * (1 - alpha), { atol: 2 / group, message: `${scope} ${alpha}` });
    }
  }
});

Deno.test("clampOutliers: ties at a threshold are kept, in place works, shapes and α checked", () => {
  const a = new Float32Array([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100]);
  const copy = Float32Array.from(a);
  const { clamped, residual, sparsity } = clampOutliers(a, 2, 10, { alpha: 0.85, out: a });
  assert.equal(clamped, a);
  assert.deepEqual(Array.from(clamped.subarray(0, 10)), Array(10).fill(5));
  assert.deepEqual(Array.from(residual.rowOffsets), [0, 0, 2]);
  assert.deepEqual(Array.from(residual.columnIndices), [0, 9]);
  assert.deepEqual(Array.from(residual.values), [1 - 2, 100 - 9]);
  assert.equal(sparsity, 0.1);
  assert.equal(clamped[19] + residual.values[1], copy[19]);
  assert.throws(() => clampOutliers(new Float32Array(4), 2, 2, { alpha: 1 }), /options\.alpha/);
  assert.throws(() => clampOutliers(new Float32Array(4), 2, 2, { alpha: 0.5 }), /options\.alpha/);
  assert.throws(
    () => clampOutliers(Float32Array.of(0, 1, NaN, 2), 2, 2),
    /values\[2\] is NaN: activations must be finite/,
  );
  assert.throws(
    () => clampOutliers(new Float32Array(4), 2, 2, { out: new Float32Array(3) }),
    /options\.out must have length 4/,
  );
  assert.throws(() => clampOutliers(new Float32Array(4), 0, 4), /rows must be a positive integer/);
});

Deno.test("clampOutliers thresholds are the sorted-row values on every selection path", () => {
  // Rows of random order take the one-pass extreme scan; descending and ascending rows exhaust
  // its shift budget and fall back to Floyd–Rivest; wide rows at α = 0.97 (kLo + 1 > 48) go
  // straight to Floyd–Rivest. Every path must pick exactly the sorted row's values.
  const cases: { a: Float32Array; rows: number; cols: number }[] = [];
  const random = syntheticActivations(6, 1500, { seed: 8 });
  cases.push({ a: random, rows: 6, cols: 1500 });
  const ordered = new Float32Array(4 * 1500);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 1500; c++) {
      ordered[r * 1500 + c] = r % 2 ? c * 0.5 : -c * 0.25 + (c % 7 === 0 ? 1000 : 0);
    }
  }
  cases.push({ a: ordered, rows: 4, cols: 1500 });
  cases.push({ a: Float32Array.from(ordered).reverse(), rows: 4, cols: 1500 });
  cases.push({ a: syntheticActivations(3, 4096, { seed: 9 }), rows: 3, cols: 4096 });
  const ties = new Float32Array(2 * 900).map((_, i) => (i * 7919) % 5);
  cases.push({ a: ties, rows: 2, cols: 900 });
  for (const { a, rows, cols } of cases) {
    for (const alpha of [0.999, 0.99, 0.97, 0.9]) {
      const { lower, upper } = clampOutliers(a, rows, cols, { alpha });
      const [kLo, kHi] = quantileRanks(cols, alpha);
      for (let r = 0; r < rows; r++) {
        const sorted = a.slice(r * cols, (r + 1) * cols).sort();
        assert.equal(lower[r], sorted[kLo], `cols ${cols} α ${alpha} row ${r} lower`);
        assert.equal(upper[r], sorted[kHi], `cols ${cols} α ${alpha} row ${r} upper`);
      }
    }
  }
});

Deno.test("clampOutliers stays exact on rows with planted extremes, ties and constant stretches", () => {
  const cols = 1500;
  const sampled = (c: number) => {
    // 128 evenly strided columns, where the planted values go.
    for (let i = 0; i < 128; i++) if (Math.floor((i * cols) / 128) === c) return i;
    return -1;
  };
  const rows: Float32Array[] = [];
  // Strided columns all equal.
  rows.push(Float32Array.from({ length: cols }, (_, c) => sampled(c) >= 0 ? 0 : Math.sin(c)));
  // Half the row ties at its minimum.
  rows.push(Float32Array.from({ length: cols }, (_, c) => c % 2 ? -1 : Math.cos(c) + 2));
  // The strided columns hold the row's most extreme values.
  rows.push(
    Float32Array.from({ length: cols }, (_, c) => {
      const i = sampled(c);
      return i < 0 ? Math.sin(c * 7) : i < 64 ? -10 - i : 10 + i;
    }),
  );
  for (const row of rows) {
    for (const alpha of [0.99, 0.97]) {
      const { clamped, residual, lower, upper } = clampOutliers(row, 1, cols, { alpha });
      const [kLo, kHi] = quantileRanks(cols, alpha);
      const sorted = row.slice().sort();
      assert.equal(lower[0], sorted[kLo]);
      assert.equal(upper[0], sorted[kHi]);
      const ref = denseReference(row, cols, lower, upper);
      assertBitsEqual(clamped, ref.clamped);
      assertBitsEqual(csrToDense(residual), ref.residual);
    }
  }
});

Deno.test("clampOutliers names the first non-finite value wherever it sits in the row", () => {
  const cols = 1024;
  const base = syntheticActivations(2, cols, { seed: 6 });
  const cases: [number, number, string][] = [
    [cols + 0, NaN, "NaN"], // the first column of row 1
    [cols + 3, NaN, "NaN"],
    [cols + 5, Infinity, "Infinity"],
    [cols + 7, -Infinity, "-Infinity"],
  ];
  for (const [index, bad, word] of cases) {
    for (const laterNaN of [false, true]) {
      const a = Float32Array.from(base);
      a[index] = bad;
      if (laterNaN) a[index + 100] = NaN; // a later one must not be the one named
      assert.throws(
        () => clampOutliers(a, 2, cols),
        new RegExp(`values\\[${index}\\] is ${word}: activations must be finite`),
      );
    }
  }
});
