// @fp4lab/quant-granularity's quantizer on the kernel set: quantizeTensor (codes, f32 scales,
// scale bytes, the clipped count) and fakeQuant (dequantized values) for signed minifloats of at
// most 8 bits with 1 to 7 mantissa bits, round-to-nearest-even, and every scale rule of the
// package (absmax, pow2-floor, the four E8M0 rules, NVFP4's UE4M3 group scales) over tensor, row,
// 1-D block and 2-D tile groups. Bit-identical to the package's TypeScript path (its reference):
// the same f32 operations in the same order, and codes read off the rounding itself.
//
// Rounding: with the grid spacing s = 2^(max(e, emin) − m) of |v| (|v| first clamped to the max
// normal, a grid point, which is the same as saturating after rounding), the f32 sum
// |v| + 1.5·2^23·s is rounded to a multiple of s by the IEEE add (nearest-even), and its bits
// minus the bits of the constant are round(|v| / s); the code magnitude is then
// ((max(e, emin) − emin) << m) + that integer, which carries into the next binade by itself.
//
// A call's parameters are a block of 32-bit words in the shared memory; see the QG_* offsets.

import { FLT_MAX, pf, pi } from "./vmath";

// Parameter block (word offsets).
const QG_SRC = 0; // f32 [rows, cols]
const QG_ROWS = 1;
const QG_COLS = 2;
const QG_PER = 3; // rows per task (a multiple of blockRows unless the scope is the tensor)
const QG_BLOCK_ROWS = 4;
const QG_BLOCK_COLS = 5;
const QG_MBITS = 6;
const QG_EBITS = 7;
const QG_BIAS = 8;
const QG_MAX = 9; // f32 maxNormal
const QG_RULE = 10; // 1 absmax, 2 pow2-floor, 3 e8m0-floor, 4 e8m0-ceil, 5 e8m0-even, 6 e8m0-rceil, 7 nvfp4
const QG_EMAX = 11; // the element format's emax (E8M0 rules)
const QG_GIVEN_AMAX = 12; // f32 amax of the whole tensor (tensor scope), or -1
const QG_PER_AMAX = 13; // NVFP4: f32(sEnc · f32(1/maxNormal))
const QG_SDEC = 14; // NVFP4: f32(1 / sEnc)
const QG_TSCALE = 15; // f32 tensor scale (NVFP4: sEnc; else 1), divides dequantized values
const QG_CODES = 16; // codes (4-bit: rows × ceil(cols/2) bytes, low nibble first; else rows × cols) or 0
const QG_DEQ = 17; // f32 [rows, cols] dequantized values, or 0
const QG_SCALES = 18; // f32 per group [groupRows, groupCols], or 0
const QG_SCALE_CODES = 19; // u8 per group (E8M0 / UE4M3 byte), or 0
const QG_GROUP_COLS = 20;
const QG_STATS = 21; // per task two i32: elements saturated, flags (1: a NaN was seen)
const QG_ZERO = 22; // 0 (a run-time zero; see quantGroup)

/** Words in a parameter block of {@link qgQuantTask}. */
export function qgParamWords(): i32 {
  return 23;
}

/** Per-thread scratch bytes {@link qgQuantTask} needs for a matrix with `cols` columns. */
export function qgScratchBytes(cols: i32, groupCols: i32): i32 {
  return groupCols * 12 + cols + 64;
}


/** 2^k as an f32, for k in [−149, 127]. */
@inline function pow2f(k: i32): f32 {
  return k >= -126
    ? reinterpret<f32>(<u32>(k + 127) << 23)
    : reinterpret<f32>(<u32>1 << <u32>(k + 149));
}

/** 2^k as an f64, for k in [−1022, 1023]. */
@inline function pow2d(k: i32): f64 {
  return reinterpret<f64>(<u64>(k + 1023) << 52);
}

