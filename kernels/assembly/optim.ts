import { exp4, fmadd } from "./vmath";

// Optimizer-side kernels on resident buffers: AdamW with the moment rounding fused into the same
// pass (bit-identical to @fp4lab/mixed-optim's adamwStep), f64 scaling (clipping, unscaling),
// the DGE factor applied to the weight gradient (@fp4lab/dge's applyGradientFactor), the random
// Hadamard transform (@fp4lab/quant-granularity's randomHadamard) and the operand statistics.

// ---- AdamW ----------------------------------------------------------------------------------
//
// mixed-optim rounds the new moments after the pass, once the new per-tensor power-of-two scale
// (from the largest |m| and v just computed) is known. Here that rounding is deferred instead:
// a moment buffer holds the unrounded values in units of the previous scale plus a pending ratio
// (previous scale / new scale), and the next pass rounds each value as it reads it:
// Q(f32(u · ratio)) is bit for bit what mixed-optim stored. One pass per step; adamwRound applies
// the pending rounding in place when the moments are exported.

// Tensor record (f64 words): w, g, m1, m2, decay, b1s1, b2s2, inv1, inv2, ratio1, ratio2,
// fmt1, fmt2. Formats: 0 f32, 1 E4M3, 2 FP16, 3 BF16.
const TR_WORDS = 16;
// Task record: i32 tensor, i32 start, i32 end, i32 pad, f64 max|m|, f64 max v.
const TASK_BYTES = 32;

@inline function roundMoment(x: f32, fmt: i32): f32 {
  if (fmt == 1) return q4(x, 3, -6, 448);
  if (fmt == 2) return q4(x, 10, -14, 65504);
  if (fmt == 3) {
    const b = reinterpret<u32>(x);
    const a = b & 0x7fffffff;
    if (a > 0x7f800000) return x;
    let r = (a + 0x7fff + ((a >> 16) & 1)) & 0xffff0000;
    if (r > 0x7f7f0000) r = 0x7f7f0000;
    return reinterpret<f32>(r | (b & 0x80000000));
  }
  return x;
}

@inline function q4(x: f32, mbits: i32, emin: i32, maxv: f32): f32 {
  const a = reinterpret<u32>(x) & 0x7fffffff;
  let field = <i32>(a >>> 23);
  if (field < emin + 127) field = emin + 127;
  const magicField = min(field + 23 - mbits, 254);
  const magic = reinterpret<f32>((<u32>magicField << 23) | 0x400000);
  const r = min((reinterpret<f32>(a) + magic) - magic, maxv);
  return reinterpret<f32>(reinterpret<u32>(r) | (reinterpret<u32>(x) & 0x80000000));
}

/**
 * One AdamW task: the chunk [start, end) of one tensor (task record t of `tasks`), f64 update of
 * the weight, stored moments read through their pending rounding and written unrounded;
 * records the chunk's max |m| and max v. `global`: f64 c1, c2, eps, stepSize, invSqrtBc2.
 */
export function adamwTask(tensors: usize, tasks: usize, global: usize, t: i32, scratch: usize): void {
  const task = tasks + <usize>t * TASK_BYTES;
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
  let max1: f64 = 0, max2: f64 = 0;
  for (let i = start; i < end; i++) {
    const o = <usize>i * 4;
    const gi = <f64>load<f32>(g + o);
    let s1 = load<f32>(m1 + o), s2 = load<f32>(m2 + o);
    if (fmt1 != 0) s1 = roundMoment(<f32>(<f64>s1 * ratio1), fmt1);
    if (fmt2 != 0) s2 = roundMoment(<f32>(<f64>s2 * ratio2), fmt2);
    const m = b1s1 * <f64>s1 + c1 * gi;
    const v = b2s2 * <f64>s2 + c2 * gi * gi;
    store<f32>(w + o, <f32>(<f64>load<f32>(w + o) * decay - stepSize * m / (Math.sqrt(v) * invSqrtBc2 + eps)));
    store<f32>(m1 + o, <f32>(m * inv1));
    store<f32>(m2 + o, <f32>(v * inv2));
    const a = abs(m);
    if (a > max1) max1 = a;
    if (v > max2) max2 = v;
  }
  store<f64>(task, max1, 16);
  store<f64>(task, max2, 24);
}

/** Applies a pending rounding in place: p[i] = Q(f32(p[i] · ratio)) for i < n. */
export function adamwRound(p: usize, n: i32, ratio: f64, fmt: i32): void {
  for (let i = 0; i < n; i++) {
    const o = p + <usize>i * 4;
    store<f32>(o, roundMoment(<f32>(<f64>load<f32>(o) * ratio), fmt));
  }
}

// ---- scaling --------------------------------------------------------------------------------

/**
 * p[i] = f32(p[i] · s) with s an f64 (what `Float32Array[i] *= s` does in JavaScript) over a
 * chunk; out[t] = 1 when the chunk holds NaN or ±Inf afterwards.
 */
