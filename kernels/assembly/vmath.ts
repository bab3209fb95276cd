// Shared SIMD helpers of the resident kernels: a four-lane exp, horizontal reductions and the
// counter-based random stream of @fp4lab/fp4-format (the same bits, so stochastic rounding is
// bit-identical to the TypeScript reference).

@inline export function fmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * e^x on four lanes (Cephes expf: range reduction by ln 2 in two parts, a degree-6 polynomial;
 * about 1 ulp). Inputs below -87.3 give 0, above 88.7 give +Inf, NaN stays NaN.
 */
@inline export function exp4(x: v128): v128 {
  const hi = f32x4.splat(88.72283);
  const lo = f32x4.splat(-87.33654);
  const xc = f32x4.max(f32x4.min(x, hi), lo);
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.442695041)));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = fmadd(p, r, f32x4.splat(1.3981999507e-3));
  p = fmadd(p, r, f32x4.splat(8.3334519073e-3));
  p = fmadd(p, r, f32x4.splat(4.1665795894e-2));
  p = fmadd(p, r, f32x4.splat(1.6666665459e-1));
  p = fmadd(p, r, f32x4.splat(5.0000001201e-1));
  const z = f32x4.mul(r, r);
  p = f32x4.add(fmadd(p, z, r), f32x4.splat(1));
  // 2^n in two halves so that n = 128 (x near 88.7) does not overflow the exponent field.
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const h1 = i32x4.shr_s(ni, 1);
  const h2 = i32x4.sub(ni, h1);
  const p1 = i32x4.shl(i32x4.add(h1, i32x4.splat(127)), 23);
  const p2 = i32x4.shl(i32x4.add(h2, i32x4.splat(127)), 23);
  let y = f32x4.mul(f32x4.mul(p, p1), p2);
  y = v128.andnot(y, f32x4.lt(x, lo)); // underflow to 0
  y = v128.bitselect(f32x4.splat(Infinity), y, f32x4.gt(x, hi));
  return v128.bitselect(x, y, f32x4.ne(x, x)); // NaN in, NaN out
}

/** e^x for one value through the same code as {@link exp4} (lane 0). */
@inline export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}

@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) +
    f32x4.extract_lane(v, 3);
}

@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)),
    max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** fp4-format's mix32 ("lowbias32"). */
@inline export function mix32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}

/** Four lanes of mix32. */
@inline export function mix32x4(x: v128): v128 {
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(<i32>0x846ca68b));
  x = v128.xor(x, i32x4.shr_u(x, 16));
  return x;
}

/** fp4-format's uniformAt(key, index) as its 24-bit integer (the draw times 2^24). */
@inline export function uniform24(key: u32, index: u32): u32 {
  return mix32(mix32(index) ^ key) >>> 8;
}

@inline export function fmadd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}

/**
 * e^x on two f64 lanes, within about an f64 ulp (ln 2 split in two parts, Taylor to degree 13 on
 * |r| <= ln2/2), so that results rounded to f32 equal those of `Math.exp` in f64 but in the
 * rarest ties. Below -745 gives 0, above 709.78 +Inf, NaN stays NaN.
 */
@inline export function expd2(x: v128): v128 {
  const hi = f64x2.splat(709.782712893384);
  const lo = f64x2.splat(-745.1332191019412);
  const xc = f64x2.max(f64x2.min(x, hi), lo);
  const k = f64x2.nearest(f64x2.mul(xc, f64x2.splat(1.4426950408889634)));
  let r = f64x2.sub(xc, f64x2.mul(k, f64x2.splat(6.93147180369123816490e-01)));
  r = f64x2.sub(r, f64x2.mul(k, f64x2.splat(1.90821492927058770002e-10)));
  let p = f64x2.splat(1.6059043836821613e-10); // 1/13!
  p = fmadd64(p, r, f64x2.splat(2.08767569878681e-9)); // 1/12!
  p = fmadd64(p, r, f64x2.splat(2.505210838544172e-8));
  p = fmadd64(p, r, f64x2.splat(2.755731922398589e-7));
  p = fmadd64(p, r, f64x2.splat(2.7557319223985893e-6));
  p = fmadd64(p, r, f64x2.splat(2.48015873015873e-5));
  p = fmadd64(p, r, f64x2.splat(1.984126984126984e-4));
  p = fmadd64(p, r, f64x2.splat(1.388888888888889e-3));
  p = fmadd64(p, r, f64x2.splat(8.333333333333333e-3));
  p = fmadd64(p, r, f64x2.splat(4.1666666666666664e-2));
  p = fmadd64(p, r, f64x2.splat(0.16666666666666666));
  p = fmadd64(p, r, f64x2.splat(0.5));
  p = fmadd64(p, r, f64x2.splat(1));
  p = fmadd64(p, r, f64x2.splat(1));
  const ki = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k));
  const h1 = i64x2.shr_s(ki, 1);
  const h2 = i64x2.sub(ki, h1);
  const s1 = i64x2.shl(i64x2.add(h1, i64x2.splat(1023)), 52);
  const s2 = i64x2.shl(i64x2.add(h2, i64x2.splat(1023)), 52);
  let y = f64x2.mul(f64x2.mul(p, s1), s2);
  y = v128.andnot(y, f64x2.lt(x, lo));
  y = v128.bitselect(f64x2.splat(Infinity), y, f64x2.gt(x, hi));
  return v128.bitselect(x, y, f64x2.ne(x, x));
}

