// AdamW for @fp4lab/mixed-optim's adamwStep: the stored moments are on their grid after every
// step (mixed-optim's state is plain data: whoever reads `state.m1` between steps must see the
// rounded values). The new per-tensor scale comes from the largest |m| and v of the step, known
// only after every element is computed, so a step is two passes: adamwPkgTask updates the
// weights, stores each moment as f32(m · inv) (left unrounded where the caller defers its
// rounding by giving format 0) and records the chunk's maxima; adamwRoundTask then rescales and
// rounds the deferred moments onto the new scale. The arithmetic is mixed-optim's TypeScript in
// the same order in f64 (two lanes at a time; f64 add, multiply, divide and square root are IEEE
// exact-rounded in WebAssembly, and nothing is fused), so the results are bit for bit those of
// adamwStepReference.
//
// Tensor record (f64 words, TR_WORDS): w, g, m1, m2, decay, b1s1, b2s2, inv1, inv2, ratio1,
// ratio2, fmt1, fmt2. Formats: 0 f32 (stored f32(m · inv), not rounded), 1 E4M3, 2 FP16, 3 BF16.
// A stored moment is Q(f32(f32(m · inv) · ratio)) with inv = 1 / previous scale and ratio =
// previous scale / new scale (the TypeScript's `m1[i] = m * inv1`, then `buffer[i] *= ratio` when
// the scale changed, then `quantize`); ratio 1 skips the second product, as the TypeScript does.
// Task record (PKG_TASK_BYTES): i32 tensor, i32 start, i32 end, i32 pad, f64 max|m|, f64 max v.
// Globals (f64): c1, c2, eps, stepSize, invSqrtBc2.

import { rne4, roundMoment } from "./vmath";

const TR_WORDS = 16;
const PKG_TASK_BYTES = 32;

@inline function roundVector(x: v128, fmt: i32): v128 {
  if (fmt == 1) return rne4(x, 3, -6, 448);
  if (fmt == 2) return rne4(x, 10, -14, 65504);
  if (fmt == 3) {
    const a = v128.and(x, i32x4.splat(0x7fffffff));
    // a ≤ 0x7fffffff: a signed compare is the unsigned one; no overflow below NaN.
    const isNan = i32x4.gt_s(a, i32x4.splat(0x7f800000));
    const odd = v128.and(i32x4.shr_u(a, 16), i32x4.splat(1));
    let r = v128.and(i32x4.add(i32x4.add(a, i32x4.splat(0x7fff)), odd), i32x4.splat(<i32>0xffff0000));
    r = i32x4.min_u(r, i32x4.splat(0x7f7f0000));
    r = v128.or(r, v128.and(x, i32x4.splat(<i32>0x80000000)));
    return v128.bitselect(x, r, isNan);
  }
  return x;
}

/** Lanes 2, 3 of an f32x4 promoted to f64x2. */
@inline function promoteHigh(x: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1));
}

