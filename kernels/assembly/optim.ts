import { expd2, lnd2, roundMoment } from "./vmath";

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

@inline function dgeIn(x: f64, loTol: f64, hiTol: f64): bool {
  return x >= loTol && x <= hiTol;
}

/** |x − mid| / half of each lane's grid interval (cell lookup as in dgeTask's scalar loop). */
@inline function dgeU2(
  x: v128, lo: f64, invCell: f64, lastCell: i32, cells: usize, mid: usize, invHalf: usize,
): v128 {
  const x0 = f64x2.extract_lane(x, 0), x1 = f64x2.extract_lane(x, 1);
  let c0 = <i32>Math.floor((x0 - lo) * invCell), c1 = <i32>Math.floor((x1 - lo) * invCell);
  c0 = c0 < 0 ? 0 : c0 > lastCell ? lastCell : c0;
  c1 = c1 < 0 ? 0 : c1 > lastCell ? lastCell : c1;
  const j0 = <usize>load<i32>(cells + <usize>c0 * 4), j1 = <usize>load<i32>(cells + <usize>c1 * 4);
  const m = f64x2(load<f64>(mid + j0 * 8), load<f64>(mid + j1 * 8));
  const h = f64x2(load<f64>(invHalf + j0 * 8), load<f64>(invHalf + j1 * 8));
  return f64x2.mul(f64x2.abs(f64x2.sub(x, m)), h);
}

/**
 * acc[i] = f32(acc[i] + f32(raw[i] · f′(grid[i]))) over a chunk, f′ the DGE factor of dge's
 * applyGradientFactor in f64 (k, cap, the format's intervals): the cell lookup, then
 * invK · u^(1/k − 1) as invK · exp((1/k − 1) · ln u) on two f64 lanes (within an ulp or two of
 * `Math.pow`, so the f32 results are the reference's but in the rarest ties).
 * out[t]: f64 sum of factors, f64 count capped. acc = 0: the statistics only.
 */
export function dgeTask(
  acc: usize, raw: usize, grid: usize, n: i32, plan: usize, per: i32, out: usize, t: i32,
  scratch: usize,
): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  const o = <usize>i0 * 4;
  dgeSpan(acc != 0 ? acc + o : 0, raw + o, grid + o, i1 - i0, plan, out + <usize>t * 16);
}

/**
 * The DGE factor over `count` contiguous elements: acc[i] = f32(acc[i] + f32(raw[i] · f′(grid[i])))
 * (no stores when acc = 0). Every element's arithmetic is independent of where the span starts
 * (the four-at-a-time rounds and the one-at-a-time tail compute the same lanes), so the f32 GEMM's
 * DGE epilogue (gemmF32DgeTask) calling it row by row writes the bits dgeTask writes. With
 * out != 0, out receives the f64 sum of the factors and the f64 count capped, summed in order.
 */
@inline export function dgeSpan(
  acc: usize, raw: usize, grid: usize, count: i32, plan: usize, out: usize,
): void {
  const lo = load<f64>(plan), loTol = load<f64>(plan, 8), hiTol = load<f64>(plan, 16);
  const invCell = load<f64>(plan, 24), lastCell = <i32>load<f64>(plan, 32);
  const invK = load<f64>(plan, 40), exponent = load<f64>(plan, 48), cap = load<f64>(plan, 56);
  const intervals = <i32>load<f64>(plan, 64);
  const mid = plan + 72;
  const invHalf = mid + <usize>intervals * 8;
  const cells = invHalf + <usize>intervals * 8;
  const write = acc != 0;
  let sum: f64 = 0, capped: f64 = 0;
  const ikv = f64x2.splat(invK), exv = f64x2.splat(exponent);
  let i = 0;
  // Four elements a round: two independent f64x2 chains (ln, exp) keep the pipelines busy; each
  // lane's arithmetic and the order of the sums are those of the one-at-a-time loop below.
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i * 4;
    const xa = f64x2.promote_low_f32x4(v128.load64_zero(grid + o));
    const xb = f64x2.promote_low_f32x4(v128.load64_zero(grid + o + 8));
    const ua = dgeU2(xa, lo, invCell, lastCell, cells, mid, invHalf);
    const ub = dgeU2(xb, lo, invCell, lastCell, cells, mid, invHalf);
    const fa = f64x2.mul(ikv, expd2(f64x2.mul(exv, lnd2(ua))));
    const fb = f64x2.mul(ikv, expd2(f64x2.mul(exv, lnd2(ub))));
    let f0 = dgeIn(f64x2.extract_lane(xa, 0), loTol, hiTol) ? f64x2.extract_lane(fa, 0) : 0;
    let f1 = dgeIn(f64x2.extract_lane(xa, 1), loTol, hiTol) ? f64x2.extract_lane(fa, 1) : 0;
    let f2 = dgeIn(f64x2.extract_lane(xb, 0), loTol, hiTol) ? f64x2.extract_lane(fb, 0) : 0;
    let f3 = dgeIn(f64x2.extract_lane(xb, 1), loTol, hiTol) ? f64x2.extract_lane(fb, 1) : 0;
    if (f0 > cap) {
      f0 = cap;
      capped += 1;
    }
    if (f1 > cap) {
      f1 = cap;
      capped += 1;
    }
    if (f2 > cap) {
      f2 = cap;
      capped += 1;
    }
    if (f3 > cap) {
      f3 = cap;
      capped += 1;
    }
    sum += f0;
    sum += f1;
    sum += f2;
    sum += f3;
    if (write) {
      store<f32>(acc + o, load<f32>(acc + o) + <f32>(<f64>load<f32>(raw + o) * f0));
      store<f32>(acc + o + 4, load<f32>(acc + o + 4) + <f32>(<f64>load<f32>(raw + o + 4) * f1));
      store<f32>(acc + o + 8, load<f32>(acc + o + 8) + <f32>(<f64>load<f32>(raw + o + 8) * f2));
      store<f32>(acc + o + 12, load<f32>(acc + o + 12) + <f32>(<f64>load<f32>(raw + o + 12) * f3));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i * 4;
    const x = <f64>load<f32>(grid + o);
    let factor: f64 = 0;
    if (x >= loTol && x <= hiTol) {
      const c = <i32>Math.floor((x - lo) * invCell);
      const j = load<i32>(cells + <usize>(c < 0 ? 0 : c > lastCell ? lastCell : c) * 4);
      const u = abs(x - load<f64>(mid + <usize>j * 8)) * load<f64>(invHalf + <usize>j * 8);
      factor = invK * f64x2.extract_lane(expd2(f64x2.mul(exv, lnd2(f64x2.splat(u)))), 0);
      if (factor > cap) {
        factor = cap;
        capped += 1;
      }
    }
    sum += factor;
    if (write) store<f32>(acc + o, load<f32>(acc + o) + <f32>(<f64>load<f32>(raw + o) * factor));
  }
  if (out != 0) {
    store<f64>(out, sum);
    store<f64>(out + 8, capped);
  }
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
