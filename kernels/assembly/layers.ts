// Element-wise ops and the non-GEMM layers of the resident training step (RMSNorm, RoPE, SwiGLU,
// embedding, softmax cross-entropy), as pool tasks over buffers that live in the shared memory:
// pointers are byte offsets, sizes are elements. A task covers `per` rows (or elements) of the
// whole job; tasks never write the same memory, so no task needs a barrier.
import { expd1, expd2, fmadd, hmax } from "./vmath";

// ---- element-wise ---------------------------------------------------------------------------

/** p[i] = value over elements [t·per, (t+1)·per) of n. */
export function fillTask(p: usize, n: i32, value: f32, per: i32, t: i32, scratch: usize): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  const v = f32x4.splat(value);
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(p + <usize>i * 4, v);
  for (; i < i1; i++) store<f32>(p + <usize>i * 4, value);
}

/** dst[i] = src[i] (4-byte elements; the ranges may overlap only if equal). */
export function copyTask(dst: usize, src: usize, n: i32, per: i32, t: i32, scratch: usize): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  if (i1 > i0 && dst != src) memory.copy(dst + <usize>i0 * 4, src + <usize>i0 * 4, <usize>(i1 - i0) * 4);
}

/** out[i] = a[i] + b[i] (out may alias a or b). */
export function addTask(
  out: usize, a: usize, b: usize, n: i32, per: i32, t: i32, scratch: usize,
): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i * 4;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i * 4;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** p[i] *= s. */
export function scaleTask(p: usize, n: i32, s: f32, per: i32, t: i32, scratch: usize): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  const sv = f32x4.splat(s);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = p + <usize>i * 4;
    v128.store(o, f32x4.mul(v128.load(o), sv));
  }
  for (; i < i1; i++) store<f32>(p + <usize>i * 4, load<f32>(p + <usize>i * 4) * s);
}

/** dst [cols, rows] = srcᵀ for source rows [t·32, t·32 + 32), in 32 x 32 tiles. */
export function transposeTask(
  dst: usize, src: usize, rows: i32, cols: i32, t: i32, scratch: usize,
): void {
  const r0 = t * 32, r1 = min(rows, r0 + 32);
  for (let c0 = 0; c0 < cols; c0 += 32) {
    const c1 = min(cols, c0 + 32);
    for (let r = r0; r < r1; r++) {
      const s = src + <usize>r * <usize>cols * 4;
      for (let c = c0; c < c1; c++) {
        store<f32>(dst + (<usize>c * <usize>rows + <usize>r) * 4, load<f32>(s + <usize>c * 4));
      }
    }
  }
}

/**
 * Partial sums of squares in f64 of elements [t·per, (t+1)·per), and whether any of them is NaN
 * or ±Inf: out[2t] = Σx², out[2t + 1] = 1 when non-finite (else 0).
 */
export function sumSquaresTask(p: usize, n: i32, per: i32, out: usize, t: i32, scratch: usize): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let bad = i32x4.splat(0);
  const expMask = i32x4.splat(0x7f800000);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const x = v128.load(p + <usize>i * 4);
    bad = v128.or(bad, i32x4.eq(v128.and(x, expMask), expMask));
    const lo = f64x2.promote_low_f32x4(x);
    const hi = f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  let s = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) + f64x2.extract_lane(a1, 0) +
    f64x2.extract_lane(a1, 1);
  let nonFinite = v128.any_true(bad) ? 1 : 0;
  for (; i < i1; i++) {
    const x = <f64>load<f32>(p + <usize>i * 4);
    s += x * x;
    if (x - x != 0) nonFinite = 1;
  }
  store<f64>(out + <usize>t * 16, s);
  store<f64>(out + <usize>t * 16 + 8, <f64>nonFinite);
}

