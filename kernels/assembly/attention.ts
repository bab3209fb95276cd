// Causal multi-head attention, forward and backward, one pool task per (sequence, head). Heads
// are read in place from the fused qkv buffer [B·T, 3D] (row stride 3D: no gather, no scatter);
// only Kᵀ (forward) or Vᵀ (backward) is packed into the thread's scratch so that a key block is
// one contiguous vector load. Every product runs through one register-tiled micro-kernel
// (4 output rows x 8 columns), with the causal limit cutting the work about in half.
import { expd1, expd2, fmadd } from "./vmath";

/**
 * dst_i[j] (+)= Σ_s coef(i, s) · M(s)[j] for output rows i < mr (at most 4) and j < width, where
 * coef(i, s) = f32 at cbase + i·ci + s·cs and M(s) starts at mbase + s·ms; dst_i = dst + i·ds.
 */
function accum4(
  cbase: usize, ci: usize, cs: usize, mbase: usize, ms: usize, steps: i32, width: i32, dst: usize,
  ds: usize, mr: i32, add: bool,
): void {
  const c0 = cbase;
  const c1 = cbase + (mr > 1 ? ci : 0);
  const c2 = cbase + (mr > 2 ? ci * 2 : 0);
  const c3 = cbase + (mr > 3 ? ci * 3 : 0);
  let j = 0;
  for (; j + 8 <= width; j += 8) {
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
    let m = mbase + <usize>j * 4;
    let o: usize = 0;
    for (let s = 0; s < steps; s++) {
      const m0 = v128.load(m);
      const m1 = v128.load(m, 16);
      let a = v128.load32_splat(c0 + o);
      a00 = fmadd(a, m0, a00); a01 = fmadd(a, m1, a01);
      a = v128.load32_splat(c1 + o);
      a10 = fmadd(a, m0, a10); a11 = fmadd(a, m1, a11);
      a = v128.load32_splat(c2 + o);
      a20 = fmadd(a, m0, a20); a21 = fmadd(a, m1, a21);
      a = v128.load32_splat(c3 + o);
      a30 = fmadd(a, m0, a30); a31 = fmadd(a, m1, a31);
      m += ms;
      o += cs;
    }
    const d = dst + <usize>j * 4;
    put(d, a00, a01, add);
    if (mr > 1) put(d + ds, a10, a11, add);
    if (mr > 2) put(d + ds * 2, a20, a21, add);
    if (mr > 3) put(d + ds * 3, a30, a31, add);
  }
  for (; j + 4 <= width; j += 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let m = mbase + <usize>j * 4;
    let o: usize = 0;
    for (let s = 0; s < steps; s++) {
      const m0 = v128.load(m);
      a0 = fmadd(v128.load32_splat(c0 + o), m0, a0);
      a1 = fmadd(v128.load32_splat(c1 + o), m0, a1);
      a2 = fmadd(v128.load32_splat(c2 + o), m0, a2);
      a3 = fmadd(v128.load32_splat(c3 + o), m0, a3);
      m += ms;
      o += cs;
    }
    const d = dst + <usize>j * 4;
    put1(d, a0, add);
    if (mr > 1) put1(d + ds, a1, add);
    if (mr > 2) put1(d + ds * 2, a2, add);
    if (mr > 3) put1(d + ds * 3, a3, add);
  }
  for (; j < width; j++) {
    for (let i = 0; i < mr; i++) {
      let acc: f32 = 0;
      for (let s = 0; s < steps; s++) {
        acc += load<f32>(cbase + <usize>i * ci + <usize>s * cs) *
          load<f32>(mbase + <usize>s * ms + <usize>j * 4);
      }
      const d = dst + <usize>i * ds + <usize>j * 4;
      store<f32>(d, add ? load<f32>(d) + acc : acc);
    }
  }
}

@inline function put(d: usize, x0: v128, x1: v128, add: bool): void {
  if (add) {
    x0 = f32x4.add(x0, v128.load(d));
    x1 = f32x4.add(x1, v128.load(d, 16));
  }
  v128.store(d, x0);
  v128.store(d, x1, 16);
}

@inline function put1(d: usize, x0: v128, add: bool): void {
  v128.store(d, add ? f32x4.add(x0, v128.load(d)) : x0);
}