/** floor(log2 a) for a positive finite f32, subnormals included. */
@inline function floorLog2f(a: f32): i32 {
  const b = reinterpret<u32>(a);
  const field = <i32>(b >>> 23);
  return field != 0 ? field - 127 : 31 - <i32>clz(b) - 149;
}

/** floor(log2 a) for a positive finite f64 that is a normal number. */
@inline function floorLog2d(a: f64): i32 {
  return <i32>((reinterpret<u64>(a) >>> 52) & 2047) - 1023;
}

/**
 * The unbiased E8M0 exponent of a finite amax > 0 under rule 3–6 (floor, ceil, even, rceil),
 * before clamping: the package's e8m0Exponent, term for term.
 */
function e8m0Exponent(amax: f32, rule: i32, emax: i32, mbits: i32, maxv: f32): i32 {
  const k = floorLog2f(amax);
  if (rule == 3) return k - emax;
  if (rule == 4) return (<f64>amax == pow2d(k) ? k : k + 1) - emax;
  if (rule == 5) {
    // amax rounded to mbits bits leaves its binade iff its significand is ≥ 2 − 2^−(m+1).
    const significand = <f64>amax / pow2d(k);
    return (significand >= 2 - pow2d(-(mbits + 1)) ? k + 1 : k) - emax;
  }
  // rceil: the smallest e with amax ≤ maxNormal · 2^e, exact in f64.
  const m = <f64>maxv;
  let e = k - floorLog2d(m) - 1;
  while (m * pow2d(e) < <f64>amax) e++;
  return e;
}

/**
 * Rounds magnitudes |v| (already clamped to the max normal) to the grid and returns their code
 * magnitudes. eminField: splat(emin + 127); magicBase: splat(((23 − m) << 23) | 0x400000).
 */
@inline function gridCodes(a: v128, mbits: i32, eminField: v128, magicBase: v128): v128 {
  const field = i32x4.max_s(i32x4.shr_u(a, 23), eminField);
  const magic = i32x4.add(i32x4.shl(field, 23), magicBase);
  const k = i32x4.sub(f32x4.add(a, magic), magic);
  return i32x4.add(i32x4.shl(i32x4.sub(field, eminField), mbits), k);
}

/** The grid values of magnitudes |v| (already clamped to the max normal). */
@inline function gridValues(a: v128, eminField: v128, magicBase: v128): v128 {
  const field = i32x4.max_s(i32x4.shr_u(a, 23), eminField);
  const magic = i32x4.add(i32x4.shl(field, 23), magicBase);
  return f32x4.sub(f32x4.add(a, magic), magic);
}

/** splat(((23 − m) << 23) | 0x400000): 1.5 · 2^23 · 2^−m times 2^(field − 127) once shifted in. */
@inline function magicBaseOf(mbits: i32, opaque: i32): v128 {
  return i32x4.splat((((23 - mbits) << 23) | 0x400000) + opaque);
}

/** UE4M3 (bias 7, 3 mantissa bits, max 448) nearest-even of a in [0, 448]: value and code. */
@inline function ue4m3Code(a: f32): i32 {
  const v = f32x4.splat(a);
  return i32x4.extract_lane(gridCodes(v, 3, i32x4.splat(-6 + 127), magicBaseOf(3, 0)), 0);
}

@inline function ue4m3Value(a: f32): f32 {
  return f32x4.extract_lane(
    gridValues(f32x4.splat(a), i32x4.splat(-6 + 127), magicBaseOf(3, 0)),
    0,
  );
}

/**
 * Elements [c0, c1) of one row of one group (vector constants from the caller, made once per
 * task: splat(emin + 127), magicBaseOf(mbits), splat(maxNormal), splat(0x7fffffff)): scaled (divided by enc for absmax, else multiplied),
 * counted when they saturate (`count` false: the caller knows none can), rounded, and written as byte codes at codeRow (sign above the
 * magnitude) and/or dequantized values at deqRow. Returns the saturation counts per lane.
 * Inlined with constant format fields where the caller has them, so they fold. (Packing the
 * 4-bit codes here instead of in a pass per row measured slower.)
 */
