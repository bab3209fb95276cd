// The training recipes' quantizers on resident buffers, bit-identical to @fp4lab/quant-granularity
// (quantizeTensor / fakeQuant / dequantize) and @fp4lab/fp4-format (quantize, stochastic rounding
// with the same counter-based stream): absmax scales per row, per tensor, per 1-D block and per
// 16 x 16 tile, OCP MX E8M0 floor scales, NVFP4's two-level scales, round-to-nearest-even or
// stochastic rounding, and in one pass over each band of rows: the group scales (and scale codes),
// the element codes (FP4 packed two to a byte, low nibble first), the dequantized values and the
// values in grid units (for DGE).
//
// A call's parameters are a block of 32-bit words in the shared memory (more than a job's f64
// argument slots hold); see the QP_* offsets.
import { FLT_MAX, mix32x4, pf, pi, rne4, uniform24 } from "./vmath";
import { fakeQuantF32 } from "./quantize";

// Parameter block (word offsets).
const QP_SRC = 0;
const QP_ROWS = 1;
const QP_COLS = 2;
const QP_PER = 3; // rows per task (a multiple of blockRows)
const QP_BLOCK_ROWS = 4;
const QP_BLOCK_COLS = 5;
const QP_MBITS = 6;
const QP_EBITS = 7;
const QP_BIAS = 8;
const QP_MAX = 9; // f32 maxNormal
const QP_RULE = 10; // 0 none, 1 absmax, 2 e8m0-floor, 3 nvfp4
const QP_SR = 11; // 1: stochastic rounding
const QP_KEY = 12; // stream key (seedKey(seed))
const QP_DEQ = 13; // f32 [rows, cols] or 0
const QP_CODES = 14; // codes (4-bit: rows x ceil(cols/2) bytes; else rows x cols bytes) or 0
const QP_GRID = 15; // f32 grid units or 0
const QP_SCALES = 16; // f32 per group [groupRows, groupCols] or 0
const QP_GIVEN_AMAX = 17; // f32 amax of the whole tensor (tensor granularity, NVFP4), or -1
const QP_PER_AMAX = 18; // NVFP4: f32(sEnc · f32(1/maxNormal))
const QP_SDEC = 19; // NVFP4: f32(1 / sEnc)
const QP_TSCALE = 20; // tensor scale (NVFP4: sEnc; else 1)
const QP_EMAX = 21; // the element format's emax (E8M0 rules)
const QP_SCALE_CODES = 22; // u8 per group, or 0
const QP_GROUP_COLS = 23;

/** Words in a parameter block. */
export function quantParamWords(): i32 {
  return 24;
}


/** UE4M3 (4 exponent bits, 3 mantissa bits, bias 7, max 448) nearest-even of a in [0, 448]. */
@inline function roundUE4M3(a: f32): f32 {
  return f32x4.extract_lane(rne4(f32x4.splat(a), 3, -6, 448), 0);
}

/**
 * Stochastic rounding (fp4-format's roundStochastic with saturation): up with probability equal
 * to the distance from the grid point below over the spacing, the draw of element idx0 + lane.
 */
@inline function sr4(x: v128, mbits: i32, emin: i32, maxv: f32, key: u32, idx0: u32): v128 {
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  const e = i32x4.sub(i32x4.max_s(i32x4.shr_u(a, 23), i32x4.splat(emin + 127)), i32x4.splat(127));
  const invUlp = i32x4.shl(i32x4.sub(i32x4.splat(mbits + 127), e), 23);
  const ulp = i32x4.shl(i32x4.add(e, i32x4.splat(127 - mbits)), 23);
  const q = f32x4.mul(a, invUlp);
  const fl = f32x4.floor(q);
  const frac = f32x4.sub(q, fl);
  const idx = i32x4.add(i32x4.splat(idx0), i32x4(0, 1, 2, 3));
  const bits = i32x4.shr_u(mix32x4(v128.xor(mix32x4(idx), i32x4.splat(key))), 8);
  const u = f32x4.mul(f32x4.convert_i32x4_u(bits), f32x4.splat(5.9604644775390625e-8));
  const up = f32x4.lt(u, frac);
  const k = f32x4.add(fl, v128.and(up, f32x4.splat(1)));
  const r = f32x4.min(f32x4.mul(k, ulp), f32x4.splat(maxv));
  return v128.or(r, v128.and(x, i32x4.splat(0x80000000)));
}

