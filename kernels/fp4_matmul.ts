/**
 * Exact FP4 (E2M1) GEMM on the CPU twin: integer dot products of the codes (value × 2 as int8),
 * int32 accumulation per K-block, scales in the epilogue.
 *
 * @module
 */
import type { QuantizedTensor } from "./quantized_tensor.ts";
import {
  arena,
  getThreads,
  heapAlloc,
  heapFree,
  kernelExports,
  memoryBuffer,
  runTasks,
} from "./runtime.ts";
import { pickTiles } from "./_tiles.ts";

/** Options of {@link fp4Matmul}. */
export interface Fp4MatmulOptions {
  /** The [m, n] row-major result buffer (a new one by default). */
  out?: Float32Array;
}

/** The epilogue plan both the kernel and the reference follow. */
export interface Fp4Plan {
  /** Rows of A. */
  m: number;
  /** Rows of W (output columns). */
  n: number;
  /** The shared reduced dimension K. */
  k: number;
  /** Effective K-block: the finer of the two operands' blocks (K for per-row / per-tensor). */
  kb: number;
  /** Number of K-blocks. */
  nb: number;
  /** Scale of A for (row i, block b) at `sA[i * nb + b]`, rows padded to `mpad`. */
  sA: Float32Array;
  /** Scale of W for (row j, block b) at `sWt[b * npad + j]`. */
  sWt: Float32Array;
  /** m rounded up to the 4-row panel. */
  mpad: number;
  /** n rounded up to the 8-row panel. */
  npad: number;
  /** f32 tensor scale (divisor) of A. */
  tA: number;
  /** f32 tensor scale (divisor) of W. */
  tW: number;
  /** The final multiplier, f32(0.25 / (tA · tW)) (0.25 undoes the codes' factor 2 twice). */
  q: number;
}

const MR = 4, NR = 8;

function checkOperand(name: string, q: QuantizedTensor): void {
  if (q === null || typeof q !== "object") throw new TypeError(`${name} must be a QuantizedTensor`);
  const f = q.format;
  if (!f || f.name !== "E2M1" || f.bits !== 4) {
    throw new RangeError(`${name}.format must be E2M1 (FP4), got ${f?.name}`);
  }
  const [rows, cols] = q.shape ?? [];
  if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(cols) || cols < 0) {
    throw new RangeError(`${name}.shape must be two non-negative integers, got ${q.shape}`);
  }
  if (!(q.data instanceof Uint8Array)) throw new TypeError(`${name}.data must be a Uint8Array`);
  const need = rows * Math.ceil(cols / 2);
  if (q.data.length !== need) {
    throw new RangeError(
      `${name}.data must hold rows * ceil(cols / 2) = ${need} bytes, got ${q.data.length}`,
    );
  }
  for (const key of ["blockRows", "blockCols"] as const) {
    if (!Number.isSafeInteger(q[key]) || q[key] < 1) {
      throw new RangeError(`${name}.${key} must be a positive integer, got ${q[key]}`);
    }
  }
  if (!(q.scales instanceof Float32Array)) {
    throw new TypeError(`${name}.scales must be a Float32Array`);
  }
  const groups = Math.ceil(rows / q.blockRows) * Math.ceil(cols / q.blockCols);
  if (q.scales.length !== groups) {
    throw new RangeError(
      `${name}.scales must hold ceil(rows/blockRows) * ceil(cols/blockCols) = ${groups} values, got ${q.scales.length}`,
    );
  }
  const t = Math.fround(q.tensorScale);
  if (!Number.isFinite(t) || t <= 0) {
    throw new RangeError(`${name}.tensorScale must be a finite positive f32, got ${q.tensorScale}`);
  }
}

/**
 * Checks two FP4 operands and builds the epilogue plan: per-(row, block) scales expanded to the
 * common K-block. Shared by {@link fp4Matmul} and {@link fp4MatmulReference}.
 *
 * @param a activations [m, k]
 * @param w weights stored [n, k]
 * @returns the plan
 * @throws {TypeError} / {RangeError} for malformed operands, different K, or K-blocks where
 *   the coarser is neither the whole row nor a multiple of the finer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { fp4Plan } from "@fp4lab/kernels";
 * const q = { shape: [1, 32], format: E2M1, data: new Uint8Array(16), blockRows: 1,
 *   blockCols: 32, scales: new Float32Array([1]), tensorScale: 1, scaleFormat: "f32",
 *   scheme: "absmax" } as const;
 * assert.equal(fp4Plan(q, q).nb, 1);
 * ```
 */