@inline function quantGroup(
  row: usize, codeRow: usize, deqRow: usize, c0: i32, c1: i32, enc: f32, scale: f32, ts: f32,
  maxv: f32, mbits: i32, ebits: i32, bias: i32, divide: bool, wantCodes: bool, wantDeq: bool,
  count: bool, clipped: v128, eminField: v128, shiftMagic: v128, maxvv: v128, absMask: v128,
): v128 {
  const signShift = ebits + mbits;
  const encv = f32x4.splat(enc), sv = f32x4.splat(scale), tsv = f32x4.splat(ts);
  let c = c0;
  if (wantCodes && !wantDeq) {
    // Sixteen at a time: four vectors of codes narrowed into one store.
    for (; c + 16 <= c1; c += 16) {
      const p = row + <usize>c * 4;
      let x = v128.load(p);
      let v = divide ? f32x4.div(x, encv) : f32x4.mul(x, encv);
      let av = v128.and(v, absMask);
      if (count) clipped = i32x4.sub(clipped, f32x4.gt(av, maxvv));
      const k0 = v128.or(
        gridCodes(f32x4.pmin(av, maxvv), mbits, eminField, shiftMagic),
        i32x4.shr_u(v128.andnot(v, absMask), 31 - signShift),
      );
      x = v128.load(p, 16);
      v = divide ? f32x4.div(x, encv) : f32x4.mul(x, encv);
      av = v128.and(v, absMask);
      if (count) clipped = i32x4.sub(clipped, f32x4.gt(av, maxvv));
      const k1 = v128.or(
        gridCodes(f32x4.pmin(av, maxvv), mbits, eminField, shiftMagic),
        i32x4.shr_u(v128.andnot(v, absMask), 31 - signShift),
      );
      x = v128.load(p, 32);
      v = divide ? f32x4.div(x, encv) : f32x4.mul(x, encv);
      av = v128.and(v, absMask);
      if (count) clipped = i32x4.sub(clipped, f32x4.gt(av, maxvv));
      const k2 = v128.or(
        gridCodes(f32x4.pmin(av, maxvv), mbits, eminField, shiftMagic),
        i32x4.shr_u(v128.andnot(v, absMask), 31 - signShift),
      );
      x = v128.load(p, 48);
      v = divide ? f32x4.div(x, encv) : f32x4.mul(x, encv);
      av = v128.and(v, absMask);
      if (count) clipped = i32x4.sub(clipped, f32x4.gt(av, maxvv));
      const k3 = v128.or(
        gridCodes(f32x4.pmin(av, maxvv), mbits, eminField, shiftMagic),
        i32x4.shr_u(v128.andnot(v, absMask), 31 - signShift),
      );
      v128.store(
        codeRow + <usize>c,
        i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(k0, k1), i16x8.narrow_i32x4_u(k2, k3)),
      );
    }
  }
  for (; c + 4 <= c1; c += 4) {
    const x = v128.load(row + <usize>c * 4);
    const v = divide ? f32x4.div(x, encv) : f32x4.mul(x, encv);
    const av = v128.and(v, absMask);
    if (count) clipped = i32x4.sub(clipped, f32x4.gt(av, maxvv));
    const a = f32x4.pmin(av, maxvv); // pmin: |v| unless above maxv (one instruction; min is not)
    const sign = v128.andnot(v, absMask);
    if (wantCodes) {
      const k = v128.or(
        gridCodes(a, mbits, eminField, shiftMagic),
        i32x4.shr_u(sign, 31 - signShift),
      );
      const kb = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(k, k), i16x8.splat(0));
      store<u32>(codeRow + <usize>c, i32x4.extract_lane(kb, 0));
    }
    if (wantDeq) {
      let d = f32x4.mul(v128.or(gridValues(a, eminField, shiftMagic), sign), sv);
      if (ts != 1) d = f32x4.div(d, tsv);
      v128.store(deqRow + <usize>c * 4, d);
    }
  }
  for (; c < c1; c++) {
    const x = load<f32>(row + <usize>c * 4);
    const v = divide ? x / enc : x * enc;
    const av = abs(v);
    // Lane 0 counts the scalar tail.
    if (count) clipped = i32x4.sub(clipped, i32x4(av > maxv ? -1 : 0, 0, 0, 0));
    const a = f32x4.splat(min(av, maxv));
    const neg = reinterpret<u32>(v) >>> 31;
    if (wantCodes) {
      const k = i32x4.extract_lane(gridCodes(a, mbits, eminField, shiftMagic), 0);
      store<u8>(codeRow + <usize>c, <u8>(k | (neg << signShift)));
    }
    if (wantDeq) {
      const g = f32x4.extract_lane(gridValues(a, eminField, shiftMagic), 0);
      let d = (neg != 0 ? -g : g) * scale;
      if (ts != 1) d = d / ts;
      store<f32>(deqRow + <usize>c * 4, d);
    }
  }
  return clipped;
}

