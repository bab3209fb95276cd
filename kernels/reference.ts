/**
 * Plain TypeScript references of the kernels: slow, obviously correct, and what the fast
 * kernels are tested against.
 *
 * @module
 */
import type { GemmLayout } from "./matmul.ts";
import { fp4Plan } from "./fp4_matmul.ts";
import type { QuantizedTensor } from "./quantized_tensor.ts";

/**
 * Reference f32 GEMM: out[i, j] (+)= Σ_k A(i, k)·B(k, j), summed in f64 then rounded to f32.
 *
 * @param a A as stored: [m, k] ("nn", "nt") or [k, m] ("tn")
 * @param b B as stored: [k, n] ("nn", "tn") or [n, k] ("nt")
 * @param m rows of the result
 * @param n columns of the result
 * @param k the reduced dimension
 * @param layout "nn", "nt" or "tn"
 * @param out the [m, n] result (accumulated into when `accumulate`)
 * @param accumulate add to `out` instead of overwriting it
 * @returns `out`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matmulReference } from "@fp4lab/kernels";
 * const c = matmulReference(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2);
 * assert.equal(c[0], 11);
 * ```
 */
export function matmulReference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  layout: GemmLayout = "nn",
  out: Float32Array = new Float32Array(m * n),
  accumulate = false,
): Float32Array {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = layout === "tn" ? a[p * m + i] : a[i * k + p];
        const bv = layout === "nt" ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      out[i * n + j] = accumulate ? out[i * n + j] + s : s;
    }
  }
  return out;
}

const E2M1_X2 = [0, 1, 2, 3, 4, 6, 8, 12];

/**
 * Reference exact FP4 GEMM with the epilogue order of {@link fp4Matmul}: per K-block the exact
 * integer sum of (2·a)(2·w), then in f32 `y = y + f32(acc) * (sA * sW)`, finally
 * `y = y * q` with `q = f32(0.25 / (tA · tW))`.
 *
 * @param a activations [m, k] (E2M1 QuantizedTensor)
 * @param w weights stored [n, k]
 * @returns the [m, n] result
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { E2M1, encode, packNibbles } from "@fp4lab/fp4-format";
 * import { fp4MatmulReference } from "@fp4lab/kernels";
 * const q = { shape: [1, 2] as const, format: E2M1,
 *   data: packNibbles(encode(new Float32Array([1.5, -2]), E2M1)), blockRows: 1, blockCols: 2,
 *   scales: new Float32Array([1]), tensorScale: 1, scaleFormat: "f32" as const, scheme: "absmax" };
 * assert.deepEqual(Array.from(fp4MatmulReference(q, q)), [6.25]);
 * ```
 */
export function fp4MatmulReference(a: QuantizedTensor, w: QuantizedTensor): Float32Array {
  const p = fp4Plan(a, w);
  const { m, n, k, kb, nb } = p;
  const val = (q: QuantizedTensor, r: number, c: number) => {
    const byte = q.data[r * Math.ceil(k / 2) + (c >> 1)];
    const code = c & 1 ? byte >> 4 : byte & 15;
    const mag = E2M1_X2[code & 7];
    return code & 8 ? -mag : mag;
  };
  const f = Math.fround;
  const out = new Float32Array(m * n);
  if (k === 0) return out; // an empty sum; there are no scales to read
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let y = 0;
      for (let b = 0; b < nb; b++) {
        let acc = 0;
        for (let c = b * kb; c < Math.min(k, (b + 1) * kb); c++) acc += val(a, i, c) * val(w, j, c);
        const s = f(p.sA[i * nb + b] * p.sWt[b * p.npad + j]);
        y = f(y + f(f(acc) * s));
      }
      out[i * n + j] = f(y * p.q);
    }
  }
  return out;
}