export function fp4Plan(a: QuantizedTensor, w: QuantizedTensor): Fp4Plan {
  checkOperand("a", a);
  checkOperand("w", w);
  const [m, k] = a.shape;
  const [n, kw] = w.shape;
  if (kw !== k) {
    throw new RangeError(`a.shape[1] (${k}) and w.shape[1] (${kw}) must be equal (both are K)`);
  }
  const kbA = Math.min(a.blockCols, Math.max(k, 1));
  const kbW = Math.min(w.blockCols, Math.max(k, 1));
  const kb = Math.min(kbA, kbW);
  const coarse = Math.max(kbA, kbW);
  if (coarse % kb !== 0 && coarse !== k) {
    throw new RangeError(
      `the K-blocks of a (${a.blockCols}) and w (${w.blockCols}) must nest: the coarser must be a multiple of the finer or span K`,
    );
  }
  if (kb * 12 * 24 >= 2 ** 31) throw new RangeError(`K-block ${kb} too long for int32 sums`);
  const nb = Math.max(1, Math.ceil(k / kb));
  const mpad = Math.ceil(m / MR) * MR;
  const npad = Math.ceil(n / NR) * NR;
  const sA = new Float32Array(mpad * nb);
  const sWt = new Float32Array(npad * nb);
  const nbA = Math.ceil(k / a.blockCols), nbW = Math.ceil(k / w.blockCols);
  for (let i = 0; i < m; i++) {
    const base = Math.floor(i / a.blockRows) * nbA;
    for (let b = 0; b < nb; b++) sA[i * nb + b] = a.scales[base + Math.floor((b * kb) / kbA)];
  }
  for (let j = 0; j < n; j++) {
    const base = Math.floor(j / w.blockRows) * nbW;
    for (let b = 0; b < nb; b++) sWt[b * npad + j] = w.scales[base + Math.floor((b * kb) / kbW)];
  }
  return {
    m,
    n,
    k,
    kb,
    nb,
    sA,
    sWt,
    mpad,
    npad,
    tA: Math.fround(a.tensorScale),
    tW: Math.fround(w.tensorScale),
    q: Math.fround(0.25 / (Math.fround(a.tensorScale) * Math.fround(w.tensorScale))),
  };
}

/**
 * Exact FP4 GEMM: `Y[m, n] = Σ_k Â[m, k] · Ŵ[n, k]` for two E2M1 operands in the
 * {@link QuantizedTensor} layout (per-tensor, per-row, 1-D block — MXFP4 32, NVFP4 16 with its
 * tensorScale — or 16 × 16 2-D block scales). Products of codes are summed exactly in int32 per
 * K-block; the epilogue is, in f32: `y = 0; y = y + f32(acc_b) * (sA * sW)` per block, then
 * `y = y * q` with `q = f32(0.25 / (tA · tW))` (one multiply: correctly rounded on every
 * backend, where a divide is not). Bit-identical to {@link fp4MatmulReference} and to the WGSL
 * kernel of `@fp4lab/gemm-webgpu`.
 *
 * @param a activations, shape [m, k]
 * @param w weights stored as [n, k] (row j = output channel j)
 * @param options output buffer
 * @returns `options.out` or a new [m, n] array
 * @throws {TypeError} / {RangeError} for malformed operands, different K, non-nesting blocks or
 *   a wrong-length `out`, before any work
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { E2M1, encode, packNibbles } from "@fp4lab/fp4-format";
 * import { fp4Matmul } from "@fp4lab/kernels";
 * const op = (vals: number[], scale: number) => ({
 *   shape: [1, vals.length] as const, format: E2M1,
 *   data: packNibbles(encode(new Float32Array(vals), E2M1)), blockRows: 1,
 *   blockCols: vals.length, scales: new Float32Array([scale]), tensorScale: 1,
 *   scaleFormat: "f32" as const, scheme: "absmax",
 * });
 * assert.deepEqual(Array.from(fp4Matmul(op([1, 2, -0.5, 6], 0.5), op([3, 1, 4, 0], 2))), [3]); // (1·3 + 2·1 − 0.5·4 + 6·0) · 0.5 · 2
 * ```
 */
