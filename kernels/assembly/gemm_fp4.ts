// Exact FP4 (E2M1) GEMM CPU twin. E2M1 values times 2 are the integers 0, ±1, ±2, ±3, ±4, ±6,
// ±8, ±12, so products and sums are exact in int32; scales are applied once per K-block in the
// epilogue, in a fixed f32 order shared with the TypeScript reference and the WGSL kernel:
//   y = 0; for each block b: y = y + f32(acc_b) * (sA[i,b] * sW[j,b]);
//   y = y * q, with q = f32(0.25 / (tA * tW)) computed once by the caller (a multiply is
//   correctly rounded everywhere, WGSL included; a divide is not).
//
// Operands are first packed once (all threads then read them): codes -> int8 (value x 2) in
// panels of FP4_MR rows (A) / FP4_NR rows (W), K split into blocks of kb values, each padded
// to a multiple of 4, laid out group by group: panel[g][r][4 bytes]. The relaxed-SIMD build
// uses i32x4.relaxed_dot_i8x16_i7x16_add_s, whose second operand must be non-negative (7-bit),
// so W is stored with +12 (0..24) and 12 * rowsum(A) is subtracted per block.

export const FP4_MR: i32 = 4;
export const FP4_NR: i32 = 8;
export const FP4_MC: i32 = 64;
export const FP4_NC: i32 = 128;
const BIAS: i32 = 12;

// value x 2 of an E2M1 code (sign bit 3)
@inline function e2m1x2(code: i32): i32 {
  const m = code & 7;
  const mag = m < 4 ? m : m == 4 ? 4 : m == 5 ? 6 : m == 6 ? 8 : 12;
  return (code & 8) != 0 ? -mag : mag;
}

/** Bytes of a packed operand of `rows` rows (panel height `r`) with nb blocks of kbp values. */
export function fp4PackedBytes(rows: i32, r: i32, nb: i32, kbp: i32): i32 {
  return ((rows + r - 1) / r) * r * nb * kbp;
}

/**
 * Task `t` of packing (one panel of `r` rows): decodes packed nibbles (row stride rowBytes)
 * into dst; bias is added to every value (W: 12, A: 0; padding rows and k get 0 + bias for W,
 * 0 for A). When sums != 0, writes the per-(row, block) sum of the values (i32, [rowsPad, nb]).
 */
export function fp4PackTask(
  codes: usize, rows: i32, k: i32, rowBytes: i32, kb: i32, nb: i32, kbp: i32, r: i32, bias: i32,
  dst: usize, sums: usize, t: i32, scratch: usize,
): void {
  const kp = nb * kbp;
  const panel = dst + <usize>(t * r * kp);
  // value x 2 (+ bias) of each code, for i8x16.swizzle
  const lut = i8x16.add(
    i8x16(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12),
    i8x16.splat(<i8>bias),
  );
  const vec = (kb & 15) == 0;
  for (let rr = 0; rr < r; rr++) {
    const row = t * r + rr;
    const valid = row < rows;
    const src = codes + <usize>row * <usize>rowBytes;
    const lane = panel + <usize>(rr * 4);
    for (let b = 0; b < nb; b++) {
      const k0 = b * kb;
      let sum = 0;
      let q = 0;
      if (vec && valid) {
        // 16 values (8 bytes) at a time: split nibbles, interleave into k order, look up.
        let vsum = i32x4.splat(0);
        for (; q < kb && k0 + q + 16 <= k; q += 16) {
          const bytes = v128.load64_zero(src + <usize>((k0 + q) >> 1));
          const lo = v128.and(bytes, i8x16.splat(15));
          const hi = i8x16.shr_u(bytes, 4);
          const idx = i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
          const v = i8x16.swizzle(lut, idx);
          if (sums != 0) {
            vsum = i32x4.add(vsum, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v)));
          }
          const at = lane + <usize>(((b * kbp + q) >> 2) * r * 4);
          const step = <usize>(r * 4);
          v128.store32_lane(at, v, 0);
          v128.store32_lane(at + step, v, 1);
          v128.store32_lane(at + step * 2, v, 2);
          v128.store32_lane(at + step * 3, v, 3);
        }
        sum = i32x4.extract_lane(vsum, 0) + i32x4.extract_lane(vsum, 1) +
          i32x4.extract_lane(vsum, 2) + i32x4.extract_lane(vsum, 3);
      }
      for (; q < kbp; q++) {
        const kk = k0 + q;
        let v = 0;
        if (valid && q < kb && kk < k) {
          const byte = <i32>load<u8>(src + <usize>(kk >> 1));
          v = e2m1x2((kk & 1) != 0 ? byte >> 4 : byte & 15);
          sum += v;
        }
        const pos = b * kbp + q;
        store<i8>(lane + <usize>((pos >> 2) * r * 4 + (pos & 3)), <i8>(v + bias));
      }
      if (sums != 0) store<i32>(sums + <usize>(row * nb + b) * 4, sum);
    }
  }
}

