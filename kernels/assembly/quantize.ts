// Element-wise minifloat kernels: round-to-nearest-even with saturation (CUDA satfinite; ±Inf
// saturates too), NaN kept, the sign of zero kept; optional f32 scale applied as Q(x·s)/s.
// Formats are described by (ebits, mbits, bias, maxNormal, nanCode); the grid arithmetic runs in
// f64 where scaling by powers of two is exact for every f32 input (BF16 subnormals included).

@inline function roundToGrid(x: f32, mbits: i32, emin: i32, maxNormal: f64): f64 {
  const v = <f64>x;
  const a = abs(v);
  if (a >= maxNormal) return v < 0 ? -maxNormal : maxNormal; // also ±Inf
  const field = <i32>((reinterpret<u32>(x) >> 23) & 255);
  let e = field - 127; // floor(log2 |x|) for normal f32; subnormal/zero fall to emin below
  if (e < emin) e = emin;
  const up = reinterpret<f64>(<u64>(1023 + mbits - e) << 52);
  const down = reinterpret<f64>(<u64>(1023 - mbits + e) << 52);
  let r = nearest(v * up) * down;
  if (abs(r) > maxNormal) r = r < 0 ? -maxNormal : maxNormal;
  return r;
}

@inline function codeOf(r: f64, neg: bool, ebits: i32, mbits: i32, bias: i32): i32 {
  const a = abs(r);
  const sign = neg ? 1 << (ebits + mbits) : 0;
  if (a == 0) return sign;
  const emin = 1 - bias;
  const b = reinterpret<u64>(a);
  const e = <i32>((b >> 52) & 2047) - 1023;
  let mag: i32;
  if (e < emin) {
    mag = <i32>(a * reinterpret<f64>(<u64>(1023 + mbits - emin) << 52));
  } else {
    mag = ((e + bias) << mbits) | <i32>((b >> (52 - mbits)) & ((1 << mbits) - 1));
  }
  return sign | mag;
}

/** Index of the first NaN in values[0..n), or -1. */
export function firstNaN(values: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const x = load<f32>(values + <usize>i * 4);
    if (x != x) return i;
  }
  return -1;
}

/**
 * Fake quantization: out[i] = Q(values[i] * s) / s in f32 (s = 1 skips both steps).
 * out may alias values.
 */
export function fakeQuantF32(
  values: usize, out: usize, n: i32, ebits: i32, mbits: i32, bias: i32, maxNormal: f64, s: f32,
): void {
  const emin = 1 - bias;
  let start = 0;
  if (ebits == 8 && mbits == 7 && bias == 127) start = fakeQuantBf16Simd(values, out, n, s);
  else if (maxNormal < 1e30 && bias <= 126) {
    start = fakeQuantSimd(values, out, n, mbits, emin, <f32>maxNormal, s);
  }
  for (let i = start; i < n; i++) {
    let x = load<f32>(values + <usize>i * 4);
    if (s != 1) x = x * s;
    let y: f32;
    if (x != x) y = reinterpret<f32>(0x7fc00000);
    else {
      y = <f32>roundToGrid(x, mbits, emin, maxNormal);
      if (s != 1) y = y / s;
    }
    store<f32>(out + <usize>i * 4, y);
  }
}

/**
 * Quantize + pack: codes of Q(values[i] * s). width 4: two codes per byte, low nibble first;
 * width 8: one byte; width 16: one u16 (BF16). NaN becomes nanCode.
 */
export function quantizePackF32(
  values: usize, out: usize, n: i32, ebits: i32, mbits: i32, bias: i32, maxNormal: f64, s: f32,
  nanCode: i32, width: i32,
): void {
  const emin = 1 - bias;
  for (let i = 0; i < n; i++) {
    let x = load<f32>(values + <usize>i * 4);
    if (s != 1) x = x * s;
    let code: i32;
    if (x != x) code = nanCode;
    else {
      const r = roundToGrid(x, mbits, emin, maxNormal);
      code = codeOf(r, (reinterpret<u32>(x) >> 31) != 0, ebits, mbits, bias);
    }
    if (width == 4) {
      const p = out + <usize>(i >> 1);
      if ((i & 1) == 0) store<u8>(p, <u8>code);
      else store<u8>(p, <u8>(load<u8>(p) | (code << 4)));
    } else if (width == 8) {
      store<u8>(out + <usize>i, <u8>code);
    } else {
      store<u16>(out + <usize>i * 2, <u16>code);
    }
  }
}