/** e^x of one f64 through {@link expd2}. */
@inline export function expd1(x: f64): f64 {
  return f64x2.extract_lane(expd2(f64x2.splat(x)), 0);
}

/**
 * Natural log on two f64 lanes of positive normal values, within about an f64 ulp
 * (m in [√½, √2), ln m = 2·atanh((m−1)/(m+1)) by its series to t^21); 0 gives −Inf.
 */
@inline export function lnd2(u: v128): v128 {
  // split u = m · 2^e with m in [√½, √2) on the bits (0x3fe6a09e667f3bcd = √½)
  const bits = i64x2.sub(u, i64x2.splat(0x3fe6a09e667f3bcd));
  const e = i64x2.shr_s(bits, 52);
  const m = i64x2.add(v128.and(bits, i64x2.splat(0x000fffffffffffff)), i64x2.splat(0x3fe6a09e667f3bcd));
  const t = f64x2.div(f64x2.sub(m, f64x2.splat(1)), f64x2.add(m, f64x2.splat(1)));
  const t2 = f64x2.mul(t, t);
  let p = f64x2.splat(1.0 / 21);
  p = fmadd64(p, t2, f64x2.splat(1.0 / 19));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 17));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 15));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 13));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 11));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 9));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 7));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 5));
  p = fmadd64(p, t2, f64x2.splat(1.0 / 3));
  const lnm = f64x2.add(f64x2.add(t, t), f64x2.mul(f64x2.mul(f64x2.add(t, t), t2), p));
  const ef = f64x2.convert_low_i32x4_s(i32x4.shuffle(e, e, 0, 2, 0, 2));
  const r = f64x2.add(f64x2.mul(ef, f64x2.splat(0.6931471805599453)), lnm);
  return v128.bitselect(f64x2.splat(-Infinity), r, f64x2.eq(u, f64x2.splat(0)));
}

/** Round to nearest even onto E4M3 (1), FP16 (2) or BF16 (3), saturating; NaN stays NaN. */
@inline export function roundMoment(x: f32, fmt: i32): f32 {
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

/** Magic-number rounding to mbits mantissa bits at x's own binade (not below emin), saturating at maxv. */
@inline export function q4(x: f32, mbits: i32, emin: i32, maxv: f32): f32 {
  const a = reinterpret<u32>(x) & 0x7fffffff;
  let field = <i32>(a >>> 23);
  if (field < emin + 127) field = emin + 127;
  const magicField = min(field + 23 - mbits, 254);
  const magic = reinterpret<f32>((<u32>magicField << 23) | 0x400000);
  const r = min((reinterpret<f32>(a) + magic) - magic, maxv);
  return reinterpret<f32>(reinterpret<u32>(r) | (reinterpret<u32>(x) & 0x80000000));
}

/**
 * Nearest-even onto the grid of a format with `mbits` mantissa bits, minimum exponent emin and
 * largest value maxv, saturating (±Inf too), NaN kept, sign kept (−0 too), on four lanes: q4's
 * f32 magic-number add and subtract at each lane's own binade.
 */
@inline export function rne4(x: v128, mbits: i32, emin: i32, maxv: f32): v128 {
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  const field = i32x4.max_s(i32x4.shr_u(a, 23), i32x4.splat(emin + 127));
  const magicField = i32x4.min_s(i32x4.add(field, i32x4.splat(23 - mbits)), i32x4.splat(254));
  const magic = v128.or(i32x4.shl(magicField, 23), i32x4.splat(0x400000));
  // pmin(r, maxv) = maxv < r ? maxv : r: min for r ≥ 0 and NaN kept, as f32x4.min, but one
  // instruction on x86 where f32x4.min's NaN and ±0 rules take several.
  const r = f32x4.pmin(f32x4.sub(f32x4.add(a, magic), magic), f32x4.splat(maxv));
  return v128.or(r, v128.and(x, i32x4.splat(<i32>0x80000000)));
}

/** Word w of a parameter block at p, as i32. */
@inline export function pi(p: usize, w: i32): i32 {
  return load<i32>(p + <usize>w * 4);
}

/** Word w of a parameter block at p, as f32. */
@inline export function pf(p: usize, w: i32): f32 {
  return load<f32>(p + <usize>w * 4);
}

/** The largest finite f32. */
export const FLT_MAX: f32 = 3.4028234663852886e38;