@inline function dotAdd(a: v128, w: v128, acc: v128): v128 {
  // Only the relaxed build calls this.
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, w, acc);
}

/** Number of tasks (C tiles of tm x tn) of the FP4 GEMM. */
export function fp4GemmTasks(m: i32, n: i32, tm: i32, tn: i32): i32 {
  if (m <= 0 || n <= 0) return 0;
  return ((m + tm - 1) / tm) * ((n + tn - 1) / tn);
}

// One FP4_MR x FP4_NR tile, all blocks, written to c (row stride ldc floats).
function fp4Micro(
  ap: usize, wp: usize, nb: i32, kbp: i32, sA: usize, sWt: usize, npad: i32, sums: usize,
  i0: i32, j0: i32, q: f32, c: usize, ldc: usize,
): void {
  // y lives in C between blocks (f32 stores are exact), keeping the inner loop at 11 vectors.
  const r1 = c + ldc * 4, r2 = c + ldc * 8, r3 = c + ldc * 12;
  const gpb = kbp >> 2;
  const qv = f32x4.splat(q);
  for (let b = 0; b < nb; b++) {
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    if (ASC_FEATURE_RELAXED_SIMD) {
      for (let g = 0; g < gpb; g++) {
        const w0 = v128.load(wp);
        const w1 = v128.load(wp, 16);
        let a = v128.load32_splat(ap);
        c00 = dotAdd(a, w0, c00);
        c01 = dotAdd(a, w1, c01);
        a = v128.load32_splat(ap, 4);
        c10 = dotAdd(a, w0, c10);
        c11 = dotAdd(a, w1, c11);
        a = v128.load32_splat(ap, 8);
        c20 = dotAdd(a, w0, c20);
        c21 = dotAdd(a, w1, c21);
        a = v128.load32_splat(ap, 12);
        c30 = dotAdd(a, w0, c30);
        c31 = dotAdd(a, w1, c31);
        ap += 16;
        wp += 32;
      }
    } else {
      // Plain SIMD: widen to i16 and use i32x4.dot_i16x8_s; lanes hold pair sums that are
      // folded per column at the end of the block.
      let l00 = i32x4.splat(0), h00 = i32x4.splat(0), l01 = i32x4.splat(0), h01 = i32x4.splat(0);
      let l10 = i32x4.splat(0), h10 = i32x4.splat(0), l11 = i32x4.splat(0), h11 = i32x4.splat(0);
      let l20 = i32x4.splat(0), h20 = i32x4.splat(0), l21 = i32x4.splat(0), h21 = i32x4.splat(0);
      let l30 = i32x4.splat(0), h30 = i32x4.splat(0), l31 = i32x4.splat(0), h31 = i32x4.splat(0);
      for (let g = 0; g < gpb; g++) {
        const w0 = v128.load(wp);
        const w1 = v128.load(wp, 16);
        const w0l = i16x8.extend_low_i8x16_s(w0), w0h = i16x8.extend_high_i8x16_s(w0);
        const w1l = i16x8.extend_low_i8x16_s(w1), w1h = i16x8.extend_high_i8x16_s(w1);
        let a = i16x8.extend_low_i8x16_s(v128.load32_splat(ap));
        l00 = i32x4.add(l00, i32x4.dot_i16x8_s(a, w0l));
        h00 = i32x4.add(h00, i32x4.dot_i16x8_s(a, w0h));
        l01 = i32x4.add(l01, i32x4.dot_i16x8_s(a, w1l));
        h01 = i32x4.add(h01, i32x4.dot_i16x8_s(a, w1h));
        a = i16x8.extend_low_i8x16_s(v128.load32_splat(ap, 4));
        l10 = i32x4.add(l10, i32x4.dot_i16x8_s(a, w0l));
        h10 = i32x4.add(h10, i32x4.dot_i16x8_s(a, w0h));
        l11 = i32x4.add(l11, i32x4.dot_i16x8_s(a, w1l));
        h11 = i32x4.add(h11, i32x4.dot_i16x8_s(a, w1h));
        a = i16x8.extend_low_i8x16_s(v128.load32_splat(ap, 8));
        l20 = i32x4.add(l20, i32x4.dot_i16x8_s(a, w0l));
        h20 = i32x4.add(h20, i32x4.dot_i16x8_s(a, w0h));
        l21 = i32x4.add(l21, i32x4.dot_i16x8_s(a, w1l));
        h21 = i32x4.add(h21, i32x4.dot_i16x8_s(a, w1h));
        a = i16x8.extend_low_i8x16_s(v128.load32_splat(ap, 12));
        l30 = i32x4.add(l30, i32x4.dot_i16x8_s(a, w0l));
        h30 = i32x4.add(h30, i32x4.dot_i16x8_s(a, w0h));
        l31 = i32x4.add(l31, i32x4.dot_i16x8_s(a, w1l));
        h31 = i32x4.add(h31, i32x4.dot_i16x8_s(a, w1h));
        ap += 16;
        wp += 32;
      }
      c00 = fold(l00, h00); c01 = fold(l01, h01);
      c10 = fold(l10, h10); c11 = fold(l11, h11);
      c20 = fold(l20, h20); c21 = fold(l21, h21);
      c30 = fold(l30, h30); c31 = fold(l31, h31);
    }
    // Epilogue of block b: remove the +12 bias of W, then scale in the shared order.
    const sw0 = v128.load(sWt + <usize>(b * npad + j0) * 4);
    const sw1 = v128.load(sWt + <usize>(b * npad + j0) * 4, 16);
    const first = b == 0;
    const last = b == nb - 1;
    blockStep(c, c00, sums, sA, i0, b, nb, sw0, first, last, qv);
    blockStep(c + 16, c01, sums, sA, i0, b, nb, sw1, first, last, qv);
    blockStep(r1, c10, sums, sA, i0 + 1, b, nb, sw0, first, last, qv);
    blockStep(r1 + 16, c11, sums, sA, i0 + 1, b, nb, sw1, first, last, qv);
    blockStep(r2, c20, sums, sA, i0 + 2, b, nb, sw0, first, last, qv);
    blockStep(r2 + 16, c21, sums, sA, i0 + 2, b, nb, sw1, first, last, qv);
    blockStep(r3, c30, sums, sA, i0 + 3, b, nb, sw0, first, last, qv);
    blockStep(r3 + 16, c31, sums, sA, i0 + 3, b, nb, sw1, first, last, qv);
  }
}