/** Dequantize: out[i] = decode(code i) / s (codes laid out as quantizePackF32 writes them). */
export function dequantizeF32(
  codes: usize, out: usize, n: i32, ebits: i32, mbits: i32, bias: i32, s: f32, ieee: i32,
  e4m3: i32, width: i32,
): void {
  const magBits = ebits + mbits;
  const emax = (1 << ebits) - 1;
  const sub = reinterpret<f64>(<u64>(1023 + 1 - bias - mbits) << 52); // 2^(1 - bias - mbits)
  for (let i = 0; i < n; i++) {
    let code: i32;
    if (width == 4) {
      const byte = <i32>load<u8>(codes + <usize>(i >> 1));
      code = (i & 1) == 0 ? byte & 15 : byte >> 4;
    } else if (width == 8) {
      code = <i32>load<u8>(codes + <usize>i);
    } else {
      code = <i32>load<u16>(codes + <usize>i * 2);
    }
    const neg = (code >> magBits) & 1;
    const e = (code >> mbits) & emax;
    const m = code & ((1 << mbits) - 1);
    let v: f64;
    if (ieee != 0 && e == emax) {
      v = m == 0 ? Infinity : NaN;
    } else if (e4m3 != 0 && e == emax && m == (1 << mbits) - 1) {
      v = NaN;
    } else if (e == 0) {
      v = <f64>m * sub;
    } else {
      v = <f64>((1 << mbits) | m) * reinterpret<f64>(<u64>(1023 + e - bias - mbits) << 52);
    }
    if (neg != 0) v = -v;
    let y = <f32>v;
    if (y != y) y = reinterpret<f32>(0x7fc00000);
    else if (s != 1) y = y / s;
    store<f32>(out + <usize>i * 4, y);
  }
}

/**
 * Four lanes at a time, for formats whose range stays far below f32's top binades: the grid
 * spacing of each lane is 2^(max(e, emin) - mbits), and adding then subtracting the f32 constant
 * 1.5 · 2^23 · spacing rounds |x| to a multiple of it with one IEEE round-to-nearest-even (the
 * sum is exact before rounding). f32x4.min saturates (±Inf included) and propagates NaN; the sign
 * bit is put back last, which keeps -0. Returns how many elements it did (a multiple of 4).
 */
function fakeQuantSimd(
  values: usize, out: usize, n: i32, mbits: i32, emin: i32, maxNormal: f32, s: f32,
): i32 {
  const n4 = n & ~3;
  const signMask = i32x4.splat(0x80000000);
  const absMask = i32x4.splat(0x7fffffff);
  const minField = i32x4.splat(emin + 127);
  const shiftToMagic = i32x4.splat(23 - mbits);
  const topField = i32x4.splat(254);
  const onePointFive = i32x4.splat(0x400000);
  const maxv = f32x4.splat(maxNormal);
  const sv = f32x4.splat(s);
  const scaled = s != 1;
  for (let i = 0; i < n4; i += 4) {
    let x = v128.load(values + <usize>i * 4);
    if (scaled) x = f32x4.mul(x, sv);
    const a = v128.and(x, absMask);
    const field = i32x4.max_s(i32x4.shr_u(a, 23), minField);
    const magicField = i32x4.min_s(i32x4.add(field, shiftToMagic), topField);
    const magic = v128.or(i32x4.shl(magicField, 23), onePointFive);
    const r = f32x4.min(f32x4.sub(f32x4.add(a, magic), magic), maxv);
    let y = v128.or(r, v128.and(x, signMask));
    if (scaled) y = f32x4.div(y, sv);
    v128.store(out + <usize>i * 4, y);
  }
  return n4;
}

/**
 * BF16 four lanes at a time: round the f32 bits to their top 16 with nearest-even in integer
 * arithmetic, saturate what overflows to Inf at BF16's max (satfinite), keep NaN as NaN.
 */
function fakeQuantBf16Simd(values: usize, out: usize, n: i32, s: f32): i32 {
  const n4 = n & ~3;
  const half = i32x4.splat(0x7fff);
  const one = i32x4.splat(1);
  const keep = i32x4.splat(0xffff0000);
  const absMask = i32x4.splat(0x7fffffff);
  const signMask = i32x4.splat(0x80000000);
  const infBits = i32x4.splat(0x7f800000);
  const maxBits = i32x4.splat(0x7f7f0000);
  const sv = f32x4.splat(s);
  const scaled = s != 1;
  for (let i = 0; i < n4; i += 4) {
    let x = v128.load(values + <usize>i * 4);
    if (scaled) x = f32x4.mul(x, sv);
    const a = v128.and(x, absMask);
    const isNaN = i32x4.gt_s(a, infBits);
    const lsb = v128.and(i32x4.shr_u(a, 16), one);
    let r = v128.and(i32x4.add(i32x4.add(a, half), lsb), keep);
    r = i32x4.min_s(r, maxBits); // rounded to Inf, or Inf itself: saturate
    r = v128.bitselect(a, r, isNaN);
    let y = v128.or(r, v128.and(x, signMask));
    if (scaled) y = f32x4.div(y, sv);
    v128.store(out + <usize>i * 4, y);
  }
  return n4;
}
