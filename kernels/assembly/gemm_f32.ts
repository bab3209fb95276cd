// f32 GEMM CPU twin (AssemblyScript -> WebAssembly SIMD). Goto-style blocking: every task owns
// one tile of C (any size; the pool picks a few large ones per thread), walks it in NC-column x
// KC-deep blocks of B, packed once per block into per-thread scratch, and MC-row blocks of A,
// and runs a 6 x 8 register-tiled micro-kernel over the packed panels. Tasks never share
// writable memory, so the worker pool needs no barrier inside a GEMM. Pointers are byte offsets
// into the shared memory that the JavaScript side manages; this module allocates nothing.

import { dgeSpan } from "./optim";

export const MR: i32 = 6;
export const NR: i32 = 8;
export const MC: i32 = 72;
export const NC: i32 = 256;
export const KC: i32 = 256;

// Layout codes: 0 = "nn" (A[m,k], B[k,n]), 1 = "nt" (A[m,k], B[n,k]), 2 = "tn" (A[k,m], B[k,n]).

/** Bytes of per-thread scratch this kernel needs. */
export function gemmF32ScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/** Number of tasks (C tiles of tm x tn) of an m x n product. */
export function gemmF32Tasks(m: i32, n: i32, tm: i32, tn: i32): i32 {
  if (m <= 0 || n <= 0) return 0;
  return ((m + tm - 1) / tm) * ((n + tn - 1) / tn);
}

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Reports whether this build uses relaxed-SIMD FMA (1) or plain mul + add (0). */
export function usesRelaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