/** Lane-wise max of |x| bits over elements [c0, c1) of a row (the tail folded into lane 0). */
@inline function laneMax(row: usize, c0: i32, c1: i32, absMask: v128): v128 {
  let mv = i32x4.splat(0);
  let c = c0;
  for (; c + 8 <= c1; c += 8) {
    mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4), absMask));
    mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4, 16), absMask));
  }
  for (; c + 4 <= c1; c += 4) mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4), absMask));
  for (; c < c1; c++) {
    mv = i32x4.max_u(mv, i32x4(load<u32>(row + <usize>c * 4) & 0x7fffffff, 0, 0, 0));
  }
  return mv;
}

/** [max lanes of a, of b, of c, of d] (unsigned). */
@inline function reduce4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.max_u(
    i32x4.shuffle(a, b, 0, 1, 4, 5),
    i32x4.shuffle(a, b, 2, 3, 6, 7),
  );
  const cd = i32x4.max_u(
    i32x4.shuffle(c, d, 0, 1, 4, 5),
    i32x4.shuffle(c, d, 2, 3, 6, 7),
  );
  return i32x4.max_u(i32x4.shuffle(ab, cd, 0, 2, 4, 6), i32x4.shuffle(ab, cd, 1, 3, 5, 7));
}

/**
 * {@link groupScale} for four groups at once (amax bits in `am`), for the rules whose vector form
 * is short: absmax, OCP E8M0 floor (element emax ≥ 0, so a subnormal amax gives byte 0) and NVFP4.
 */