/** p[i] *= s over a chunk, and out[t] = 1 when the chunk held NaN or ±Inf after scaling. */
export function scaleCheckTask(
  p: usize, n: i32, s: f32, per: i32, out: usize, t: i32, scratch: usize,
): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  const sv = f32x4.splat(s);
  const expMask = i32x4.splat(0x7f800000);
  let bad = i32x4.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = p + <usize>i * 4;
    const y = f32x4.mul(v128.load(o), sv);
    bad = v128.or(bad, i32x4.eq(v128.and(y, expMask), expMask));
    v128.store(o, y);
  }
  let nonFinite = v128.any_true(bad) ? 1 : 0;
  for (; i < i1; i++) {
    const y = load<f32>(p + <usize>i * 4) * s;
    store<f32>(p + <usize>i * 4, y);
    if (y - y != 0) nonFinite = 1;
  }
  store<i32>(out + <usize>t * 4, nonFinite);
}

// ---- layers ---------------------------------------------------------------------------------

/** out[m] = table[tokens[m]] for rows [t·per, (t+1)·per) of M. */
export function embeddingForwardTask(
  out: usize, tokens: usize, table: usize, M: i32, D: i32, per: i32, t: i32, scratch: usize,
): void {
  const m1 = min(M, t * per + per);
  const bytes = <usize>D * 4;
  for (let m = t * per; m < m1; m++) {
    const id = load<i32>(tokens + <usize>m * 4);
    memory.copy(out + <usize>m * bytes, table + <usize>id * bytes, bytes);
  }
}

/** dtable[tokens[m]] += dout[m] over columns [t·per, (t+1)·per) of D (rows in order). */
export function embeddingBackwardTask(
  dtable: usize, dout: usize, tokens: usize, M: i32, D: i32, per: i32, t: i32, scratch: usize,
): void {
  const d0 = t * per, d1 = min(D, d0 + per);
  for (let m = 0; m < M; m++) {
    const dst = dtable + (<usize>load<i32>(tokens + <usize>m * 4) * <usize>D) * 4;
    const src = dout + <usize>m * <usize>D * 4;
    let d = d0;
    for (; d + 4 <= d1; d += 4) {
      const o = <usize>d * 4;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    for (; d < d1; d++) {
      const o = <usize>d * 4;
      store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
    }
  }
}

/**
 * RMSNorm forward for rows [t·per, (t+1)·per): rstd = f32(1/√(f32(Σx²/D) + eps)) with Σx² in
 * f64, out = w · f32(x · rstd), the reference's f32 operations in its order.
 */
export function rmsnormForwardTask(
  out: usize, rstd: usize, x: usize, w: usize, M: i32, D: i32, eps: f64, per: i32, t: i32,
  scratch: usize,
): void {
  const m1 = min(M, t * per + per);
  for (let m = t * per; m < m1; m++) {
    const xr = x + <usize>m * <usize>D * 4;
    const orow = out + <usize>m * <usize>D * 4;
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const v = v128.load(xr + <usize>d * 4);
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
      a0 = f64x2.add(a0, f64x2.mul(lo, lo));
      a1 = f64x2.add(a1, f64x2.mul(hi, hi));
    }
    let ss = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1) +
      (f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1));
    for (; d < D; d++) {
      const v = <f64>load<f32>(xr + <usize>d * 4);
      ss += v * v;
    }
    const r = <f32>(1.0 / Math.sqrt(<f64><f32>(ss / <f64>D) + eps));
    store<f32>(rstd + <usize>m * 4, r);
    const rv = f32x4.splat(r);
    d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d * 4;
      v128.store(orow + o, f32x4.mul(v128.load(w + o), f32x4.mul(v128.load(xr + o), rv)));
    }
    for (; d < D; d++) {
      const o = <usize>d * 4;
      store<f32>(orow + o, load<f32>(w + o) * (load<f32>(xr + o) * r));
    }
  }
}