/** Packs the transpose of rows [0, T) x cols [0, hd) of a strided matrix: dst[d·Tp + t]. */
function packTransposed(src: usize, stride: usize, T: i32, hd: i32, dst: usize, Tp: i32): void {
  for (let t = 0; t < T; t++) {
    const row = src + <usize>t * stride;
    for (let d = 0; d < hd; d++) {
      store<f32>(dst + (<usize>d * <usize>Tp + <usize>t) * 4, load<f32>(row + <usize>d * 4));
    }
  }
  for (let d = 0; d < hd; d++) {
    for (let t = T; t < Tp; t++) store<f32>(dst + (<usize>d * <usize>Tp + <usize>t) * 4, 0);
  }
}

@inline function roundBf16(x: f32): f32 {
  // Nearest-even on the top 16 bits; probabilities are finite and in [0, 1].
  const b = reinterpret<u32>(x);
  return reinterpret<f32>((b + 0x7fff + ((b >> 16) & 1)) & 0xffff0000);
}

@inline function roundBf16x4(x: v128): v128 {
  const r = i32x4.add(
    i32x4.add(x, i32x4.splat(0x7fff)),
    v128.and(i32x4.shr_u(x, 16), i32x4.splat(1)),
  );
  return v128.and(r, i32x4.splat(0xffff0000));
}

@inline function hiHalf(x: v128): v128 {
  return i32x4.shuffle(x, x, 2, 3, 0, 1);
}

