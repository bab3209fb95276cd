/**
 * The trainer's one door to GEMMs. It has the signatures of `@fp4lab/kernels` `matmul` and
 * `fp4Matmul`; until the kernel set lands on main these are plain-TypeScript fallbacks
 * (TEMPORARY STAND-IN: replaced by a re-export of `@fp4lab/kernels` when it lands).
 *
 * @module
 */
import { dequantize, type QuantizedTensor } from "@fp4lab/quant-granularity";

/** Operand layouts: "nn" A[m,k]·B[k,n]; "nt" A[m,k]·B[n,k]ᵀ; "tn" A[k,m]ᵀ·B[k,n]. */
export type Layout = "nn" | "nt" | "tn";

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** operand layout, default "nn" */
  layout?: Layout;
  /** output buffer [m, n] */
  out?: Float32Array;
  /** add into `out` instead of overwriting it (gradient accumulation) */
  accumulate?: boolean;
}

/**
 * f32 GEMM with f32 accumulation; `out` is [m, n] row-major.
 *
 * @param a left operand
 * @param b right operand
 * @param m output rows
 * @param n output columns
 * @param k contraction length
 * @param options layout, output buffer, accumulate
 * @returns the output buffer
 *
 * @example
 * ```ts
 * import { matmul } from "./gemm.ts";
 * const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
 * const b = new Float32Array([1, 0, 0, 1]);
 * console.log(matmul(a, b, 2, 2, 2, { layout: "nt" })); // [1, 2, 3, 4]
 * ```
 */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  options: MatmulOptions = {},
): Float32Array {
  const layout = options.layout ?? "nn";
  const out = options.out ?? new Float32Array(m * n);
  if (out.length < m * n) throw new RangeError(`out must hold ${m * n} values`);
  if (a.length < m * k || b.length < n * k) {
    throw new RangeError(`operands too short for m=${m}, n=${n}, k=${k}`);
  }
  if (!options.accumulate) out.fill(0, 0, m * n);
  if (layout === "nt") matmulNT(a, b, m, n, k, out);
  else if (layout === "nn") matmulNN(a, b, m, n, k, out);
  else if (layout === "tn") matmulTN(a, b, m, n, k, out);
  else throw new RangeError(`layout must be "nn", "nt" or "tn", got ${layout}`);
  return out;
}

// out[i, j] += Σ_p a[i, p] b[j, p]: contiguous dot products, 2x2 register blocking.
function matmulNT(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  out: Float32Array,
): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = i * k, a1 = a0 + k;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const b0 = j * k, b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + p], x1 = a[a1 + p], y0 = b[b0 + p], y1 = b[b1 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      out[i * n + j] += s00;
      out[i * n + j + 1] += s01;
      out[(i + 1) * n + j] += s10;
      out[(i + 1) * n + j + 1] += s11;
    }
    for (; j < n; j++) {
      const b0 = j * k;
      let s0 = 0, s1 = 0;
      for (let p = 0; p < k; p++) {
        s0 += a[a0 + p] * b[b0 + p];
        s1 += a[a1 + p] * b[b0 + p];
      }
      out[i * n + j] += s0;
      out[(i + 1) * n + j] += s1;
    }
  }
  for (; i < m; i++) {
    const a0 = i * k;
    for (let j = 0; j < n; j++) {
      const b0 = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[a0 + p] * b[b0 + p];
      out[i * n + j] += s;
    }
  }
}

// out[i, :] += Σ_p a[i, p] b[p, :]: axpy rows, two rows of b per pass.
function matmulNN(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  out: Float32Array,
): void {
  for (let i = 0; i < m; i++) {
    const o = i * n;
    let p = 0;
    for (; p + 1 < k; p += 2) {
      const x0 = a[i * k + p], x1 = a[i * k + p + 1];
      const b0 = p * n, b1 = b0 + n;
      for (let j = 0; j < n; j++) out[o + j] += x0 * b[b0 + j] + x1 * b[b1 + j];
    }
    for (; p < k; p++) {
      const x = a[i * k + p];
      const b0 = p * n;
      for (let j = 0; j < n; j++) out[o + j] += x * b[b0 + j];
    }
  }
}

// out[i, :] += Σ_p a[p, i] b[p, :].
function matmulTN(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  out: Float32Array,
): void {
  let p = 0;
  for (; p + 1 < k; p += 2) {
    const b0 = p * n, b1 = b0 + n;
    for (let i = 0; i < m; i++) {
      const x0 = a[p * m + i], x1 = a[(p + 1) * m + i];
      if (x0 === 0 && x1 === 0) continue;
      const o = i * n;
      for (let j = 0; j < n; j++) out[o + j] += x0 * b[b0 + j] + x1 * b[b1 + j];
    }
  }
  for (; p < k; p++) {
    const b0 = p * n;
    for (let i = 0; i < m; i++) {
      const x = a[p * m + i];
      if (x === 0) continue;
      const o = i * n;
      for (let j = 0; j < n; j++) out[o + j] += x * b[b0 + j];
    }
  }
}

/**
 * FP4 GEMM Y[m, n] = Σ_k Â[m, k]·Ŵ[n, k] of two quantized operands (fallback: dequantize both,
 * then the f32 GEMM; the kernel set's version sums code products exactly in integers).
 *
 * @param a A as a QuantizedTensor [m, k]
 * @param w W as a QuantizedTensor [n, k]
 * @param options output buffer
 * @returns Y
 * @example
 * ```ts
 * import { fp4Matmul } from "./gemm.ts";
 * import { quantizeTensor } from "@fp4lab/quant-granularity";
 * import { E2M1 } from "@fp4lab/fp4-format";
 * const s = { format: E2M1, granularity: "row" } as const;
 * const a = quantizeTensor(new Float32Array([1, 2]), 1, 2, s);
 * console.log(fp4Matmul(a, a)); // [5]
 * ```
 */
export function fp4Matmul(
  a: QuantizedTensor,
  w: QuantizedTensor,
  options: { out?: Float32Array } = {},
): Float32Array {
  const [m, k] = a.shape, [n] = w.shape;
  return matmul(dequantize(a), dequantize(w), m, n, k, { layout: "nt", out: options.out });
}