/** Codes of values already on the grid (sign | magnitude bits). */
@inline function codes4(y: v128, ebits: i32, mbits: i32, bias: i32): v128 {
  const emin = 1 - bias;
  const a = v128.and(y, i32x4.splat(0x7fffffff));
  const field = i32x4.shr_u(a, 23);
  const normal = i32x4.ge_s(field, i32x4.splat(emin + 127));
  const magN = v128.or(
    i32x4.shl(i32x4.add(field, i32x4.splat(bias - 127)), mbits),
    v128.and(i32x4.shr_u(a, 23 - mbits), i32x4.splat((1 << mbits) - 1)),
  );
  const sub = f32x4.mul(a, i32x4.splat((mbits - emin + 127) << 23));
  const magS = i32x4.trunc_sat_f32x4_u(sub);
  const mag = v128.bitselect(magN, magS, normal);
  return v128.or(mag, i32x4.shl(i32x4.shr_u(y, 31), ebits + mbits));
}

/** max |x| bits over elements [t·per, (t+1)·per) of n, into out[t] (u32). */
export function amaxTask(p: usize, n: i32, per: i32, out: usize, t: i32, scratch: usize): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  let m = i32x4.splat(0);
  const absMask = i32x4.splat(0x7fffffff);
  let i = i0;
  for (; i + 4 <= i1; i += 4) m = i32x4.max_u(m, v128.and(v128.load(p + <usize>i * 4), absMask));
  let r = max(max(i32x4.extract_lane(m, 0) as u32, i32x4.extract_lane(m, 1) as u32),
    max(i32x4.extract_lane(m, 2) as u32, i32x4.extract_lane(m, 3) as u32));
  for (; i < i1; i++) r = max(r, load<u32>(p + <usize>i * 4) & 0x7fffffff);
  store<u32>(out + <usize>t * 4, r);
}

/**
 * One band of rows [t·per, (t+1)·per) of the quantizer described by the parameter block at
 * `params`. Group scales of the band's groups are computed first (from the band's absmax, or
 * from the tensor's given amax), then every element is brought to its group's grid, rounded,
 * and written as codes / dequantized values / grid units as asked.
 */