@inline function scales4(
  am: v128, gc: i32, rule: i32, maxv: f32, emaxElem: i32, perAmax: f32, sDec: f32, encs: usize,
  scl: usize, mayClip: usize, scalesRow: usize, scaleCodesRow: usize,
): void {
  const maxvv = f32x4.splat(maxv);
  let enc: v128, scale: v128, code = i32x4.splat(0), scaled: v128;
  if (rule == 1) {
    // absmax: scale amax / maxNormal; 1 for an all-zero or infinite group or a scale of 0.
    const s = f32x4.div(am, maxvv);
    const keep = v128.and(
      v128.and(f32x4.gt(am, f32x4.splat(0)), f32x4.lt(am, f32x4.splat(Infinity))),
      f32x4.ne(s, f32x4.splat(0)),
    );
    scale = v128.bitselect(s, f32x4.splat(1), keep);
    enc = scale;
    scaled = f32x4.div(am, enc);
  } else if (rule == 3) {
    // OCP floor: byte = clamp(exponent field − emax, 0, 254); 0xFF for an infinite amax.
    const field = i32x4.shr_u(am, 23);
    const inf = i32x4.eq(field, i32x4.splat(255));
    code = v128.bitselect(
      i32x4.splat(255),
      i32x4.min_s(i32x4.max_s(i32x4.sub(field, i32x4.splat(emaxElem)), i32x4.splat(0)), i32x4.splat(254)),
      inf,
    );
    // 2^(byte − 127) and 2^(127 − byte); byte 0 and 254 give the subnormal 2^−127.
    const nan = i32x4.splat(0x7fc00000), sub = i32x4.splat(0x00400000);
    scale = v128.bitselect(
      nan,
      v128.bitselect(sub, i32x4.shl(code, 23), i32x4.eq(code, i32x4.splat(0))),
      inf,
    );
    enc = v128.bitselect(
      nan,
      v128.bitselect(
        sub,
        i32x4.shl(i32x4.sub(i32x4.splat(254), code), 23),
        i32x4.eq(code, i32x4.splat(254)),
      ),
      inf,
    );
    scaled = f32x4.mul(am, enc);
  } else {
    // NVFP4: sd = UE4M3(min(amax · perAmax, 448)); enc = min(1 / (sd · sDec), FLT_MAX).
    const a = f32x4.pmin(f32x4.mul(am, f32x4.splat(perAmax)), f32x4.splat(448));
    const eminField = i32x4.splat(-6 + 127), magicBase = magicBaseOf(3, 0);
    code = gridCodes(a, 3, eminField, magicBase);
    scale = gridValues(a, eminField, magicBase);
    enc = f32x4.pmin(
      f32x4.div(f32x4.splat(1), f32x4.mul(scale, f32x4.splat(sDec))),
      f32x4.splat(FLT_MAX),
    );
    scaled = f32x4.mul(am, enc);
  }
  v128.store(encs + <usize>gc * 4, enc);
  v128.store(scl + <usize>gc * 4, scale);
  // 0 where no element can saturate (see groupScale), else all ones.
  v128.store(mayClip + <usize>gc * 4, v128.not(f32x4.le(scaled, maxvv)));
  v128.store(scalesRow + <usize>gc * 4, scale);
  if (scaleCodesRow != 0) {
    const b = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(code, code), i16x8.splat(0));
    store<u32>(scaleCodesRow + <usize>gc, i32x4.extract_lane(b, 0));
  }
}

/**
 * The scale of one group from its amax under `rule` (the package's computeScales, term for term):
 * writes its encoder (divisor for absmax, else multiplier), scale and whether an element can
 * saturate into the scratch rows at column gc, its scale and scale code into the output rows.
 */
function groupScale(
  amax: f32, gc: i32, rule: i32, maxv: f32, emaxElem: i32, mbits: i32, perAmax: f32, sDec: f32,
  encs: usize, scl: usize, mayClip: usize, scalesRow: usize, scaleCodesRow: usize,
): void {
  let enc: f32, scale: f32, code: i32 = 0;
  if (rule == 1) {
    // absmax: an all-zero or infinite group, or a scale that underflows, gets scale 1.
    let s: f32 = amax > 0 && amax < Infinity ? amax / maxv : 1;
    if (s == 0) s = 1;
    enc = s;
    scale = s;
  } else if (rule == 2) {
    // pow2-floor: γ = maxNormal / amax floored to 2^e; the scale is 2^−e.
    let e: i32 = 0;
    if (amax > 0 && amax < Infinity) {
      const gamma = maxv / amax;
      e = gamma == Infinity ? 127 : min(floorLog2f(gamma), 127);
    }
    // Past E8M0's range (a format with max normal below 2 and a near-FLT_MAX amax) the
    // TypeScript path's scale table reads NaN: the group then reads back as NaN there too.
    scale = e < -127 ? NaN : pow2f(-e);
    enc = e < -127 ? NaN : pow2f(e);
  } else if (rule == 7) {
    const sd = ue4m3Value(min(amax * perAmax, <f32>448));
    code = ue4m3Code(min(amax * perAmax, <f32>448));
    scale = sd;
    enc = min(<f32>1 / (sd * sDec), FLT_MAX);
  } else {
    if (amax == Infinity) code = 0xff; // a block holding ±Inf reads back as NaN (OCP MX)
    else if (amax == 0) code = 0;
    else {
      const field = <i32>(reinterpret<u32>(amax) >>> 23);
      // OCP floor with a normal amax straight from the exponent field; the rest by the rule.
      const e = rule == 3 && field != 0
        ? field - 127 - emaxElem
        : e8m0Exponent(amax, rule, emaxElem, mbits, maxv);
      code = e < -127 ? 0 : e > 127 ? 254 : e + 127;
    }
    scale = code == 0xff ? NaN : pow2f(code - 127);
    enc = code == 0xff ? NaN : pow2f(127 - code);
  }
  store<f32>(encs + <usize>gc * 4, enc);
  store<f32>(scl + <usize>gc * 4, scale);
  // Scaling and rounding to f32 are monotone: when the group's amax scales to at most the
  // max normal, no element of it saturates and counting can be skipped.
  const scaledAmax = rule == 1 ? amax / enc : amax * enc;
  store<i32>(mayClip + <usize>gc * 4, scaledAmax <= maxv ? 0 : 1);
  store<f32>(scalesRow + <usize>gc * 4, scale);
  if (scaleCodesRow != 0) store<u8>(scaleCodesRow + <usize>gc, <u8>code);
}