// lanes of lo: (c0 pair0, c0 pair1, c1 pair0, c1 pair1); hi: same for c2, c3
@inline function fold(lo: v128, hi: v128): v128 {
  return i32x4.add(
    i32x4.shuffle(lo, hi, 0, 2, 4, 6),
    i32x4.shuffle(lo, hi, 1, 3, 5, 7),
  );
}

// y (4 outputs at p) = (first ? 0 : y) + f32(acc - 12 * rowsum) * (sA * sW), times q after the
// last block (the same f32 operations, in the same order, as storing y and scaling it later)
@inline function blockStep(
  p: usize, acc: v128, sums: usize, sA: usize, i: i32, b: i32, nb: i32, sw: v128, first: bool,
  last: bool, qv: v128,
): void {
  const idx = <usize>(i * nb + b) * 4;
  const exact = i32x4.sub(acc, i32x4.splat(BIAS * load<i32>(sums + idx)));
  const s = f32x4.mul(f32x4.splat(load<f32>(sA + idx)), sw);
  const y0 = first ? f32x4.splat(0) : v128.load(p);
  const y = f32x4.add(y0, f32x4.mul(f32x4.convert_i32x4_s(exact), s));
  v128.store(p, last ? f32x4.mul(y, qv) : y);
}

/**
 * Task `t` (one tm x tn tile of C[m, n]; tm a multiple of FP4_MR, tn of FP4_NR) of the FP4
 * GEMM over packed operands.
 * sA: f32 [mpad, nb] per-(row, block) scales of A; sWt: f32 [nb, npad] of W (block-major);
 * sums: i32 [mpad, nb] row sums of A's values per block.
 */
