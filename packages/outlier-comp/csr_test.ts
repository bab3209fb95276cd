import assert from "node:assert/strict";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { assertBitsEqual } from "../../tests/_util/assert.ts";
import { clampOutliers } from "./clamp.ts";
import { csrMatmul, type CsrMatrix, csrToDense } from "./csr.ts";
import { syntheticActivations } from "./synthetic.ts";

function randoms(n: number, seed: number): Float32Array {
  const key = seedKey(seed);
  return Float32Array.from({ length: n }, (_, i) => uniformAt(key, i) * 2 - 1);
}

/** Dense reference in f64, same summation order (k increasing), rounded to f32 once. */
function denseProduct(dense: Float32Array, b: Float32Array, m: number, k: number, n: number) {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += dense[i * k + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

function transpose(b: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(b.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = b[r * cols + c];
  return t;
}

Deno.test("csrMatmul equals the dense product bit for bit, in both layouts", () => {
  const [m, k, n] = [24, 300, 17];
  const a = syntheticActivations(m, k, { seed: 9 });
  const { residual } = clampOutliers(a, m, k, { alpha: 0.97 });
  const b = randoms(k * n, 10); // [K, N]
  const want = denseProduct(csrToDense(residual), b, m, k, n);
  assertBitsEqual(csrMatmul(residual, b, n), want, "nn");
  assertBitsEqual(csrMatmul(residual, transpose(b, k, n), n, undefined, false, "nt"), want, "nt");
});

Deno.test("csrMatmul accumulates into out, and overwrites it otherwise", () => {
  const [m, k, n] = [8, 64, 5];
  const { residual } = clampOutliers(syntheticActivations(m, k, { seed: 2 }), m, k, {
    alpha: 0.9,
  });
  const b = randoms(k * n, 3);
  const product = csrMatmul(residual, b, n);
  const base = randoms(m * n, 4);
  const out = Float32Array.from(base);
  assert.equal(csrMatmul(residual, b, n, out, true), out);
  const dense = csrToDense(residual);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += dense[i * k + p] * b[p * n + j];
      assert.equal(out[i * n + j], Math.fround(base[i * n + j] + s));
    }
  }
  const outNt = Float32Array.from(base);
  csrMatmul(residual, transpose(b, k, n), n, outNt, true, "nt");
  assertBitsEqual(outNt, out, "accumulate nt");
  const garbage = new Float32Array(m * n).fill(7);
  assertBitsEqual(csrMatmul(residual, b, n, garbage), product, "overwrite");
});

Deno.test("csrMatmul and csrToDense: bad input", () => {
  const csr: CsrMatrix = {
    rows: 2,
    cols: 3,
    rowOffsets: new Int32Array([0, 1, 2]),
    columnIndices: new Int32Array([0, 2]),
    values: new Float32Array([1, 2]),
  };
  const b = new Float32Array(6);
  assert.throws(() => csrMatmul(csr, new Float32Array(5), 2), /b must have 6 elements \(3 x 2\)/);
  assert.throws(() => csrMatmul(csr, b, 0), /n must be a positive integer/);
  assert.throws(() => csrMatmul(csr, b, 2, undefined, true), /accumulate needs an out buffer/);
  assert.throws(() => csrMatmul(csr, b, 2, new Float32Array(3)), /out must have 4 elements/);
  assert.throws(() => csrMatmul(csr, b, 2, undefined, false, "tn" as "nn"), /layout must be/);
  assert.throws(
    () => csrMatmul({ ...csr, rowOffsets: new Int32Array([0, 1, 3]) }, b, 2),
    /rowOffsets must run from 0 to the entry count 2/,
  );
  assert.throws(
    () => csrMatmul({ ...csr, rowOffsets: new Int32Array([0, 2]) }, b, 2),
    /rows \+ 1 = 3 offsets/,
  );
  assert.throws(() => csrToDense(csr, new Float32Array(5)), /out must have 6 elements/);
});