/**
 * RMSNorm backward, dx part, for rows [t·per, (t+1)·per), in f64 as the reference:
 * dot = Σ ((dy·w)·x)·r in order, mean = dot / D, dx = f32(dx + r·(dy·w − x·r·mean)).
 */
export function rmsnormBackwardTask(
  dx: usize, dout: usize, x: usize, w: usize, rstd: usize, M: i32, D: i32, per: i32, t: i32,
  scratch: usize,
): void {
  const m1 = min(M, t * per + per);
  for (let m = t * per; m < m1; m++) {
    const row = <usize>m * <usize>D * 4;
    const r = <f64>load<f32>(rstd + <usize>m * 4);
    let dot: f64 = 0;
    for (let d = 0; d < D; d++) {
      const o = <usize>d * 4;
      dot += <f64>load<f32>(dout + row + o) * <f64>load<f32>(w + o) * <f64>load<f32>(x + row + o) * r;
    }
    const mean = f64x2.splat(dot / <f64>D);
    const rv = f64x2.splat(r);
    let d = 0;
    for (; d + 2 <= D; d += 2) {
      const o = <usize>d * 4;
      const xh = f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(x + row + o)), rv);
      const dy = f64x2.promote_low_f32x4(v128.load64_zero(dout + row + o));
      const wv = f64x2.promote_low_f32x4(v128.load64_zero(w + o));
      const old = f64x2.promote_low_f32x4(v128.load64_zero(dx + row + o));
      const g = f64x2.add(old, f64x2.mul(rv, f64x2.sub(f64x2.mul(dy, wv), f64x2.mul(xh, mean))));
      v128.store64_lane(dx + row + o, f32x4.demote_f64x2_zero(g), 0);
    }
    for (; d < D; d++) {
      const o = <usize>d * 4;
      const xh = <f64>load<f32>(x + row + o) * r;
      const dy = <f64>load<f32>(dout + row + o);
      const g = <f64>load<f32>(dx + row + o) +
        r * (dy * <f64>load<f32>(w + o) - xh * f64x2.extract_lane(mean, 0));
      store<f32>(dx + row + o, <f32>g);
    }
  }
}

/**
 * RMSNorm backward, weight part, for columns [t·per, (t+1)·per): dweight = f32(dweight + dy·(x·r))
 * row after row, in the reference's order (tasks own columns).
 */
export function rmsnormWeightGradTask(
  dweight: usize, dout: usize, x: usize, rstd: usize, M: i32, D: i32, per: i32, t: i32,
  scratch: usize,
): void {
  const d0 = t * per, d1 = min(D, d0 + per);
  for (let m = 0; m < M; m++) {
    const row = <usize>m * <usize>D * 4;
    const r = f64x2.splat(<f64>load<f32>(rstd + <usize>m * 4));
    let d = d0;
    for (; d + 2 <= d1; d += 2) {
      const o = <usize>d * 4;
      const xh = f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(x + row + o)), r);
      const dy = f64x2.promote_low_f32x4(v128.load64_zero(dout + row + o));
      const old = f64x2.promote_low_f32x4(v128.load64_zero(dweight + o));
      v128.store64_lane(dweight + o, f32x4.demote_f64x2_zero(f64x2.add(old, f64x2.mul(dy, xh))), 0);
    }
    for (; d < d1; d++) {
      const o = <usize>d * 4;
      const xh = <f64>load<f32>(x + row + o) * f64x2.extract_lane(r, 0);
      store<f32>(dweight + o, <f32>(<f64>load<f32>(dweight + o) + <f64>load<f32>(dout + row + o) * xh));
    }
  }
}