export function quantTask(params: usize, t: i32, scratch: usize): void {
  const src = <usize>pi(params, QP_SRC);
  const rows = pi(params, QP_ROWS), cols = pi(params, QP_COLS);
  const per = pi(params, QP_PER);
  const br = pi(params, QP_BLOCK_ROWS), bc = pi(params, QP_BLOCK_COLS);
  const mbits = pi(params, QP_MBITS), ebits = pi(params, QP_EBITS), bias = pi(params, QP_BIAS);
  const maxv = pf(params, QP_MAX);
  const rule = pi(params, QP_RULE);
  const sr = pi(params, QP_SR) != 0;
  const key = <u32>pi(params, QP_KEY);
  const deq = <usize>pi(params, QP_DEQ), codes = <usize>pi(params, QP_CODES);
  const grid = <usize>pi(params, QP_GRID), scales = <usize>pi(params, QP_SCALES);
  const given = pf(params, QP_GIVEN_AMAX);
  const perAmax = pf(params, QP_PER_AMAX), sDec = pf(params, QP_SDEC);
  const ts = pf(params, QP_TSCALE);
  const emaxElem = pi(params, QP_EMAX);
  const scaleCodes = <usize>pi(params, QP_SCALE_CODES);
  const gcols = pi(params, QP_GROUP_COLS);
  const emin = 1 - bias;
  const nibbles = ebits + mbits == 3;
  const rowBytes = nibbles ? (cols + 1) >> 1 : cols;
  // scratch: per group column, the encoder and the scale of the current group row; then one
  // row of byte codes.
  const encs = scratch;
  const scl = encs + <usize>gcols * 4;
  const rowCodes = scl + <usize>gcols * 4;
  const r0 = t * per, r1 = min(rows, r0 + per);
  for (let g0 = r0; g0 < r1; g0 += br) {
    const g1 = min(r1, g0 + br);
    const gr = g0 / br;
    for (let gc = 0; gc < gcols; gc++) {
      const c0 = gc * bc, c1 = min(cols, c0 + bc);
      let amax: f32;
      if (given >= 0) amax = given;
      else {
        let m: u32 = 0;
        for (let r = g0; r < g1; r++) {
          const row = src + <usize>r * <usize>cols * 4;
          let mv = i32x4.splat(0);
          let c = c0;
          for (; c + 4 <= c1; c += 4) {
            mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4), i32x4.splat(0x7fffffff)));
          }
          m = max(m, max(max(i32x4.extract_lane(mv, 0) as u32, i32x4.extract_lane(mv, 1) as u32),
            max(i32x4.extract_lane(mv, 2) as u32, i32x4.extract_lane(mv, 3) as u32)));
          for (; c < c1; c++) m = max(m, load<u32>(row + <usize>c * 4) & 0x7fffffff);
        }
        amax = reinterpret<f32>(m);
      }
      let enc: f32, scale: f32, code: i32 = 0;
      if (rule == 0) {
        enc = 1;
        scale = 1;
      } else if (rule == 1) {
        let s: f32 = amax > 0 && amax < Infinity ? amax / maxv : 1;
        if (s == 0) s = 1;
        enc = s;
        scale = s;
      } else if (rule == 2) {
        if (amax == Infinity) code = 0xff;
        else if (amax == 0) code = 0;
        else {
          const field = <i32>(reinterpret<u32>(amax) >>> 23);
          const e = field != 0 ? field - 127 - emaxElem : -200;
          code = e < -127 ? 0 : e > 127 ? 254 : e + 127;
        }
        // X = 2^(code − 127); elements are multiplied by 1/X (exact)
        scale = code == 0xff ? NaN : code == 0 ? reinterpret<f32>(0x00400000) : reinterpret<f32>(<u32>code << 23);
        enc = code == 0xff ? NaN : code == 254 ? reinterpret<f32>(0x00400000) : reinterpret<f32>(<u32>(254 - code) << 23);
      } else {
        const a = min(amax * perAmax, <f32>448);
        const sd = roundUE4M3(a);
        scale = sd;
        enc = min(<f32>1 / (sd * sDec), FLT_MAX);
        code = sd == 0 ? 0 : ((<i32>(reinterpret<u32>(sd) >>> 23) - 127 + 7) << 3) |
          <i32>((reinterpret<u32>(sd) >>> 20) & 7);
        if (sd != 0 && (reinterpret<u32>(sd) >>> 23) < 121) {
          // UE4M3 subnormal: sd = m · 2^-9
          code = <i32>(sd * 512);
        }
      }
      store<f32>(encs + <usize>gc * 4, enc);
      store<f32>(scl + <usize>gc * 4, scale);
      if (scales != 0) store<f32>(scales + (<usize>gr * <usize>gcols + <usize>gc) * 4, scale);
      if (scaleCodes != 0) store<u8>(scaleCodes + <usize>gr * <usize>gcols + <usize>gc, <u8>code);
    }
    for (let r = g0; r < g1; r++) {
      const row = src + <usize>r * <usize>cols * 4;
      const rowIdx = <u32>r * <u32>cols;
      for (let gc = 0; gc < gcols; gc++) {
        const c0 = gc * bc, c1 = min(cols, c0 + bc);
        const enc = load<f32>(encs + <usize>gc * 4);
        const scale = load<f32>(scl + <usize>gc * 4);
        const encv = f32x4.splat(enc), sv = f32x4.splat(scale), tsv = f32x4.splat(ts);
        const maxvv = f32x4.splat(maxv), negmax = f32x4.splat(-maxv);
        const gridDiv = grid != 0 && ts == 1;
        let c = c0;
        for (; c + 4 <= c1; c += 4) {
          const o = <usize>c * 4;
          const x = v128.load(row + o);
          let v: v128;
          if (rule == 1) v = f32x4.div(x, encv);
          else if (rule == 2) v = f32x4.mul(x, encv);
          else if (rule == 3) v = f32x4.max(f32x4.min(f32x4.mul(x, encv), maxvv), negmax);
          else v = x;
          const y = sr ? sr4(v, mbits, emin, maxv, key, rowIdx + <u32>c) : rne4(v, mbits, emin, maxv);
          if (codes != 0) {
            const k = codes4(y, ebits, mbits, bias);
            const kb = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(k, k), i16x8.splat(0));
            store<u32>(rowCodes + <usize>c, i32x4.extract_lane(kb, 0));
          }
          if (deq != 0) {
            let d = f32x4.mul(y, sv);
            if (rule == 3) d = f32x4.div(d, tsv);
            v128.store(deq + <usize>r * <usize>cols * 4 + o, d);
          }
          if (gridDiv) {
            const gv = v128.and(f32x4.div(x, sv), f32x4.gt(sv, f32x4.splat(0)));
            v128.store(grid + <usize>r * <usize>cols * 4 + o, gv);
          }
        }
        for (; c < c1; c++) {
          const o = <usize>c * 4;
          const x = load<f32>(row + o);
          let v: f32;
          if (rule == 1) v = x / enc;
          else if (rule == 2) v = x * enc;
          else if (rule == 3) v = max(min(x * enc, maxv), -maxv);
          else v = x;
          const vv = f32x4.splat(v);
          const yv = sr ? sr4(vv, mbits, emin, maxv, key, rowIdx + <u32>c) : rne4(vv, mbits, emin, maxv);
          if (codes != 0) store<u8>(rowCodes + <usize>c, <u8>i32x4.extract_lane(codes4(yv, ebits, mbits, bias), 0));
          const y = f32x4.extract_lane(yv, 0);
          if (deq != 0) {
            let d = y * scale;
            if (rule == 3) d = d / ts;
            store<f32>(deq + <usize>r * <usize>cols * 4 + o, d);
          }
          if (gridDiv) store<f32>(grid + <usize>r * <usize>cols * 4 + o, scale > 0 ? x / scale : 0);
        }
        if (grid != 0 && !gridDiv) {
          for (let cc = c0; cc < c1; cc++) {
            const x = <f64>load<f32>(row + <usize>cc * 4);
            store<f32>(grid + (<usize>r * <usize>cols + <usize>cc) * 4,
              scale > 0 ? <f32>((x * <f64>ts) / <f64>scale) : 0);
          }
        }
      }
      if (codes != 0) {
        const dst = codes + <usize>r * <usize>rowBytes;
        if (nibbles) {
          const pairs = cols >> 1;
          let j = 0;
          for (; j + 8 <= pairs; j += 8) {
            // 16 codes -> 8 bytes: even codes in the low nibbles, odd codes in the high ones
            const v = v128.load(rowCodes + <usize>(2 * j));
            const ev = i8x16.shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
            const od = i8x16.shuffle(v, v, 1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
            const packed = v128.or(ev, i16x8.shl(od, 4));
            v128.store64_lane(dst + <usize>j, packed, 0);
          }
          for (; j < pairs; j++) {
            store<u8>(dst + <usize>j, load<u8>(rowCodes + <usize>(2 * j)) | (load<u8>(rowCodes + <usize>(2 * j + 1)) << 4));
          }
          if (cols & 1) store<u8>(dst + <usize>pairs, load<u8>(rowCodes + <usize>(cols - 1)));
        } else {
          memory.copy(dst, rowCodes, <usize>cols);
        }
      }
    }
  }
}

/** The uniform draw of fp4-format's stream (for tests of the kernel's random numbers). */
export function uniformBits(key: u32, index: u32): u32 {
  return uniform24(key, index);
}

/** fakeQuantF32 (nearest-even, no scale) over elements [t·per, (t+1)·per) of n. */
export function fakeQuantTask(
  src: usize, out: usize, n: i32, ebits: i32, mbits: i32, bias: i32, maxNormal: f64, per: i32,
  t: i32, scratch: usize,
): void {
  const i0 = t * per, i1 = min(n, i0 + per);
  if (i1 > i0) {
    fakeQuantF32(src + <usize>i0 * 4, out + <usize>i0 * 4, i1 - i0, ebits, mbits, bias, maxNormal, 1);
  }
}
