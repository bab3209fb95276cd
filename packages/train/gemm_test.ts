import assert from "node:assert/strict";
import { E2M1 } from "@fp4lab/fp4-format";
import { dequantize, quantizeTensor } from "@fp4lab/quant-granularity";
import { fp4Matmul, matmul } from "./gemm.ts";

function naive(a: Float32Array, b: Float32Array, m: number, n: number, k: number, layout: string) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const x = layout === "tn" ? a[p * m + i] : a[i * k + p];
        const y = layout === "nt" ? b[j * k + p] : b[p * n + j];
        s += x * y;
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

Deno.test("gemm: the layouts the model uses equal a float64 triple loop, accumulate adds", () => {
  for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [8, 6, 4], [5, 9, 33], [64, 48, 40]]) {
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i + 1));
    const b = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i * 0.7));
    for (const layout of ["nn", "nt", "tn"] as const) {
      const ref = naive(a, b, m, n, k, layout);
      const out = matmul(a, b, m, n, k, { layout });
      for (let i = 0; i < m * n; i++) assert.ok(Math.abs(out[i] - ref[i]) <= 1e-5 * k, layout);
      matmul(a, b, m, n, k, { layout, out, accumulate: true });
      for (let i = 0; i < m * n; i++) assert.ok(Math.abs(out[i] - 2 * ref[i]) <= 2e-5 * k);
    }
  }
});

Deno.test("gemm: the exact FP4 GEMM equals the f32 product of the dequantized operands", () => {
  const m = 12, n = 10, k = 64;
  const scheme = { format: E2M1, granularity: "row" } as const;
  const qa = quantizeTensor(
    Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)),
    m,
    k,
    scheme,
  );
  const qw = quantizeTensor(
    Float32Array.from({ length: n * k }, (_, i) => Math.cos(i)),
    n,
    k,
    scheme,
  );
  const ref = naive(dequantize(qa), dequantize(qw), m, n, k, "nt");
  const y = fp4Matmul(qa, qw);
  for (let i = 0; i < m * n; i++) {
    assert.ok(Math.abs(y[i] - ref[i]) <= 1e-6 * (Math.abs(ref[i]) + 1));
  }
});