export function fp4GemmTask(
  ap: usize, wp: usize, sA: usize, sWt: usize, sums: usize, m: i32, n: i32, nb: i32, kbp: i32,
  q: f32, c: usize, tm: i32, tn: i32, t: i32, scratch: usize,
): void {
  const tilesN = (n + tn - 1) / tn;
  const ic = (t / tilesN) * tm;
  const jc = (t % tilesN) * tn;
  const mc = min(tm, m - ic);
  const nc = min(tn, n - jc);
  const kp = nb * kbp;
  const npad = ((n + FP4_NR - 1) / FP4_NR) * FP4_NR;
  const ldc = <usize>n;
  for (let jr = 0; jr < nc; jr += FP4_NR) {
    const j0 = jc + jr;
    const nr = min(FP4_NR, n - j0);
    const wpanel = wp + <usize>(j0 * kp);
    for (let ir = 0; ir < mc; ir += FP4_MR) {
      const i0 = ic + ir;
      const mr = min(FP4_MR, m - i0);
      const apanel = ap + <usize>(i0 * kp);
      const cptr = c + (<usize>i0 * ldc + <usize>j0) * 4;
      if (mr == FP4_MR && nr == FP4_NR) {
        fp4Micro(apanel, wpanel, nb, kbp, sA, sWt, npad, sums, i0, j0, q, cptr, ldc);
      } else {
        fp4Micro(apanel, wpanel, nb, kbp, sA, sWt, npad, sums, i0, j0, q, scratch, FP4_NR);
        for (let i = 0; i < mr; i++) {
          memory.copy(cptr + <usize>i * ldc * 4, scratch + <usize>(i * FP4_NR) * 4, <usize>nr * 4);
        }
      }
    }
  }
}

/**
 * Packs both operands in one job (one pool wake-up instead of two): tasks [0, tasksA) are A's
 * FP4_MR-row panels (bias 0, row sums), the rest W's FP4_NR-row panels (bias 12).
 */
export function fp4PackBothTask(
  k: i32, rowBytes: i32, kb: i32, nb: i32, kbp: i32, codesA: usize, m: i32, dstA: usize,
  sums: usize, codesW: usize, n: i32, dstW: usize, tasksA: i32, t: i32, scratch: usize,
): void {
  if (t < tasksA) {
    fp4PackTask(codesA, m, k, rowBytes, kb, nb, kbp, FP4_MR, 0, dstA, sums, t, scratch);
  } else {
    fp4PackTask(codesW, n, k, rowBytes, kb, nb, kbp, FP4_NR, BIAS, dstW, 0, t - tasksA, scratch);
  }
}