/** Two f64x2 demoted into one f32x4 (lo in lanes 0, 1). */
@inline function demote4(lo: v128, hi: v128): v128 {
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** f32(f32(m · inv) · ratio) rounded to fmt, four lanes (`rescale` false: ratio is 1). */
@inline function storeVector(
  mLo: v128, mHi: v128, inv: v128, ratio: v128, rescale: bool, fmt: i32,
): v128 {
  let u = demote4(f64x2.mul(mLo, inv), f64x2.mul(mHi, inv));
  if (fmt == 0) return u;
  if (rescale) {
    u = demote4(f64x2.mul(f64x2.promote_low_f32x4(u), ratio), f64x2.mul(promoteHigh(u), ratio));
  }
  return roundVector(u, fmt);
}

@inline function storeScalar(m: f64, inv: f64, ratio: f64, rescale: bool, fmt: i32): f32 {
  let u = <f32>(m * inv);
  if (fmt == 0) return u;
  if (rescale) u = <f32>(<f64>u * ratio);
  return roundMoment(u, fmt);
}

/**
 * The update of chunk t: w ← w·decay − stepSize·m / (√v·invSqrtBc2 + ε) from the step's
 * unrounded m and v, each moment stored as storeVector gives it (format 0: f32(m · inv), which
 * adamwRoundTask finishes), and the chunk's max |m| and max v (f64, NaN never raising a maximum,
 * as with the TypeScript's `a > max`) in the task record.
 */
export function adamwPkgTask(
  tensors: usize, tasks: usize, global: usize, t: i32, scratch: usize,
): void {
  const task = tasks + <usize>t * PKG_TASK_BYTES;
  const rec = tensors + <usize>load<i32>(task) * TR_WORDS * 8;
  const start = load<i32>(task, 4), end = load<i32>(task, 8);
  const w = <usize>load<f64>(rec), g = <usize>load<f64>(rec, 8);
  const m1 = <usize>load<f64>(rec, 16), m2 = <usize>load<f64>(rec, 24);
  const decay = load<f64>(rec, 32), b1s1 = load<f64>(rec, 40), b2s2 = load<f64>(rec, 48);
  const inv1 = load<f64>(rec, 56), inv2 = load<f64>(rec, 64);
  const ratio1 = load<f64>(rec, 72), ratio2 = load<f64>(rec, 80);
  const fmt1 = <i32>load<f64>(rec, 88), fmt2 = <i32>load<f64>(rec, 96);
  const c1 = load<f64>(global), c2 = load<f64>(global, 8), eps = load<f64>(global, 16);
  const stepSize = load<f64>(global, 24), invSqrtBc2 = load<f64>(global, 32);
  const rescale1 = fmt1 != 0 && ratio1 != 1, rescale2 = fmt2 != 0 && ratio2 != 1;
  const b1v = f64x2.splat(b1s1), b2v = f64x2.splat(b2s2);
  const c1v = f64x2.splat(c1), c2v = f64x2.splat(c2);
  const decayv = f64x2.splat(decay), stepv = f64x2.splat(stepSize);
  const bcv = f64x2.splat(invSqrtBc2), epsv = f64x2.splat(eps);
  const inv1v = f64x2.splat(inv1), inv2v = f64x2.splat(inv2);
  const ratio1v = f64x2.splat(ratio1), ratio2v = f64x2.splat(ratio2);
  let acc1 = f64x2.splat(0), acc2 = f64x2.splat(0);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i * 4;
    const g4 = v128.load(g + o), w4 = v128.load(w + o);
    const s14 = v128.load(m1 + o), s24 = v128.load(m2 + o);
    const gl = f64x2.promote_low_f32x4(g4), gh = promoteHigh(g4);
    const ml = f64x2.add(f64x2.mul(b1v, f64x2.promote_low_f32x4(s14)), f64x2.mul(c1v, gl));
    const mh = f64x2.add(f64x2.mul(b1v, promoteHigh(s14)), f64x2.mul(c1v, gh));
    const vl = f64x2.add(
      f64x2.mul(b2v, f64x2.promote_low_f32x4(s24)),
      f64x2.mul(f64x2.mul(c2v, gl), gl),
    );
    const vh = f64x2.add(f64x2.mul(b2v, promoteHigh(s24)), f64x2.mul(f64x2.mul(c2v, gh), gh));
    const wl = f64x2.sub(
      f64x2.mul(f64x2.promote_low_f32x4(w4), decayv),
      f64x2.div(f64x2.mul(stepv, ml), f64x2.add(f64x2.mul(f64x2.sqrt(vl), bcv), epsv)),
    );
    const wh = f64x2.sub(
      f64x2.mul(promoteHigh(w4), decayv),
      f64x2.div(f64x2.mul(stepv, mh), f64x2.add(f64x2.mul(f64x2.sqrt(vh), bcv), epsv)),
    );
    v128.store(w + o, demote4(wl, wh));
    v128.store(m1 + o, storeVector(ml, mh, inv1v, ratio1v, rescale1, fmt1));
    v128.store(m2 + o, storeVector(vl, vh, inv2v, ratio2v, rescale2, fmt2));
    // pmax(acc, x) = acc < x ? x : acc: a NaN x leaves acc alone.
    acc1 = f64x2.pmax(f64x2.pmax(acc1, f64x2.abs(ml)), f64x2.abs(mh));
    acc2 = f64x2.pmax(f64x2.pmax(acc2, vl), vh);
  }
  let max1 = max(f64x2.extract_lane(acc1, 0), f64x2.extract_lane(acc1, 1));
  let max2 = max(f64x2.extract_lane(acc2, 0), f64x2.extract_lane(acc2, 1));
  for (; i < end; i++) {
    const o = <usize>i * 4;
    const gi = <f64>load<f32>(g + o);
    const m = b1s1 * <f64>load<f32>(m1 + o) + c1 * gi;
    const v = b2s2 * <f64>load<f32>(m2 + o) + c2 * gi * gi;
    store<f32>(
      w + o,
      <f32>(<f64>load<f32>(w + o) * decay - stepSize * m / (Math.sqrt(v) * invSqrtBc2 + eps)),
    );
    store<f32>(m1 + o, storeScalar(m, inv1, ratio1, rescale1, fmt1));
    store<f32>(m2 + o, storeScalar(v, inv2, ratio2, rescale2, fmt2));
    const a = abs(m);
    if (a > max1) max1 = a;
    if (v > max2) max2 = v;
  }
  store<f64>(task, max1, 16);
  store<f64>(task, max2, 24);
}

/** One deferred moment of chunk [start, end): f32(u · ratio) when `rescale`, rounded to fmt. */
@inline function roundSpan(p: usize, start: i32, end: i32, ratio: f64, rescale: bool, fmt: i32): void {
  const ratiov = f64x2.splat(ratio);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize>i * 4;
    let u = v128.load(p + o);
    if (rescale) {
      u = demote4(
        f64x2.mul(f64x2.promote_low_f32x4(u), ratiov),
        f64x2.mul(promoteHigh(u), ratiov),
      );
    }
    v128.store(p + o, roundVector(u, fmt));
  }
  for (; i < end; i++) {
    const o = <usize>i * 4;
    let u = load<f32>(p + o);
    if (rescale) u = <f32>(<f64>u * ratio);
    store<f32>(p + o, roundMoment(u, fmt));
  }
}

/**
 * The second pass over chunk t, for the moments whose rounding adamwPkgTask deferred (format
 * non-zero in the record now, ratio = previous scale / this step's): what storeVector does after
 * f32(m · inv), so the two passes store exactly what one fused pass would.
 */
export function adamwRoundTask(
  tensors: usize, tasks: usize, global: usize, t: i32, scratch: usize,
): void {
  const task = tasks + <usize>t * PKG_TASK_BYTES;
  const rec = tensors + <usize>load<i32>(task) * TR_WORDS * 8;
  const start = load<i32>(task, 4), end = load<i32>(task, 8);
  const m1 = <usize>load<f64>(rec, 16), m2 = <usize>load<f64>(rec, 24);
  const ratio1 = load<f64>(rec, 72), ratio2 = load<f64>(rec, 80);
  const fmt1 = <i32>load<f64>(rec, 88), fmt2 = <i32>load<f64>(rec, 96);
  if (fmt1 != 0) roundSpan(m1, start, end, ratio1, ratio1 != 1, fmt1);
  if (fmt2 != 0) roundSpan(m2, start, end, ratio2, ratio2 != 1, fmt2);
}