export function fp4Matmul(
  a: QuantizedTensor,
  w: QuantizedTensor,
  options: Fp4MatmulOptions = {},
): Float32Array {
  const p = fp4Plan(a, w);
  const { m, n, k, kb, nb, mpad, npad } = p;
  const out = options.out ?? new Float32Array(m * n);
  if (!(out instanceof Float32Array)) throw new TypeError("options.out must be a Float32Array");
  if (out.length !== m * n) {
    throw new RangeError(`options.out must have m*n = ${m * n} elements, got ${out.length}`);
  }
  if (m === 0 || n === 0) return out;
  if (k === 0) return out.fill(0);
  const rowBytes = Math.ceil(k / 2);
  const al = (x: number) => Math.ceil(x / 64) * 64;
  const oAc = 0, oWc = al(m * rowBytes), oSA = oWc + al(n * rowBytes);
  const oSW = oSA + al(mpad * nb * 4), oC = oSW + al(npad * nb * 4);
  // The staging copies live in their own block: fp4MatmulAt uses the arena for the panels.
  const base = heapAlloc(oC + m * n * 4);
  try {
    const mem = memoryBuffer();
    new Uint8Array(mem, base + oAc, m * rowBytes).set(a.data);
    new Uint8Array(mem, base + oWc, n * rowBytes).set(w.data);
    new Float32Array(mem, base + oSA, mpad * nb).set(p.sA);
    new Float32Array(mem, base + oSW, npad * nb).set(p.sWt);
    fp4MatmulAt(base + oAc, base + oWc, base + oSA, base + oSW, base + oC, m, n, k, kb, p.q);
    out.set(new Float32Array(memoryBuffer(), base + oC, m * n));
  } finally {
    heapFree(base);
  }
  return out;
}

/**
 * The exact FP4 GEMM on operands in the kernels' shared memory (byte offsets): nibble-packed
 * E2M1 codes of A [m, k] and W [n, k] (rows of ceil(k/2) bytes, low nibble first), A's scales
 * per (row, K-block) `sA` [ceil(m/4)·4, nb], W's block-major `sWt` [nb, ceil(n/8)·8], the final
 * multiplier q (see {@link fp4Plan}). Writes C [m, n]; panels are packed in the arena.
 *
 * @param codesA byte offset of A's codes
 * @param codesW byte offset of W's codes
 * @param sA byte offset of A's scales
 * @param sWt byte offset of W's scales
 * @param c byte offset of C
 * @param m rows of A
 * @param n rows of W
 * @param k the shared K
 * @param kb K-block of the scales (k for per-row / per-tensor scales)
 * @param q f32(0.25 / (tA · tW))
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fp4MatmulAt, heapAlloc, heapFree, memoryBuffer } from "@fp4lab/kernels";
 * const p = heapAlloc(1024);
 * const mem = memoryBuffer();
 * new Uint8Array(mem, p, 1)[0] = 0x22; // A = [1, 1] (E2M1 code 2 is 1.0)
 * new Uint8Array(mem, p + 64, 1)[0] = 0x23; // W = [1.5, 1]
 * new Float32Array(mem, p + 128, 4).fill(1); // sA
 * new Float32Array(mem, p + 192, 8).fill(1); // sWt
 * fp4MatmulAt(p, p + 64, p + 128, p + 192, p + 256, 1, 1, 2, 2, 0.25);
 * assert.deepEqual(Array.from(new Float32Array(memoryBuffer(), p + 256, 1)), [2.5]);
 * heapFree(p);
 * ```
 */
export function fp4MatmulAt(
  codesA: number,
  codesW: number,
  sA: number,
  sWt: number,
  c: number,
  m: number,
  n: number,
  k: number,
  kb: number,
  q: number,
): void {
  if (m === 0 || n === 0) return;
  const nb = Math.max(1, Math.ceil(k / kb));
  const mpad = Math.ceil(m / MR) * MR, npad = Math.ceil(n / NR) * NR;
  const kbp = Math.ceil(kb / 4) * 4;
  const kp = nb * kbp;
  const rowBytes = Math.ceil(k / 2);
  const al = (x: number) => Math.ceil(x / 64) * 64;
  const oAp = 0, oWp = al(mpad * kp), oSum = oWp + al(npad * kp);
  const base = arena(oSum + mpad * nb * 4);
  // One job packs both operands; it and the GEMM go to the pool only when the work outweighs
  // waking the workers (the integer GEMM is ~3x faster per multiply-add than f32, so its
  // threshold is higher than matmul's).
  const big = m * n * k >= 1 << 23;
  runTasks(
    "fp4PackBothTask",
    [
      k,
      rowBytes,
      kb,
      nb,
      kbp,
      codesA,
      m,
      base + oAp,
      base + oSum,
      codesW,
      n,
      base + oWp,
      mpad / MR,
    ],
    mpad / MR + npad / NR,
    big && (m + n) * k >= 1 << 21,
  );
  const [tm, tn] = pickTiles(m, n, big ? getThreads() : 1, 64, 128, MR, NR);
  const total = kernelExports().fp4GemmTasks(m, n, tm, tn) as number;
  runTasks(
    "fp4GemmTask",
    [
      base + oAp,
      base + oWp,
      sA,
      sWt,
      base + oSum,
      m,
      n,
      nb,
      kbp,
      q,
      c,
      tm,
      tn,
    ],
    total,
    big,
  );
}