/** Two f64x2 rounded to f32 into one f32x4 (lanes a0, a1, b0, b1). */
@inline function join(a: v128, b: v128): v128 {
  return i32x4.shuffle(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}

/** Per-thread scratch bytes the forward task needs. */
export function attentionForwardScratch(T: i32, hd: i32): i32 {
  const Tp = (T + 7) & ~7;
  return (hd * Tp + 4 * Tp) * 4;
}

/** Per-thread scratch bytes the backward task needs. */
export function attentionBackwardScratch(T: i32, hd: i32): i32 {
  const Tp = (T + 7) & ~7;
  return (hd * Tp + 4 * Tp + T * Tp) * 4;
}

/**
 * Forward for head t % H of sequence t / H: P = softmax(q kᵀ · scale, causal) into probs
 * [B, H, T, T] (zero above the diagonal; rounded to BF16 when bf16 != 0), out = P v.
 */
export function attentionForwardTask(
  out: usize, probs: usize, qkv: usize, B: i32, T: i32, D: i32, H: i32, bf16: i32, scale: f64,
  t: i32, scratch: usize,
): void {
  const b = t / H, h = t % H;
  const hd = D / H;
  const Tp = (T + 7) & ~7;
  const rs = <usize>(3 * D) * 4; // qkv row stride, bytes
  const q = qkv + (<usize>(b * T) * <usize>(3 * D) + <usize>(h * hd)) * 4;
  const k = q + <usize>D * 4;
  const v = q + <usize>D * 8;
  const o = out + (<usize>(b * T) * <usize>D + <usize>(h * hd)) * 4;
  const P = probs + <usize>(b * H + h) * <usize>T * <usize>T * 4;
  const Kt = scratch;
  const S = Kt + <usize>(hd * Tp) * 4;
  packTransposed(k, rs, T, hd, Kt, Tp);
  for (let t0 = 0; t0 < T; t0 += 4) {
    const mr = min(4, T - t0);
    const keys = t0 + mr;
    const width = (keys + 7) & ~7;
    // S[i][0, width) = q_{t0+i} · K
    accum4(q + <usize>t0 * rs, rs, 4, Kt, <usize>Tp * 4, hd, width, S, <usize>Tp * 4, mr, false);
    for (let i = 0; i < mr; i++) {
      // The reference's arithmetic: s = f32(S · scale) with scale in f64, e = exp(s − max) in
      // f64 stored as f32, an f64 sum of the unrounded e, p = f32(f32(e) · (1 / sum)).
      const tt = t0 + i;
      const n = tt + 1;
      const srow = S + <usize>(i * Tp) * 4;
      const prow = P + <usize>tt * <usize>T * 4;
      // (the maximum is taken over the unrounded f64 products, as the reference does; pmax is
      // the reference's `if (s > max) max = s`, and which zero wins cannot change s − max)
      const scv = f64x2.splat(scale);
      let mxv = f64x2.splat(-Infinity);
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const x = v128.load(srow + <usize>j * 4);
        const a = f64x2.mul(f64x2.promote_low_f32x4(x), scv);
        const b = f64x2.mul(f64x2.promote_low_f32x4(hiHalf(x)), scv);
        v128.store(srow + <usize>j * 4, join(a, b));
        mxv = f64x2.pmax(f64x2.pmax(mxv, a), b);
      }
      let mx: f64 = f64x2.extract_lane(mxv, 0);
      if (f64x2.extract_lane(mxv, 1) > mx) mx = f64x2.extract_lane(mxv, 1);
      for (; j < n; j++) {
        const sj = <f64>load<f32>(srow + <usize>j * 4) * scale;
        store<f32>(srow + <usize>j * 4, <f32>sj);
        if (sj > mx) mx = sj;
      }
      const mxd = f64x2.splat(mx);
      let sum: f64 = 0;
      j = 0;
      for (; j + 4 <= n; j += 4) {
        // two independent exp chains; the sum in element order
        const x = v128.load(srow + <usize>j * 4);
        const ea = expd2(f64x2.sub(f64x2.promote_low_f32x4(x), mxd));
        const eb = expd2(f64x2.sub(f64x2.promote_low_f32x4(hiHalf(x)), mxd));
        v128.store(srow + <usize>j * 4, join(ea, eb));
        sum += f64x2.extract_lane(ea, 0);
        sum += f64x2.extract_lane(ea, 1);
        sum += f64x2.extract_lane(eb, 0);
        sum += f64x2.extract_lane(eb, 1);
      }
      for (; j + 2 <= n; j += 2) {
        const x = f64x2.promote_low_f32x4(v128.load64_zero(srow + <usize>j * 4));
        const e = expd2(f64x2.sub(x, mxd));
        v128.store64_lane(srow + <usize>j * 4, f32x4.demote_f64x2_zero(e), 0);
        sum += f64x2.extract_lane(e, 0);
        sum += f64x2.extract_lane(e, 1);
      }
      for (; j < n; j++) {
        const e = expd1(<f64>load<f32>(srow + <usize>j * 4) - mx);
        store<f32>(srow + <usize>j * 4, <f32>e);
        sum += e;
      }
      const inv = 1 / sum;
      const invv = f64x2.splat(inv);
      for (j = 0; j + 4 <= n; j += 4) {
        const x = v128.load(srow + <usize>j * 4);
        const pv = join(
          f64x2.mul(f64x2.promote_low_f32x4(x), invv),
          f64x2.mul(f64x2.promote_low_f32x4(hiHalf(x)), invv),
        );
        v128.store(prow + <usize>j * 4, bf16 != 0 ? roundBf16x4(pv) : pv);
      }
      for (; j < n; j++) {
        const p = <f32>(<f64>load<f32>(srow + <usize>j * 4) * inv);
        store<f32>(prow + <usize>j * 4, bf16 != 0 ? roundBf16(p) : p);
      }
      if (n < T) memory.fill(prow + <usize>n * 4, 0, <usize>(T - n) * 4);
    }
    // out rows t0.. = P rows t0.. · V (keys < t0 + mr; P is zero above the diagonal)
    const prow0 = P + <usize>t0 * <usize>T * 4;
    accum4(prow0, <usize>T * 4, 4, v, rs, keys, hd, o + <usize>t0 * <usize>D * 4, <usize>D * 4, mr, false);
  }
}

/**
 * Backward for head t % H of sequence t / H, accumulating into dqkv [B·T, 3D]:
 * dP = dO vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale, dq += dS k, dk += dSᵀ q, dv += Pᵀ dO.
 */