export function scale64Task(p: usize, n: i32, s: f64, per: i32, out: usize, t: i32, scratch: usize): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  const sv = f64x2.splat(s);
  const expMask = i32x4.splat(0x7f800000);
  let bad = i32x4.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = p + <usize>i * 4;
    const x = v128.load(o);
    const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(x), sv));
    const hi = f32x4.demote_f64x2_zero(
      f64x2.mul(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)), sv),
    );
    const y = i32x4.shuffle(lo, hi, 0, 1, 4, 5);
    bad = v128.or(bad, i32x4.eq(v128.and(y, expMask), expMask));
    v128.store(o, y);
  }
  let nonFinite = v128.any_true(bad) ? 1 : 0;
  for (; i < i1; i++) {
    const o = p + <usize>i * 4;
    const y = <f32>(<f64>load<f32>(o) * s);
    store<f32>(o, y);
    if (y - y != 0) nonFinite = 1;
  }
  if (out != 0) store<i32>(out + <usize>t * 4, nonFinite);
}

// ---- DGE ------------------------------------------------------------------------------------

// Plan block (f64 words): lo, loTolerant, hiTolerant, invCell, lastCell, invK, exponent, cap,
// intervals, then mid[intervals], invHalf[intervals], then cells (i32) [lastCell + 1].

/**
 * acc[i] += raw[i] · f′(grid[i]) over a chunk, f′ the DGE factor of dge's applyGradientFactor
 * (k, cap, the format's intervals), four lanes at a time in f32: the cell lookup, then
 * invK · exp(exponent · ln u) with a minimax ln (about 1e-7 relative: the factor is not one of
 * the bit-exact operations). out[t]: f64 sum of factors, f64 count capped.
 */
export function dgeTask(
  acc: usize, raw: usize, grid: usize, n: i32, plan: usize, per: i32, out: usize, t: i32,
  scratch: usize,
): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  const lo = <f32>load<f64>(plan), loTol = <f32>load<f64>(plan, 8), hiTol = <f32>load<f64>(plan, 16);
  const invCell = <f32>load<f64>(plan, 24), lastCell = <i32>load<f64>(plan, 32);
  const invK = <f32>load<f64>(plan, 40), exponent = <f32>load<f64>(plan, 48);
  const cap = <f32>load<f64>(plan, 56);
  const intervals = <i32>load<f64>(plan, 64);
  const mid = plan + 72;
  const invHalf = mid + <usize>intervals * 8;
  const cells = invHalf + <usize>intervals * 8;
  let sum = f64x2.splat(0);
  let capped = i32x4.splat(0);
  const lov = f32x4.splat(lo), icv = f32x4.splat(invCell);
  const loT = f32x4.splat(loTol), hiT = f32x4.splat(hiTol);
  const capv = f32x4.splat(cap), ikv = f32x4.splat(invK), exv = f32x4.splat(exponent);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i * 4;
    const x = v128.load(grid + o);
    const inside = v128.and(f32x4.ge(x, loT), f32x4.le(x, hiT));
    let c = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.mul(f32x4.sub(x, lov), icv)));
    c = i32x4.min_s(i32x4.max_s(c, i32x4.splat(0)), i32x4.splat(lastCell));
    const j0 = load<i32>(cells + <usize>i32x4.extract_lane(c, 0) * 4);
    const j1 = load<i32>(cells + <usize>i32x4.extract_lane(c, 1) * 4);
    const j2 = load<i32>(cells + <usize>i32x4.extract_lane(c, 2) * 4);
    const j3 = load<i32>(cells + <usize>i32x4.extract_lane(c, 3) * 4);
    const m = f32x4(
      <f32>load<f64>(mid + <usize>j0 * 8), <f32>load<f64>(mid + <usize>j1 * 8),
      <f32>load<f64>(mid + <usize>j2 * 8), <f32>load<f64>(mid + <usize>j3 * 8),
    );
    const h = f32x4(
      <f32>load<f64>(invHalf + <usize>j0 * 8), <f32>load<f64>(invHalf + <usize>j1 * 8),
      <f32>load<f64>(invHalf + <usize>j2 * 8), <f32>load<f64>(invHalf + <usize>j3 * 8),
    );
    const u = f32x4.mul(f32x4.abs(f32x4.sub(x, m)), h);
    let f = f32x4.mul(ikv, exp4(f32x4.min(f32x4.mul(exv, ln4(u)), f32x4.splat(80))));
    const over = f32x4.gt(f, capv);
    f = v128.bitselect(capv, f, over);
    f = v128.and(f, inside);
    capped = i32x4.sub(capped, v128.and(over, inside));
    sum = f64x2.add(sum, f64x2.add(f64x2.promote_low_f32x4(f),
      f64x2.promote_low_f32x4(i32x4.shuffle(f, f, 2, 3, 0, 1))));
    v128.store(acc + o, fmadd(v128.load(raw + o), f, v128.load(acc + o)));
  }
  let s = f64x2.extract_lane(sum, 0) + f64x2.extract_lane(sum, 1);
  let cp = <f64>(i32x4.extract_lane(capped, 0) + i32x4.extract_lane(capped, 1) +
    i32x4.extract_lane(capped, 2) + i32x4.extract_lane(capped, 3));
  for (; i < i1; i++) {
    const o = <usize>i * 4;
    const x = <f64>load<f32>(grid + o);
    let factor: f64 = 0;
    if (x >= <f64>loTol && x <= <f64>hiTol) {
      const c = <i32>Math.floor((x - <f64>lo) * <f64>invCell);
      const j = load<i32>(cells + <usize>(c < 0 ? 0 : c > lastCell ? lastCell : c) * 4);
      factor = <f64>invK * Math.pow(abs(x - load<f64>(mid + <usize>j * 8)) * load<f64>(invHalf + <usize>j * 8), <f64>exponent);
      if (factor > <f64>cap) {
        factor = <f64>cap;
        cp += 1;
      }
    }
    s += factor;
    store<f32>(acc + o, load<f32>(acc + o) + <f32>(<f64>load<f32>(raw + o) * factor));
  }
  store<f64>(out + <usize>t * 16, s);
  store<f64>(out + <usize>t * 16 + 8, cp);
}