/** dst[c] += Σ_p src[p, c] over columns [t·per, (t+1)·per) of cols (p in order). */
export function addRowsTask(
  dst: usize, src: usize, parts: i32, cols: i32, per: i32, t: i32, scratch: usize,
): void {
  const c0 = t * per, c1 = min(cols, c0 + per);
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    let acc = f32x4.splat(0);
    for (let p = 0; p < parts; p++) {
      acc = f32x4.add(acc, v128.load(src + (<usize>p * <usize>cols + <usize>c) * 4));
    }
    v128.store(dst + <usize>c * 4, f32x4.add(v128.load(dst + <usize>c * 4), acc));
  }
  for (; c < c1; c++) {
    let acc: f32 = 0;
    for (let p = 0; p < parts; p++) acc += load<f32>(src + (<usize>p * <usize>cols + <usize>c) * 4);
    store<f32>(dst + <usize>c * 4, load<f32>(dst + <usize>c * 4) + acc);
  }
}

/**
 * Rotate-half RoPE in place for token rows [t·per, (t+1)·per) of B·T: each of `heads` heads of
 * hd values at column offset + h·hd, (x1, x2) → (x1·c − x2·s, x2·c + x1·s), s negated when
 * inverse != 0. cos, sin: [T, hd/2].
 */
export function ropeTask(
  x: usize, rows: i32, T: i32, stride: i32, offset: i32, heads: i32, hd: i32, cos: usize,
  sin: usize, inverse: i32, per: i32, t: i32, scratch: usize,
): void {
  const half = hd >> 1;
  const r1 = min(rows, t * per + per);
  const neg = inverse != 0 ? f64x2.splat(-1) : f64x2.splat(1);
  for (let r = t * per; r < r1; r++) {
    const pos = r % T;
    const cr = cos + <usize>(pos * half) * 4;
    const sr = sin + <usize>(pos * half) * 4;
    const row = x + (<usize>r * <usize>stride + <usize>offset) * 4;
    for (let h = 0; h < heads; h++) {
      const base = row + <usize>(h * hd) * 4;
      // f64 as the reference: exact products, one rounding of each sum, then f32
      let i = 0;
      for (; i + 2 <= half; i += 2) {
        const o = <usize>i * 4;
        const c = f64x2.promote_low_f32x4(v128.load64_zero(cr + o));
        const s = f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(sr + o)), neg);
        const x1 = f64x2.promote_low_f32x4(v128.load64_zero(base + o));
        const x2 = f64x2.promote_low_f32x4(v128.load64_zero(base + o + <usize>half * 4));
        const y1 = f32x4.demote_f64x2_zero(f64x2.sub(f64x2.mul(x1, c), f64x2.mul(x2, s)));
        const y2 = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(x2, c), f64x2.mul(x1, s)));
        v128.store64_lane(base + o, y1, 0);
        v128.store64_lane(base + o + <usize>half * 4, y2, 0);
      }
      for (; i < half; i++) {
        const o = <usize>i * 4;
        const c = <f64>load<f32>(cr + o);
        const s = inverse != 0 ? -<f64>load<f32>(sr + o) : <f64>load<f32>(sr + o);
        const x1 = <f64>load<f32>(base + o);
        const x2 = <f64>load<f32>(base + o + <usize>half * 4);
        store<f32>(base + o, <f32>(x1 * c - x2 * s));
        store<f32>(base + o + <usize>half * 4, <f32>(x2 * c + x1 * s));
      }
    }
  }
}

