/**
 * The f32 GEMM of the kernel set, on the WebAssembly SIMD CPU twin and the worker pool.
 *
 * @module
 */
import { arena, ensureScratch, getThreads, memoryBuffer, runTasks } from "./runtime.ts";
import { gemmTiles } from "./_tiles.ts";
import { checkDim, checkF32 } from "./_validate.ts";
import { kernelExports } from "./runtime.ts";

/** Whether an f32 GEMM of m·n·k multiply-adds uses the pool, and its tile shape (6x8 micro-tiles). */
function gemmPlan(m: number, n: number, k: number): [boolean, number, number] {
  const parallel = m * n * k >= PARALLEL_MIN_MACS;
  const [tm, tn] = gemmTiles(m, n, parallel ? getThreads() : 1, 6, 8);
  return [parallel, tm, tn];
}

/**
 * Operand layouts: `"nn"` A[m,k]·B[k,n]; `"nt"` A[m,k]·B[n,k]ᵀ; `"tn"` A[k,m]ᵀ·B[k,n].
 */
export type GemmLayout = "nn" | "nt" | "tn";

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Operand layout, default `"nn"`. */
  layout?: GemmLayout;
  /** The [m, n] row-major result buffer (a new one by default). */
  out?: Float32Array;
  /** Add the product to `out` instead of overwriting it (gradient accumulation). */
  accumulate?: boolean;
}

const LAYOUTS: Record<string, number> = { nn: 0, nt: 1, tn: 2 };

/**
 * Below this many multiply-adds a GEMM runs on the calling thread only. A second thread pays
 * when the one-thread time T1 exceeds about 1.5 times the latency L with which a sleeping worker
 * joins a job: it finishes in about (T1 + L) / 2 plus its last task. benchmarks/pool_dispatch.ts
 * measured L ≈ 140 µs in its best round on the 2-core VM at load average 9 (dispatch itself,
 * posting the job and waking the worker, costs 0.3–4 µs); 2^22 multiply-adds take ≈ 190 µs on
 * one core at 22 G multiply-adds/s. Every training GEMM of the tiny and small presets is larger
 * (≥ 33 M).
 */
const PARALLEL_MIN_MACS = 1 << 22;

/**
 * f32 GEMM: out[m, n] = op(A)·op(B), or out += op(A)·op(B) with `accumulate`. Register-tiled
 * WebAssembly SIMD (f32x4 FMA with relaxed SIMD where the runtime has it), split over the
 * thread pool (see {@link setThreads}). Sums are reassociated: results match
 * {@link matmulReference} to about 1e-6 relative, not bit for bit.
 *
 * @param a A as stored: [m, k] for "nn" and "nt", [k, m] for "tn"
 * @param b B as stored: [k, n] for "nn" and "tn", [n, k] for "nt"
 * @param m rows of the result
 * @param n columns of the result
 * @param k the reduced dimension
 * @param options layout, output buffer, accumulate
 * @returns `options.out` or a new [m, n] array
 * @throws {TypeError} when an operand is not a Float32Array
 * @throws {RangeError} for negative or fractional sizes, wrong buffer lengths or an unknown
 *   layout
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matmul } from "@fp4lab/kernels";
 * const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
 * const b = new Float32Array([5, 6, 7, 8]); // [2, 2]
 * assert.deepEqual(Array.from(matmul(a, b, 2, 2, 2)), [19, 22, 43, 50]);
 * assert.deepEqual(Array.from(matmul(a, b, 2, 2, 2, { layout: "nt" })), [17, 23, 39, 53]);
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
  checkDim("m", m);
  checkDim("n", n);
  checkDim("k", k);
  const layoutName = options.layout ?? "nn";
  const layout = LAYOUTS[layoutName];
  if (layout === undefined || !Object.hasOwn(LAYOUTS, layoutName)) {
    throw new RangeError(`options.layout must be "nn", "nt" or "tn", got ${String(layoutName)}`);
  }
  checkF32("a", a, m * k, layoutName === "tn" ? "k*m" : "m*k");
  checkF32("b", b, k * n, layoutName === "nt" ? "n*k" : "k*n");
  const out = options.out ?? new Float32Array(m * n);
  checkF32("options.out", out, m * n, "m*n");
  const accumulate = options.accumulate === true;
  if (m === 0 || n === 0) return out;
  if (k === 0) {
    if (!accumulate) out.fill(0);
    return out;
  }
  const aLen = m * k, bLen = k * n, cLen = m * n;
  const base = arena((aLen + bLen + cLen) * 4 + 64);
  const aPtr = base, bPtr = aPtr + aLen * 4, cPtr = bPtr + bLen * 4;
  const mem = memoryBuffer();
  new Float32Array(mem, aPtr, aLen).set(a);
  new Float32Array(mem, bPtr, bLen).set(b);
  if (accumulate) new Float32Array(mem, cPtr, cLen).set(out);
  matmulAt(aPtr, bPtr, cPtr, m, n, k, layoutName, accumulate);
  out.set(new Float32Array(memoryBuffer(), cPtr, cLen));
  return out;
}

/**
 * The f32 GEMM on operands that already live in the kernels' shared memory (byte offsets, e.g.
 * from {@link heapAlloc}): C[m, n] (+)= op(A)·op(B), no copies. Sizes must be positive; the
 * caller owns the checks.
 *
 * @param a byte offset of A
 * @param b byte offset of B
 * @param c byte offset of C
 * @param m rows of C
 * @param n columns of C
 * @param k the reduced dimension (0 clears C unless accumulating)
 * @param layout operand layout
 * @param accumulate add to C instead of overwriting it
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapAlloc, heapFree, matmulAt, memoryBuffer } from "@fp4lab/kernels";
 * const p = heapAlloc(12 * 4);
 * const f = new Float32Array(memoryBuffer(), p, 12);
 * f.set([1, 2, 3, 4, 5, 6, 7, 8]); // A [2, 2], B [2, 2]
 * matmulAt(p, p + 16, p + 32, 2, 2, 2, "nn", false);
 * assert.deepEqual(Array.from(new Float32Array(memoryBuffer(), p + 32, 4)), [19, 22, 43, 50]);
 * heapFree(p);
 * ```
 */
