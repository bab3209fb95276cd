// f32 GEMM CPU twin (AssemblyScript -> WebAssembly SIMD). Goto-style blocking: every task owns
// one MC x NC tile of C, packs its own A and B panels into per-thread scratch and runs a 6 x 8
// register-tiled micro-kernel over them. Tasks never share writable memory, so the worker pool
// needs no barrier inside a GEMM. Pointers are byte offsets into the shared memory that the
// JavaScript side manages; this module allocates nothing.

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
    } else {
      // A stored [m, k]: gather one element from each of MR rows.
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
    } else {
      // B stored [n, k] (the "nt" layout): each column is a contiguous row.
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
 * Computes task `t` (one tm x tn tile of C; tm <= MC a multiple of MR, tn <= NC a multiple of
 * NR, so that small products still split over threads) of C[m, n] (+)= op(A) · op(B).
 * accumulate != 0 adds to C's contents; otherwise C is overwritten.
 */
export function gemmF32Task(
  layout: i32, a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, accumulate: i32, tm: i32,
  tn: i32, t: i32, scratch: usize,
): void {
  const tilesN = (n + tn - 1) / tn;
  const ic = (t / tilesN) * tm;
  const jc = (t % tilesN) * tn;
  const mc = min(tm, m - ic);
  const nc = min(tn, n - jc);
  const ap = scratch;
  const bp = scratch + <usize>(MC * KC) * 4;
  const edge = bp + <usize>(KC * NC) * 4;
  const ldc = <usize>n;
  if (k == 0) {
    if (accumulate == 0) {
      for (let i = 0; i < mc; i++) memory.fill(c + (<usize>(ic + i) * ldc + <usize>jc) * 4, 0, <usize>nc * 4);
    }
    return;
  }
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc);
    const add = accumulate != 0 || pc > 0;
    packB(layout, b, n, k, jc, nc, pc, kc, bp);
    packA(layout, a, m, k, ic, mc, pc, kc, ap);
    for (let jr = 0; jr < nc; jr += NR) {
      const nr = min(NR, nc - jr);
      const bpanel = bp + <usize>(jr * kc) * 4;
      for (let ir = 0; ir < mc; ir += MR) {
        const mr = min(MR, mc - ir);
        const apanel = ap + <usize>(ir * kc) * 4;
        const cptr = c + (<usize>(ic + ir) * ldc + <usize>(jc + jr)) * 4;
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
}