// Stores the transpose of the 4 x 4 block of rows r0..r3 (4 floats each): row i of the result
// (r0[i], r1[i], r2[i], r3[i]) at d + i * stride bytes.
@inline function transpose4Store(r0: v128, r1: v128, r2: v128, r3: v128, d: usize, stride: i32): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  const st = <usize>stride;
  v128.store(d, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(d + st, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(d + 2 * st, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(d + 3 * st, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

// Packs A(ic.., pc..) into MR-row panels, k-major: dst[p][kk][r], zero-padded past mc.
function packA(
  layout: i32, a: usize, m: i32, k: i32, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize,
): void {
  for (let p = 0; p < mc; p += MR) {
    const rows = min(MR, mc - p);
    const panel = dst + <usize>(p * kc) * 4;
    if (layout == 2) {
      // A stored [k, m]: the MR rows of one k are contiguous.
      let src = a + (<usize>pc * <usize>m + <usize>(ic + p)) * 4;
      if (rows == MR) {
        for (let kk = 0; kk < kc; kk++) {
          const d = panel + <usize>(kk * MR) * 4;
          v128.store(d, v128.load(src));
          store<u64>(d, load<u64>(src, 16), 16);
          src += <usize>m * 4;
        }
      } else {
        for (let kk = 0; kk < kc; kk++) {
          const d = panel + <usize>(kk * MR) * 4;
          for (let r = 0; r < MR; r++) store<f32>(d + <usize>r * 4, r < rows ? load<f32>(src + <usize>r * 4) : 0);
          src += <usize>m * 4;
        }
      }
    } else if (rows == MR) {
      // A stored [m, k]: four k of each of the MR rows per step, transposed in registers.
      const s0 = a + (<usize>(ic + p) * <usize>k + <usize>pc) * 4;
      const ld = <usize>k * 4;
      let kk = 0;
      for (; kk + 4 <= kc; kk += 4) {
        const o = <usize>kk * 4;
        const r0 = v128.load(s0 + o), r1 = v128.load(s0 + ld + o);
        const r2 = v128.load(s0 + 2 * ld + o), r3 = v128.load(s0 + 3 * ld + o);
        const r4 = v128.load(s0 + 4 * ld + o), r5 = v128.load(s0 + 5 * ld + o);
        const d = panel + <usize>(kk * MR) * 4;
        transpose4Store(r0, r1, r2, r3, d, MR * 4);
        const lo = i32x4.shuffle(r4, r5, 0, 4, 1, 5), hi = i32x4.shuffle(r4, r5, 2, 6, 3, 7);
        v128.store64_lane(d, lo, 0, 16);
        v128.store64_lane(d, lo, 1, 16 + MR * 4);
        v128.store64_lane(d, hi, 0, 16 + 2 * MR * 4);
        v128.store64_lane(d, hi, 1, 16 + 3 * MR * 4);
      }
      for (; kk < kc; kk++) {
        const d = panel + <usize>(kk * MR) * 4;
        for (let r = 0; r < MR; r++) {
          store<f32>(d + <usize>r * 4, load<f32>(s0 + <usize>r * ld + <usize>kk * 4));
        }
      }
    } else {
      // A stored [m, k], a partial panel: gather one element from each row, zeros below.
      for (let r = 0; r < MR; r++) {
        const d = panel + <usize>r * 4;
        if (r < rows) {
          const src = a + (<usize>(ic + p + r) * <usize>k + <usize>pc) * 4;
          for (let kk = 0; kk < kc; kk++) store<f32>(d + <usize>(kk * MR) * 4, load<f32>(src + <usize>kk * 4));
        } else {
          for (let kk = 0; kk < kc; kk++) store<f32>(d + <usize>(kk * MR) * 4, 0);
        }
      }
    }
  }
}

// Packs B(pc.., jc..) into NR-column panels, k-major: dst[p][kk][c], zero-padded past nc.
function packB(
  layout: i32, b: usize, n: i32, k: i32, jc: i32, nc: i32, pc: i32, kc: i32, dst: usize,
): void {
  for (let p = 0; p < nc; p += NR) {
    const cols = min(NR, nc - p);
    const panel = dst + <usize>(p * kc) * 4;
    if (layout != 1) {
      // B stored [k, n]: NR contiguous columns per k.
      let src = b + (<usize>pc * <usize>n + <usize>(jc + p)) * 4;
      if (cols == NR) {
        for (let kk = 0; kk < kc; kk++) {
          const d = panel + <usize>(kk * NR) * 4;
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          src += <usize>n * 4;
        }
      } else {
        for (let kk = 0; kk < kc; kk++) {
          const d = panel + <usize>(kk * NR) * 4;
          for (let c = 0; c < NR; c++) store<f32>(d + <usize>c * 4, c < cols ? load<f32>(src + <usize>c * 4) : 0);
          src += <usize>n * 4;
        }
      }
    } else if (cols == NR) {
      // B stored [n, k] (the "nt" layout), a full panel: four k of each of the NR rows per
      // step, transposed in registers.
      const s0 = b + (<usize>(jc + p) * <usize>k + <usize>pc) * 4;
      const ld = <usize>k * 4;
      let kk = 0;
      for (; kk + 4 <= kc; kk += 4) {
        const o = <usize>kk * 4;
        const d = panel + <usize>(kk * NR) * 4;
        transpose4Store(
          v128.load(s0 + o), v128.load(s0 + ld + o), v128.load(s0 + 2 * ld + o),
          v128.load(s0 + 3 * ld + o), d, NR * 4,
        );
        const s4 = s0 + 4 * ld;
        transpose4Store(
          v128.load(s4 + o), v128.load(s4 + ld + o), v128.load(s4 + 2 * ld + o),
          v128.load(s4 + 3 * ld + o), d + 16, NR * 4,
        );
      }
      for (; kk < kc; kk++) {
        const d = panel + <usize>(kk * NR) * 4;
        for (let c = 0; c < NR; c++) {
          store<f32>(d + <usize>c * 4, load<f32>(s0 + <usize>c * ld + <usize>kk * 4));
        }
      }
    } else {
      // B stored [n, k] (the "nt" layout), a partial panel: each column is a contiguous row.
      for (let c = 0; c < NR; c++) {
        const d = panel + <usize>c * 4;
        if (c < cols) {
          const src = b + (<usize>(jc + p + c) * <usize>k + <usize>pc) * 4;
          for (let kk = 0; kk < kc; kk++) store<f32>(d + <usize>(kk * NR) * 4, load<f32>(src + <usize>kk * 4));
        } else {
          for (let kk = 0; kk < kc; kk++) store<f32>(d + <usize>(kk * NR) * 4, 0);
        }
      }
    }
  }
}

// C[MR x NR] (row stride ldc floats) = (add ? C : 0) + Ap · Bp over kc: 12 f32x4 accumulators,
// two B vectors and one broadcast A value, 15 of the 16 SIMD registers (x64).
@inline function micro(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  for (let kk = 0; kk < kc; kk++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00); c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10); c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20); c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30); c31 = madd(a, b1, c31);
    a = v128.load32_splat(ap, 16);
    c40 = madd(a, b0, c40); c41 = madd(a, b1, c41);
    a = v128.load32_splat(ap, 20);
    c50 = madd(a, b0, c50); c51 = madd(a, b1, c51);
    ap += 24;
    bp += 32;
  }
  const r1 = c + ldc * 4, r2 = c + ldc * 8, r3 = c + ldc * 12, r4 = c + ldc * 16, r5 = c + ldc * 20;
  if (add) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(r1)); c11 = f32x4.add(c11, v128.load(r1, 16));
    c20 = f32x4.add(c20, v128.load(r2)); c21 = f32x4.add(c21, v128.load(r2, 16));
    c30 = f32x4.add(c30, v128.load(r3)); c31 = f32x4.add(c31, v128.load(r3, 16));
    c40 = f32x4.add(c40, v128.load(r4)); c41 = f32x4.add(c41, v128.load(r4, 16));
    c50 = f32x4.add(c50, v128.load(r5)); c51 = f32x4.add(c51, v128.load(r5, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
  v128.store(r4, c40); v128.store(r4, c41, 16);
  v128.store(r5, c50); v128.store(r5, c51, 16);
}

/**
 * Computes task `t` of C[m, n] (+)= op(A) · op(B): the t-th tm x tn tile of C, tiles in row-major
 * order. Any tm, tn >= 1 give correct results; multiples of MR and NR keep partial micro-tiles
 * to the matrix edges. Inside the tile, each NC x KC block of B is packed once and reused by
 * every MC-row block of A. accumulate != 0 adds to C's contents; otherwise C is overwritten.
 */
export function gemmF32Task(
  layout: i32, a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, accumulate: i32, tm: i32,
  tn: i32, t: i32, scratch: usize,
): void {
  const tilesN = (n + tn - 1) / tn;
  const i0 = (t / tilesN) * tm;
  const j0 = (t % tilesN) * tn;
  const i1 = min(i0 + tm, m);
  const j1 = min(j0 + tn, n);
  const ap = scratch;
  const bp = scratch + <usize>(MC * KC) * 4;
  const edge = bp + <usize>(KC * NC) * 4;
  const ldc = <usize>n;
  if (k == 0) {
    if (accumulate == 0) {
      for (let i = i0; i < i1; i++) memory.fill(c + (<usize>i * ldc + <usize>j0) * 4, 0, <usize>(j1 - j0) * 4);
    }
    return;
  }
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const add = accumulate != 0 || pc > 0;
      packB(layout, b, n, k, jc, nc, pc, kc, bp);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(layout, a, m, k, ic, mc, pc, kc, ap);
        macro(ap, bp, c + (<usize>ic * ldc + <usize>jc) * 4, ldc, mc, nc, kc, add, edge);
      }
    }
  }
}