export function matmulAt(
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  layout: GemmLayout,
  accumulate: boolean,
): void {
  if (m === 0 || n === 0) return;
  const [parallel, tm, tn] = gemmPlan(m, n, k);
  const total = kernelExports().gemmF32Tasks(m, n, tm, tn) as number;
  runTasks(
    "gemmF32Task",
    [LAYOUTS[layout], a, b, c, m, n, k, accumulate ? 1 : 0, tm, tn],
    total,
    parallel,
  );
}

/**
 * The f32 GEMM with an epilogue that applies the DGE factor (the FP4 paper's differentiable
 * gradient estimator) to each product before adding it to C: C[m, n] += (op(A)·op(B)) ⊙ f′(grid),
 * on operands in the kernels' shared memory. The products are {@link matmulAt}'s (same tiles,
 * blocks and micro-kernel, so the same f32 values), and each is scaled and added exactly as the
 * `dgeTask` kernel does; `plan` is that kernel's plan block (the grid's intervals, k, cap), which
 * the caller builds. The raw product is never written to memory.
 *
 * @param a byte offset of A
 * @param b byte offset of B
 * @param c byte offset of C (accumulated)
 * @param m rows of C
 * @param n columns of C
 * @param k the reduced dimension
 * @param layout operand layout
 * @param grid byte offset of the weight in grid units, [m, n]
 * @param plan byte offset of the DGE plan block
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapAlloc, heapFree, matmulDgeAt, memoryBuffer } from "@fp4lab/kernels";
 * // dgeTask's plan for one interval [-1, 1] with k = 1 (factor 1 inside it, 0 outside), cap 3:
 * // lo, lo and hi with slack, 1/cell, last cell, 1/k, 1/k − 1, cap, intervals, mid, 1/half;
 * // then the cells' interval numbers (i32).
 * const words = [-1, -1, 1, 0.5, 0, 1, 0, 3, 1, 0, 1];
 * const p = heapAlloc(words.length * 8 + 16 + 10 * 4);
 * new Float64Array(memoryBuffer(), p, words.length).set(words);
 * new Int32Array(memoryBuffer(), p + words.length * 8, 4).fill(0);
 * const at = (i: number) => p + words.length * 8 + 16 + i * 4;
 * // A [1, 2], B [2, 2], grid [1, 2], C [1, 2]
 * new Float32Array(memoryBuffer(), at(0), 10).set([1, 2, 3, 4, 0.5, 2, 0.5, 2, 10, 10]);
 * matmulDgeAt(at(0), at(2), at(8), 1, 2, 2, "nn", at(6), p);
 * // A·B = [4, 8]; the grid puts the first inside the interval, the second outside
 * assert.deepEqual(Array.from(new Float32Array(memoryBuffer(), at(8), 2)), [14, 10]);
 * heapFree(p);
 * ```
 */