/** Natural log on four lanes of positive normal f32 (0 gives -Inf); about 1e-7 relative. */
@inline function ln4(u: v128): v128 {
  const bits = i32x4.sub(u, i32x4.splat(0x3f3504f3)); // split at √½ so m lies in [√½, √2)
  const e = i32x4.shr_s(bits, 23);
  const m = i32x4.add(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const t = f32x4.div(f32x4.sub(m, f32x4.splat(1)), f32x4.add(m, f32x4.splat(1)));
  const t2 = f32x4.mul(t, t);
  let p = f32x4.splat(<f32>1 / 9);
  p = fmadd(p, t2, f32x4.splat(<f32>1 / 7));
  p = fmadd(p, t2, f32x4.splat(<f32>1 / 5));
  p = fmadd(p, t2, f32x4.splat(<f32>1 / 3));
  p = fmadd(p, t2, f32x4.splat(1));
  const lnm = f32x4.mul(f32x4.mul(t, p), f32x4.splat(2));
  const r = fmadd(f32x4.convert_i32x4_s(e), f32x4.splat(0.6931471805599453), lnm);
  return v128.bitselect(f32x4.splat(-Infinity), r, f32x4.eq(u, f32x4.splat(0)));
}

// ---- random Hadamard transform ----------------------------------------------------------------

/**
 * In place over rows [t·per, (t+1)·per) of [rows, cols]: each block of `size` values times the
 * signs, the Walsh–Hadamard butterflies in f32 (Sylvester order), times norm.
 */
export function hadamardTask(
  p: usize, rows: i32, cols: i32, size: i32, signs: usize, norm: f32, per: i32, t: i32,
  scratch: usize,
): void {
  const r1 = min(rows, t * per + per);
  const block = scratch;
  for (let r = t * per; r < r1; r++) {
    const row = p + <usize>r * <usize>cols * 4;
    for (let s = 0; s < cols; s += size) {
      const src = row + <usize>s * 4;
      for (let i = 0; i < size; i += 4) {
        const o = <usize>i * 4;
        v128.store(block + o, f32x4.mul(v128.load(src + o), v128.load(signs + o)));
      }
      for (let h = 1; h < size; h <<= 1) {
        for (let i = 0; i < size; i += h << 1) {
          for (let j = i; j < i + h; j++) {
            const a = load<f32>(block + <usize>j * 4);
            const b = load<f32>(block + <usize>(j + h) * 4);
            store<f32>(block + <usize>j * 4, a + b);
            store<f32>(block + <usize>(j + h) * 4, a - b);
          }
        }
      }
      const nv = f32x4.splat(norm);
      for (let i = 0; i < size; i += 4) {
        const o = <usize>i * 4;
        v128.store(src + o, f32x4.mul(v128.load(block + o), nv));
      }
    }
  }
}

// ---- operand statistics ------------------------------------------------------------------------

/**
 * For rows [t·per, (t+1)·per): out[2r] = max|a| / rms(a) (0 when rms is 0; Σa² in f64 in
 * order, as the reference), out[2r + 1] = entries non-zero in src and zero in rounded.
 */
export function operandStatsTask(
  src: usize, rounded: usize, rows: i32, cols: i32, per: i32, out: usize, t: i32, scratch: usize,
): void {
  const r1 = min(rows, t * per + per);
  for (let r = t * per; r < r1; r++) {
    const row = src + <usize>r * <usize>cols * 4;
    const rrow = rounded + <usize>r * <usize>cols * 4;
    let mx: f64 = 0, ss: f64 = 0, zeros = 0;
    for (let c = 0; c < cols; c++) {
      const v = <f64>load<f32>(row + <usize>c * 4);
      const a = abs(v);
      if (a > mx) mx = a;
      ss += v * v;
      if (v != 0 && load<f32>(rrow + <usize>c * 4) == 0) zeros++;
    }
    const rms = Math.sqrt(ss / <f64>cols);
    store<f64>(out + <usize>r * 16, rms > 0 ? mx / rms : 0);
    store<f64>(out + <usize>r * 16 + 8, <f64>zeros);
  }
}