// f32x4 <-> two f64x2 halves
@inline function lo64(x: v128): v128 {
  return f64x2.promote_low_f32x4(x);
}
@inline function hi64(x: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1));
}
@inline function join32(lo: v128, hi: v128): v128 {
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

// SwiGLU in f64 with the reference's expression order, so results rounded to f32 are the
// reference's (JavaScript computes them in f64 and stores f32).
@inline function swiglu2(g: v128, u: v128): v128 {
  const one = f64x2.splat(1);
  return f64x2.mul(f64x2.div(g, f64x2.add(one, expd2(f64x2.neg(g)))), u);
}

/** SwiGLU forward for rows [t·per, (t+1)·per): out = (g / (1 + e^−g)) · u over gateUp [M, 2F]. */
export function swigluForwardTask(
  out: usize, gu: usize, M: i32, F: i32, per: i32, t: i32, scratch: usize,
): void {
  const m1 = min(M, t * per + per);
  for (let m = t * per; m < m1; m++) {
    const g = gu + <usize>m * <usize>F * 8;
    const u = g + <usize>F * 4;
    const o = out + <usize>m * <usize>F * 4;
    let f = 0;
    for (; f + 4 <= F; f += 4) {
      const k = <usize>f * 4;
      const gv = v128.load(g + k), uv = v128.load(u + k);
      v128.store(o + k, join32(swiglu2(lo64(gv), lo64(uv)), swiglu2(hi64(gv), hi64(uv))));
    }
    for (; f < F; f++) {
      const k = <usize>f * 4;
      const r = swiglu2(f64x2.splat(<f64>load<f32>(g + k)), f64x2.splat(<f64>load<f32>(u + k)));
      store<f32>(o + k, <f32>f64x2.extract_lane(r, 0));
    }
  }
}

// dgate += dy·u·σ·(1 + g(1 − σ)), dup += dy·g·σ, σ = 1 / (1 + e^−g), in f64 in that order
@inline function swigluBack2(
  g: v128, u: v128, dy: v128, dg: v128, du: v128, which: i32,
): v128 {
  const one = f64x2.splat(1);
  const sig = f64x2.div(one, f64x2.add(one, expd2(f64x2.neg(g))));
  if (which == 0) {
    const a = f64x2.mul(f64x2.mul(dy, u), sig);
    return f64x2.add(dg, f64x2.mul(a, f64x2.add(one, f64x2.mul(g, f64x2.sub(one, sig)))));
  }
  return f64x2.add(du, f64x2.mul(f64x2.mul(dy, g), sig));
}

/** SwiGLU backward for rows [t·per, (t+1)·per), accumulating into dgateUp. */
export function swigluBackwardTask(
  dgu: usize, dout: usize, gu: usize, M: i32, F: i32, per: i32, t: i32, scratch: usize,
): void {
  const m1 = min(M, t * per + per);
  const one = f64x2.splat(1);
  for (let m = t * per; m < m1; m++) {
    const g = gu + <usize>m * <usize>F * 8;
    const u = g + <usize>F * 4;
    const dg = dgu + <usize>m * <usize>F * 8;
    const du = dg + <usize>F * 4;
    const dy = dout + <usize>m * <usize>F * 4;
    let f = 0;
    for (; f + 4 <= F; f += 4) {
      const k = <usize>f * 4;
      const gv = v128.load(g + k), uv = v128.load(u + k), dv = v128.load(dy + k);
      const dgv = v128.load(dg + k), duv = v128.load(du + k);
      // Both halves' σ first: two independent exp / divide chains in flight.
      const g0 = lo64(gv), g1 = hi64(gv);
      const sig0 = f64x2.div(one, f64x2.add(one, expd2(f64x2.neg(g0))));
      const sig1 = f64x2.div(one, f64x2.add(one, expd2(f64x2.neg(g1))));
      const u0 = lo64(uv), u1 = hi64(uv), y0 = lo64(dv), y1 = hi64(dv);
      const a0 = f64x2.mul(f64x2.mul(y0, u0), sig0);
      const a1 = f64x2.mul(f64x2.mul(y1, u1), sig1);
      const ng0 = f64x2.add(lo64(dgv), f64x2.mul(a0, f64x2.add(one, f64x2.mul(g0, f64x2.sub(one, sig0)))));
      const ng1 = f64x2.add(hi64(dgv), f64x2.mul(a1, f64x2.add(one, f64x2.mul(g1, f64x2.sub(one, sig1)))));
      const nu0 = f64x2.add(lo64(duv), f64x2.mul(f64x2.mul(y0, g0), sig0));
      const nu1 = f64x2.add(hi64(duv), f64x2.mul(f64x2.mul(y1, g1), sig1));
      v128.store(dg + k, join32(ng0, ng1));
      v128.store(du + k, join32(nu0, nu1));
    }
    for (; f < F; f++) {
      const k = <usize>f * 4;
      const gg = f64x2.splat(<f64>load<f32>(g + k)), uu = f64x2.splat(<f64>load<f32>(u + k));
      const yy = f64x2.splat(<f64>load<f32>(dy + k));
      const ng = swigluBack2(gg, uu, yy, f64x2.splat(<f64>load<f32>(dg + k)), uu, 0);
      const nu = swigluBack2(gg, uu, yy, gg, f64x2.splat(<f64>load<f32>(du + k)), 1);
      store<f32>(dg + k, <f32>f64x2.extract_lane(ng, 0));
      store<f32>(du + k, <f32>f64x2.extract_lane(nu, 0));
    }
  }
}

/**
 * Softmax cross-entropy for rows [t·per, (t+1)·per) of logits [M, V], in f64 as the reference
 * (exp of logit − max, f64 sum, p = f32(f32(e) · (1/sum))): the row becomes its probabilities,
 * or with grad != 0 f32(f32(p · invM) − invM at the target) · gradScale; targetProbs[m] = p[target].
 */
export function crossEntropyTask(
  logits: usize, targets: usize, targetProbs: usize, M: i32, V: i32, grad: i32, invM: f64,
  gradScale: f64, per: i32, t: i32, scratch: usize,
): void {
  const m1 = min(M, t * per + per);
  for (let m = t * per; m < m1; m++) {
    const row = logits + <usize>m * <usize>V * 4;
    let mv = f32x4.splat(-Infinity);
    let v = 0;
    for (; v + 4 <= V; v += 4) mv = f32x4.max(mv, v128.load(row + <usize>v * 4));
    let mx = hmax(mv);
    for (; v < V; v++) mx = max(mx, load<f32>(row + <usize>v * 4));
    const mxd = f64x2.splat(<f64>mx);
    let sum: f64 = 0;
    v = 0;
    for (; v + 2 <= V; v += 2) {
      const x = f64x2.promote_low_f32x4(v128.load64_zero(row + <usize>v * 4));
      const e = expd2(f64x2.sub(x, mxd));
      v128.store64_lane(row + <usize>v * 4, f32x4.demote_f64x2_zero(e), 0);
      sum += f64x2.extract_lane(e, 0);
      sum += f64x2.extract_lane(e, 1);
    }
    for (; v < V; v++) {
      const e = expd1(<f64>load<f32>(row + <usize>v * 4) - <f64>mx);
      store<f32>(row + <usize>v * 4, <f32>e);
      sum += e;
    }
    const inv = 1 / sum;
    const target = load<i32>(targets + <usize>m * 4);
    const tp = row + <usize>target * 4;
    for (v = 0; v < V; v++) {
      const o = row + <usize>v * 4;
      let p = <f32>(<f64>load<f32>(o) * inv);
      if (v == target) store<f32>(targetProbs + <usize>m * 4, mx != mx ? NaN : p);
      if (grad != 0) {
        p = <f32>(<f64>p * invM);
        if (v == target) p = <f32>(<f64>p - invM);
        if (gradScale != 1) p = <f32>(<f64>p * gradScale);
      }
      store<f32>(o, p);
    }
    void tp;
  }
}

/**
 * s + Σ x² over n elements in order, in f64 (mixed-optim's gradNorm order, bit for bit when
 * called on the tensors in their order with the running sum).
 */
export function sumSquaresInOrder(p: usize, n: i32, s: f64): f64 {
  for (let i = 0; i < n; i++) {
    const x = <f64>load<f32>(p + <usize>i * 4);
    s += x * x;
  }
  return s;
}

/** e^x through the kernels' two-lane f64 exp (for tests against Math.exp). */
export function expF64(x: f64): f64 {
  return expd1(x);
}