export function matmulDgeAt(
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  layout: GemmLayout,
  grid: number,
  plan: number,
): void {
  if (m === 0 || n === 0) return;
  const [parallel, tm, tn] = gemmPlan(m, n, k);
  const ex = kernelExports();
  ensureScratch((ex.gemmF32DgeScratchBytes(tm) as number) + 64);
  runTasks(
    "gemmF32DgeTask",
    [LAYOUTS[layout], a, b, c, m, n, k, grid, plan, tm, tn],
    ex.gemmF32Tasks(m, n, tm, tn) as number,
    parallel,
  );
}

/**
 * The f32 GEMM with B given as E2M1 codes and scales, decoded while its panels are packed:
 * C[m, n] (+)= op(A)·B̂, B̂ [k, n] the values the codes stand for (code value · group scale, then
 * divided by the tensor scale when it is not 1: the f32 operations of the quantizer's dequantized
 * copy). Bit for bit {@link matmulAt} on that copy, which then need not exist. Layouts "nn" (A
 * [m, k]) and "tn" (A [k, m]); B is stored [k, n] either way.
 *
 * @param a byte offset of A
 * @param codes byte offset of B's codes: k rows of ceil(n / 2) bytes, two to a byte, low nibble
 *   first
 * @param scales byte offset of B's group scales (f32), row-major, ceil(n / blockCols) per group
 *   row
 * @param c byte offset of C
 * @param m rows of C
 * @param n columns of C
 * @param k the reduced dimension
 * @param layout "nn" or "tn"
 * @param accumulate add to C instead of overwriting it
 * @param blockRows rows of B per scale group
 * @param blockCols columns of B per scale group
 * @param tensorScale B's tensor scale (1 unless NVFP4)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapAlloc, heapFree, matmulCodesAt, memoryBuffer } from "@fp4lab/kernels";
 * const p = heapAlloc(64);
 * // A [1, 2] = [1, 2]; B [2, 2] codes [[1, 6], [9, 15]] (0.5, 4, −0.5, −6), scales 2 and 1
 * new Float32Array(memoryBuffer(), p, 2).set([1, 2]);
 * new Uint8Array(memoryBuffer(), p + 8, 2).set([0x61, 0xf9]);
 * new Float32Array(memoryBuffer(), p + 12, 2).set([2, 1]);
 * matmulCodesAt(p, p + 8, p + 12, p + 20, 1, 2, 2, "nn", false, 1, 2, 1);
 * // [1·0.5·2 + 2·(−0.5), 1·4·2 + 2·(−6)]
 * assert.deepEqual(Array.from(new Float32Array(memoryBuffer(), p + 20, 2)), [0, -4]);
 * heapFree(p);
 * ```
 */
export function matmulCodesAt(
  a: number,
  codes: number,
  scales: number,
  c: number,
  m: number,
  n: number,
  k: number,
  layout: "nn" | "tn",
  accumulate: boolean,
  blockRows: number,
  blockCols: number,
  tensorScale: number,
): void {
  if (m === 0 || n === 0) return;
  if (layout !== "nn" && layout !== "tn") {
    throw new RangeError(`matmulCodesAt: layout must be "nn" or "tn", got ${layout}`);
  }
  const [parallel, tm, tn] = gemmPlan(m, n, k);
  runTasks(
    "gemmF32CodesTask",
    [
      LAYOUTS[layout],
      a,
      codes,
      scales,
      c,
      m,
      n,
      k,
      accumulate ? 1 : 0,
      blockRows,
      blockCols,
      tensorScale,
      tm,
      tn,
    ],
    kernelExports().gemmF32Tasks(m, n, tm, tn) as number,
    parallel,
  );
}