// The 16 E2M1 values by code (low three bits the magnitude, bit 3 the sign: code 8 is −0).
const E2M1_0_3 = f32x4(0, 0.5, 1, 1.5);
const E2M1_4_7 = f32x4(2, 3, 4, 6);
const E2M1_8_11 = f32x4(-0.0, -0.5, -1, -1.5);
const E2M1_12_15 = f32x4(-2, -3, -4, -6);

// One E2M1 code to its value.
@inline function decodeE2M1(code: u32): f32 {
  const m = code & 7;
  const twice: f32 = m < 4 ? <f32>m : m == 4 ? 4 : m == 5 ? 6 : m == 6 ? 8 : 12;
  const v = twice * 0.5;
  return (code & 8) != 0 ? -v : v;
}

// Byte planes of a 16-entry f32 table (the four f32x4 t0..t3): plane b holds byte b of every
// entry, so one swizzle per plane looks up sixteen codes. (Shuffle lanes must be literals.)

@inline function plane0(t0: v128, t1: v128, t2: v128, t3: v128): v128 {
  const lo = i8x16.shuffle(t0, t1, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  const hi = i8x16.shuffle(t2, t3, 0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

@inline function plane1(t0: v128, t1: v128, t2: v128, t3: v128): v128 {
  const lo = i8x16.shuffle(t0, t1, 1, 5, 9, 13, 17, 21, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0);
  const hi = i8x16.shuffle(t2, t3, 1, 5, 9, 13, 17, 21, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0);
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

@inline function plane2(t0: v128, t1: v128, t2: v128, t3: v128): v128 {
  const lo = i8x16.shuffle(t0, t1, 2, 6, 10, 14, 18, 22, 26, 30, 0, 0, 0, 0, 0, 0, 0, 0);
  const hi = i8x16.shuffle(t2, t3, 2, 6, 10, 14, 18, 22, 26, 30, 0, 0, 0, 0, 0, 0, 0, 0);
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

@inline function plane3(t0: v128, t1: v128, t2: v128, t3: v128): v128 {
  const lo = i8x16.shuffle(t0, t1, 3, 7, 11, 15, 19, 23, 27, 31, 0, 0, 0, 0, 0, 0, 0, 0);
  const hi = i8x16.shuffle(t2, t3, 3, 7, 11, 15, 19, 23, 27, 31, 0, 0, 0, 0, 0, 0, 0, 0);
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

// Packs B(pc.., jc..) from E2M1 codes into NR-column panels like packB for B stored [k, n]:
// row r of B is row r of a quantized [k, n] operand (nibble-packed, rowBytes per row), each value
// code · scale of its (row group, column group) (divided by the tensor scale ts when it is not
// 1): the f32 multiply (and division) the quantizer's dequantized copy was made with, so the
// panel holds the same bits that copy would have. Row by row: the sixteen possible values of a
// scale group are computed once (that same multiply), then eight codes at a time are looked up
// by byte-plane swizzles and written to their panel.
function packBCodes(
  codes: usize, scales: usize, n: i32, br: i32, bc: i32, ts: f32, jc: i32, nc: i32, pc: i32,
  kc: i32, dst: usize,
): void {
  const rowBytes = <usize>((n + 1) >> 1);
  const gcols = (n + bc - 1) / bc;
  const divide = ts != 1;
  const tv = f32x4.splat(ts);
  const full = nc & ~(NR - 1);
  for (let kk = 0; kk < kc; kk++) {
    const r = pc + kk;
    const srow = scales + <usize>((r / br) * gcols) * 4;
    const crow = codes + <usize>r * rowBytes;
    let group = -1;
    let p0 = v128.splat<i32>(0), p1 = p0, p2 = p0, p3 = p0;
    let p = 0;
    for (; p < full; p += NR) {
      const c0 = jc + p;
      const g = c0 / bc;
      const d = dst + <usize>(p * kc + kk * NR) * 4;
      if ((c0 + NR - 1) / bc != g || (c0 & 1) != 0) {
        packCodesScalar(crow, srow, bc, divide, ts, c0, NR, d);
        continue;
      }
      if (g != group) {
        group = g;
        const sv = f32x4.splat(load<f32>(srow + <usize>g * 4));
        let t0 = f32x4.mul(E2M1_0_3, sv), t1 = f32x4.mul(E2M1_4_7, sv);
        let t2 = f32x4.mul(E2M1_8_11, sv), t3 = f32x4.mul(E2M1_12_15, sv);
        if (divide) {
          t0 = f32x4.div(t0, tv);
          t1 = f32x4.div(t1, tv);
          t2 = f32x4.div(t2, tv);
          t3 = f32x4.div(t3, tv);
        }
        p0 = plane0(t0, t1, t2, t3);
        p1 = plane1(t0, t1, t2, t3);
        p2 = plane2(t0, t1, t2, t3);
        p3 = plane3(t0, t1, t2, t3);
      }
      // eight codes (the low nibble first) as bytes 0..7
      const word = load<u32>(crow + <usize>(c0 >> 1));
      const pair = i32x4(<i32>(word & 0x0f0f0f0f), <i32>((word >> 4) & 0x0f0f0f0f), 0, 0);
      const k8 = i8x16.shuffle(pair, pair, 0, 4, 1, 5, 2, 6, 3, 7, 0, 4, 1, 5, 2, 6, 3, 7);
      const b0 = i8x16.swizzle(p0, k8), b1 = i8x16.swizzle(p1, k8);
      const b2 = i8x16.swizzle(p2, k8), b3 = i8x16.swizzle(p3, k8);
      const x01 = i8x16.shuffle(b0, b1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const x23 = i8x16.shuffle(b2, b3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      v128.store(d, i8x16.shuffle(x01, x23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
      v128.store(d, i8x16.shuffle(x01, x23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
    }
    if (p < nc) packCodesScalar(crow, srow, bc, divide, ts, jc + p, nc - p, dst + <usize>(p * kc + kk * NR) * 4);
  }
}

// One row of a panel, value by value: cols valid columns from c0, zeros past them.
function packCodesScalar(
  crow: usize, srow: usize, bc: i32, divide: bool, ts: f32, c0: i32, cols: i32, d: usize,
): void {
  for (let c = 0; c < NR; c++) {
    let v: f32 = 0;
    if (c < cols) {
      const col = c0 + c;
      const code = (<u32>load<u8>(crow + <usize>(col >> 1)) >> (<u32>(col & 1) << 2)) & 15;
      v = decodeE2M1(code) * load<f32>(srow + <usize>(col / bc) * 4);
      if (divide) v = v / ts;
    }
    store<f32>(d + <usize>c * 4, v);
  }
}

/**
 * gemmF32Task ("nn" or "tn": B stored [k, n]) with B given as E2M1 codes and scales, decoded
 * while its panels are packed: C[m, n] (+)= op(A)·dequantized(B), bit for bit what gemmF32Task
 * computes on the quantizer's dequantized copy of B (the same panel values, blocks and
 * micro-kernel), without that copy. Scales: f32 per (row group of br rows, column group of bc
 * columns), row-major with ceil(n / bc) per group row; ts: the tensor scale (1 but for NVFP4).
 */
export function gemmF32CodesTask(
  layout: i32, a: usize, codes: usize, scales: usize, c: usize, m: i32, n: i32, k: i32,
  accumulate: i32, br: i32, bc: i32, ts: f32, tm: i32, tn: i32, t: i32, scratch: usize,
): void {
  const tilesN = (n + tn - 1) / tn;
  const i0 = (t / tilesN) * tm;
  const j0 = (t % tilesN) * tn;
  const i1 = min(i0 + tm, m);
  const j1 = min(j0 + tn, n);
  const ap = scratch;
  const bp = scratch + <usize>(MC * KC) * 4;
  const edge = bp + <usize>(KC * NC) * 4;
  const ldc = <usize>n;
  if (k == 0) {
    if (accumulate == 0) {
      for (let i = i0; i < i1; i++) memory.fill(c + (<usize>i * ldc + <usize>j0) * 4, 0, <usize>(j1 - j0) * 4);
    }
    return;
  }
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const add = accumulate != 0 || pc > 0;
      packBCodes(codes, scales, n, br, bc, ts, jc, nc, pc, kc, bp);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(layout, a, m, k, ic, mc, pc, kc, ap);
        macro(ap, bp, c + (<usize>ic * ldc + <usize>jc) * 4, ldc, mc, nc, kc, add, edge);
      }
    }
  }
}

/** Bytes of per-thread scratch gemmF32DgeTask needs for tiles of tm rows. */
export function gemmF32DgeScratchBytes(tm: i32): i32 {
  return gemmF32ScratchBytes() + tm * NC * 4;
}

/**
 * gemmF32Task with the DGE factor in its epilogue: acc[m, n] += (op(A)·op(B)) ⊙ f′(grid), f′ the
 * factor of optim's dgeTask (plan: its plan block), bit for bit what gemmF32Task into a
 * temporary followed by dgeTask writes. The product's partial sums stay in a per-thread tile
 * [tm, NC] of scratch after the packed panels (the same K blocks, micro-kernel and order as
 * gemmF32Task, so every raw value is the same f32); once an MC-row block has seen the last K
 * block, its rows go through the DGE span while they are in cache. The raw gradient never
 * reaches memory and no second pass reads it back.
 */
export function gemmF32DgeTask(
  layout: i32, a: usize, b: usize, acc: usize, m: i32, n: i32, k: i32, grid: usize, plan: usize,
  tm: i32, tn: i32, t: i32, scratch: usize,
): void {
  const tilesN = (n + tn - 1) / tn;
  const i0 = (t / tilesN) * tm;
  const j0 = (t % tilesN) * tn;
  const i1 = min(i0 + tm, m);
  const j1 = min(j0 + tn, n);
  const ap = scratch;
  const bp = scratch + <usize>(MC * KC) * 4;
  const edge = bp + <usize>(KC * NC) * 4;
  const tile = edge + <usize>(MR * NR) * 4;
  const ldt = <usize>NC;
  const ldc = <usize>n;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    if (k == 0) {
      for (let i = i0; i < i1; i++) memory.fill(tile + <usize>(i - i0) * ldt * 4, 0, <usize>nc * 4);
      dgeRows(tile, ldt, acc, grid, ldc, i0, i1, i0, jc, nc, plan);
      continue;
    }
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(layout, b, n, k, jc, nc, pc, kc, bp);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(layout, a, m, k, ic, mc, pc, kc, ap);
        macro(ap, bp, tile + <usize>(ic - i0) * ldt * 4, ldt, mc, nc, kc, pc > 0, edge);
        if (pc + kc >= k) dgeRows(tile, ldt, acc, grid, ldc, ic, ic + mc, i0, jc, nc, plan);
      }
    }
  }
}

// acc rows [r0, r1), columns [jc, jc + nc) += tile ⊙ f′(grid) (tile rows counted from i0).
function dgeRows(
  tile: usize, ldt: usize, acc: usize, grid: usize, ldc: usize, r0: i32, r1: i32, i0: i32,
  jc: i32, nc: i32, plan: usize,
): void {
  for (let i = r0; i < r1; i++) {
    const o = (<usize>i * ldc + <usize>jc) * 4;
    dgeSpan(acc + o, tile + <usize>(i - i0) * ldt * 4, grid + o, nc, plan, 0);
  }
}

// C block [mc, nc] (+)= packed A block · packed B block, one micro-tile at a time.
function macro(
  ap: usize, bp: usize, c: usize, ldc: usize, mc: i32, nc: i32, kc: i32, add: bool, edge: usize,
): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const bpanel = bp + <usize>(jr * kc) * 4;
    for (let ir = 0; ir < mc; ir += MR) {
      const mr = min(MR, mc - ir);
      const apanel = ap + <usize>(ir * kc) * 4;
      const cptr = c + (<usize>ir * ldc + <usize>jr) * 4;
      if (mr == MR && nr == NR) {
        micro(kc, apanel, bpanel, cptr, ldc, add);
      } else {
        // Edge tile: compute the full MR x NR block into scratch, then copy the valid part.
        micro(kc, apanel, bpanel, edge, <usize>NR, false);
        for (let i = 0; i < mr; i++) {
          const crow = cptr + <usize>i * ldc * 4;
          const erow = edge + <usize>(i * NR) * 4;
          for (let j = 0; j < nr; j++) {
            const v = load<f32>(erow + <usize>j * 4);
            store<f32>(crow + <usize>j * 4, add ? load<f32>(crow + <usize>j * 4) + v : v);
          }
        }
      }
    }
  }
}
