/**
 * Plain TypeScript references of the kernels: slow, obviously correct, and what the fast
 * kernels are tested against.
 *
 * @module
 */
import type { GemmLayout } from "./matmul.ts";

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
 * import { matmulReference } from "@fp4lab/kernels";
 * const c = matmulReference(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2);
 * console.log(c[0]); // 11
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