/**
 * One band of rows [t·per, (t+1)·per) of the quantizer described by the parameter block at
 * `params`: each group's amax (unless the tensor's is given), its scale under the rule, then every
 * element scaled, rounded to nearest-even with saturation, and written as codes and/or
 * dequantized values. Counts saturated elements and flags NaN in the task's stats slot.
 */
export function qgQuantTask(params: usize, t: i32, scratch: usize): void {
  const src = <usize>pi(params, QG_SRC);
  const rows = pi(params, QG_ROWS), cols = pi(params, QG_COLS);
  const per = pi(params, QG_PER);
  const given = pf(params, QG_GIVEN_AMAX);
  const tensorScope = given >= 0;
  const br = tensorScope ? 1 : pi(params, QG_BLOCK_ROWS);
  const bc = pi(params, QG_BLOCK_COLS);
  const mbits = pi(params, QG_MBITS), ebits = pi(params, QG_EBITS), bias = pi(params, QG_BIAS);
  const maxv = pf(params, QG_MAX);
  const rule = pi(params, QG_RULE);
  const emaxElem = pi(params, QG_EMAX);
  const perAmax = pf(params, QG_PER_AMAX), sDec = pf(params, QG_SDEC);
  const ts = pf(params, QG_TSCALE);
  const codes = <usize>pi(params, QG_CODES), deq = <usize>pi(params, QG_DEQ);
  const scales = <usize>pi(params, QG_SCALES), scaleCodes = <usize>pi(params, QG_SCALE_CODES);
  const gcols = pi(params, QG_GROUP_COLS);
  const stats = <usize>pi(params, QG_STATS) + <usize>t * 8;
  const opaque = pi(params, QG_ZERO);
  // Vector constants of the element loops, made once here from a run-time zero (`opaque`) so that
  // they are neither folded into every use nor rematerialised per group: E2M1's, and the format's.
  const k2Emin = i32x4.splat(127 + opaque), k2Magic = magicBaseOf(1, opaque);
  const k2Max = f32x4.splat(6 + <f32>opaque);
  const kEmin = i32x4.splat(1 - bias + 127 + opaque), kMagic = magicBaseOf(mbits, opaque);
  const kMax = f32x4.splat(maxv + <f32>opaque), kAbs = i32x4.splat(0x7fffffff + opaque);
  const nibbles = ebits + mbits == 3;
  const rowBytes = nibbles ? (cols + 1) >> 1 : cols;
  const divide = rule == 1;
  // E2M1 codes (MXFP4, NVFP4, the FP4 paper's rows): a loop with the format's constants folded.
  const direct = codes != 0 && deq == 0 && ebits == 2 && mbits == 1 && bias == 1 && maxv == 6;
  const absMask = i32x4.splat(0x7fffffff);
  // scratch: per group column the encoder, the scale and whether an element can saturate (for
  // the current group row), then one row of byte codes (4-bit formats, packed at the row's end).
  const encs = scratch;
  const scl = encs + <usize>gcols * 4;
  const mayClip = scl + <usize>gcols * 4;
  const rowCodes = mayClip + <usize>gcols * 4;
  let clipped = i32x4.splat(0);
  let flags: i32 = 0;
  const r0 = t * per, r1 = min(rows, r0 + per);
  for (let g0 = r0; g0 < r1; g0 += br) {
    const g1 = min(r1, g0 + br);
    const gr = tensorScope ? 0 : g0 / br;
    const scalesRow = scales + <usize>gr * <usize>gcols * 4;
    const scaleCodesRow = scaleCodes != 0 ? scaleCodes + <usize>gr * <usize>gcols : 0;
    let gc = 0;
    if (br == 1 && !tensorScope) {
      // One-row groups, four at a time: their amax side by side in one vector, and for the
      // absmax, OCP floor and NVFP4 rules their scales computed as vectors too.
      const row = src + <usize>g0 * <usize>cols * 4;
      const vectorRule = rule == 1 || rule == 7 || (rule == 3 && emaxElem >= 0);
      for (; gc + 4 <= gcols; gc += 4) {
        const c0 = gc * bc;
        const am = reduce4(
          laneMax(row, c0, c0 + bc, absMask),
          laneMax(row, c0 + bc, c0 + 2 * bc, absMask),
          laneMax(row, c0 + 2 * bc, c0 + 3 * bc, absMask),
          laneMax(row, c0 + 3 * bc, min(cols, c0 + 4 * bc), absMask),
        );
        if (v128.any_true(i32x4.gt_u(am, i32x4.splat(0x7f800000)))) flags |= 1;
        if (vectorRule) {
          scales4(
            am, gc, rule, maxv, emaxElem, perAmax, sDec, encs, scl, mayClip, scalesRow,
            scaleCodesRow,
          );
        } else {
          groupScale(
            f32x4.extract_lane(am, 0), gc, rule, maxv, emaxElem, mbits, perAmax, sDec, encs, scl,
            mayClip, scalesRow, scaleCodesRow,
          );
          groupScale(
            f32x4.extract_lane(am, 1), gc + 1, rule, maxv, emaxElem, mbits, perAmax, sDec, encs,
            scl, mayClip, scalesRow, scaleCodesRow,
          );
          groupScale(
            f32x4.extract_lane(am, 2), gc + 2, rule, maxv, emaxElem, mbits, perAmax, sDec, encs,
            scl, mayClip, scalesRow, scaleCodesRow,
          );
          groupScale(
            f32x4.extract_lane(am, 3), gc + 3, rule, maxv, emaxElem, mbits, perAmax, sDec, encs,
            scl, mayClip, scalesRow, scaleCodesRow,
          );
        }
      }
    }
    for (; gc < gcols; gc++) {
      const c0 = gc * bc, c1 = min(cols, c0 + bc);
      let amax: f32;
      if (tensorScope) amax = given;
      else {
        let m: u32 = 0;
        for (let r = g0; r < g1; r++) {
          const row = src + <usize>r * <usize>cols * 4;
          let mv = i32x4.splat(0);
          let c = c0;
          for (; c + 8 <= c1; c += 8) {
            mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4), absMask));
            mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4, 16), absMask));
          }
          for (; c + 4 <= c1; c += 4) {
            mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4), absMask));
          }
          m = max(m, max(
            max(i32x4.extract_lane(mv, 0) as u32, i32x4.extract_lane(mv, 1) as u32),
            max(i32x4.extract_lane(mv, 2) as u32, i32x4.extract_lane(mv, 3) as u32),
          ));
          for (; c < c1; c++) m = max(m, load<u32>(row + <usize>c * 4) & 0x7fffffff);
        }
        if (m > 0x7f800000) flags |= 1;
        amax = reinterpret<f32>(m);
      }
      groupScale(
        amax, gc, rule, maxv, emaxElem, mbits, perAmax, sDec, encs, scl, mayClip, scalesRow,
        scaleCodesRow,
      );
    }
    for (let r = g0; r < g1; r++) {
      const row = src + <usize>r * <usize>cols * 4;
      const deqRow = deq + <usize>r * <usize>cols * 4;
      const codeRow = nibbles ? rowCodes : codes + <usize>r * <usize>rowBytes;
      for (let gc = 0; gc < gcols; gc++) {
        const c0 = gc * bc, c1 = min(cols, c0 + bc);
        const enc = load<f32>(encs + <usize>gc * 4);
        const scale = load<f32>(scl + <usize>gc * 4);
        if (enc != enc) {
          // E8M0 0xFF group: codes 0, and the NaN scale makes it read back as NaN.
          if (codes != 0) memory.fill(codeRow + <usize>c0, 0, <usize>(c1 - c0));
          if (deq != 0) {
            for (let c = c0; c < c1; c++) store<f32>(deqRow + <usize>c * 4, NaN);
          }
          continue;
        }
        // The common cases with their constants folded in (E2M1 codes, absmax or power-of-two
        // scales); everything else through the general loop.
        // Counting saturation is skipped where no element can saturate; for short groups the
        // branch costs more than the count.
        const count = bc < 64 || load<i32>(mayClip + <usize>gc * 4) != 0;
        if (direct) {
          if (divide) {
            if (count) {
              clipped = quantGroup(row, codeRow, 0, c0, c1, enc, scale, ts, 6, 1, 2, 1, true, true, false, true, clipped, k2Emin, k2Magic, k2Max, kAbs);
            } else {
              clipped = quantGroup(row, codeRow, 0, c0, c1, enc, scale, ts, 6, 1, 2, 1, true, true, false, false, clipped, k2Emin, k2Magic, k2Max, kAbs);
            }
          } else if (count) {
            clipped = quantGroup(row, codeRow, 0, c0, c1, enc, scale, ts, 6, 1, 2, 1, false, true, false, true, clipped, k2Emin, k2Magic, k2Max, kAbs);
          } else {
            clipped = quantGroup(row, codeRow, 0, c0, c1, enc, scale, ts, 6, 1, 2, 1, false, true, false, false, clipped, k2Emin, k2Magic, k2Max, kAbs);
          }
        } else {
          clipped = quantGroup(
            row, codeRow, deqRow, c0, c1, enc, scale, ts, maxv, mbits, ebits, bias, divide,
            codes != 0, deq != 0, true, clipped, kEmin, kMagic, kMax, kAbs,
          );
        }
      }
      if (codes != 0 && nibbles) {
        const dst = codes + <usize>r * <usize>rowBytes;
        const pairs = cols >> 1;
        let j = 0;
        for (; j + 8 <= pairs; j += 8) {
          // 16 codes -> 8 bytes: (lo | hi << 8) per 16-bit lane becomes lo | hi << 4.
          const v = v128.load(rowCodes + <usize>(2 * j));
          const packed = v128.or(
            v128.and(v, i16x8.splat(0x0f)),
            v128.and(i16x8.shr_u(v, 4), i16x8.splat(0xf0)),
          );
          v128.store64_lane(dst + <usize>j, i8x16.narrow_i16x8_u(packed, packed), 0);
        }
        for (; j < pairs; j++) {
          store<u8>(
            dst + <usize>j,
            load<u8>(rowCodes + <usize>(2 * j)) | (load<u8>(rowCodes + <usize>(2 * j + 1)) << 4),
          );
        }
        if (cols & 1) store<u8>(dst + <usize>pairs, load<u8>(rowCodes + <usize>(cols - 1)));
      }
    }
  }
  store<i32>(
    stats,
    i32x4.extract_lane(clipped, 0) + i32x4.extract_lane(clipped, 1) +
      i32x4.extract_lane(clipped, 2) + i32x4.extract_lane(clipped, 3),
  );
  store<i32>(stats + 4, flags);
}