export function attentionBackwardTask(
  dqkv: usize, dout: usize, qkv: usize, probs: usize, B: i32, T: i32, D: i32, H: i32, scale: f64,
  t: i32, scratch: usize,
): void {
  const b = t / H, h = t % H;
  const hd = D / H;
  const Tp = (T + 7) & ~7;
  const rs = <usize>(3 * D) * 4;
  const ds = <usize>D * 4;
  const headOff = (<usize>(b * T) * <usize>(3 * D) + <usize>(h * hd)) * 4;
  const q = qkv + headOff, k = q + <usize>D * 4, v = q + <usize>D * 8;
  const dq = dqkv + headOff, dk = dq + <usize>D * 4, dv = dq + <usize>D * 8;
  const dO = dout + (<usize>(b * T) * <usize>D + <usize>(h * hd)) * 4;
  const P = probs + <usize>(b * H + h) * <usize>T * <usize>T * 4;
  const Vt = scratch;
  const dPb = Vt + <usize>(hd * Tp) * 4;
  const dS = dPb + <usize>(4 * Tp) * 4;
  const pr = <usize>T * 4, sr = <usize>Tp * 4;
  packTransposed(v, rs, T, hd, Vt, Tp);
  for (let t0 = 0; t0 < T; t0 += 4) {
    const mr = min(4, T - t0);
    const keys = t0 + mr;
    const width = (keys + 7) & ~7;
    accum4(dO + <usize>t0 * ds, ds, 4, Vt, sr, hd, width, dPb, sr, mr, false);
    for (let i = 0; i < mr; i++) {
      const tt = t0 + i;
      const n = tt + 1;
      const prow = P + <usize>tt * pr;
      const drow = dPb + <usize>i * sr;
      const srow = dS + <usize>tt * sr;
      // f64 as the reference: dot = Σ P·dP in order, dS = f32((P · (dP − dot)) · scale)
      // (products of two f32 are exact in f64, so computing them on lanes changes nothing; the
      // sum stays in element order)
      let dot: f64 = 0;
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const pv = v128.load(prow + <usize>j * 4), dv = v128.load(drow + <usize>j * 4);
        const a = f64x2.mul(f64x2.promote_low_f32x4(pv), f64x2.promote_low_f32x4(dv));
        const b = f64x2.mul(f64x2.promote_low_f32x4(hiHalf(pv)), f64x2.promote_low_f32x4(hiHalf(dv)));
        dot += f64x2.extract_lane(a, 0);
        dot += f64x2.extract_lane(a, 1);
        dot += f64x2.extract_lane(b, 0);
        dot += f64x2.extract_lane(b, 1);
      }
      for (; j < n; j++) {
        dot += <f64>load<f32>(prow + <usize>j * 4) * <f64>load<f32>(drow + <usize>j * 4);
      }
      const dotv = f64x2.splat(dot), scv = f64x2.splat(scale);
      for (j = 0; j + 4 <= n; j += 4) {
        const pv = v128.load(prow + <usize>j * 4), dv = v128.load(drow + <usize>j * 4);
        const a = f64x2.mul(
          f64x2.mul(f64x2.promote_low_f32x4(pv), f64x2.sub(f64x2.promote_low_f32x4(dv), dotv)),
          scv,
        );
        const b = f64x2.mul(
          f64x2.mul(
            f64x2.promote_low_f32x4(hiHalf(pv)),
            f64x2.sub(f64x2.promote_low_f32x4(hiHalf(dv)), dotv),
          ),
          scv,
        );
        v128.store(srow + <usize>j * 4, join(a, b));
      }
      for (; j < n; j++) {
        const p = <f64>load<f32>(prow + <usize>j * 4);
        store<f32>(srow + <usize>j * 4, <f32>(p * (<f64>load<f32>(drow + <usize>j * 4) - dot) * scale));
      }
      if (n < Tp) memory.fill(srow + <usize>n * 4, 0, <usize>(Tp - n) * 4);
    }
    // dq rows t0.. += dS rows t0.. · K
    accum4(dS + <usize>t0 * sr, sr, 4, k, rs, keys, hd, dq + <usize>t0 * rs, rs, mr, true);
  }
  for (let j0 = 0; j0 < T; j0 += 4) {
    const mr = min(4, T - j0);
    const steps = T - j0;
    // dv rows j0.. += Pᵀ · dO over t >= j0; dk rows j0.. += dSᵀ · q
    accum4(P + <usize>j0 * pr + <usize>j0 * 4, 4, pr, dO + <usize>j0 * ds, ds, steps, hd,
      dv + <usize>j0 * rs, rs, mr, true);
    accum4(dS + <usize>j0 * sr + <usize>j0 * 4, 4, sr, q + <usize>j0 * rs, rs, steps, hd,
      dk + <usize>j0 * rs, rs, mr, true);
  }
}
