// Outlier clamping and compensation (OCC) on resident buffers, bit-identical to
// @fp4lab/outlier-comp's clampOutliers and csrMatmul: exact order statistics per row (or per
// tensor), the clamp, and the residual ΔA = A − clamp(A) kept per row in a fixed number of slots
// (values and columns, in column order, with a count per row), so rows are written in parallel
// and the residual product reads each row's entries in order.

/** Floyd–Rivest selection: a[k] becomes the k-th smallest of a[left..right]. */
function floydRivest(a: usize, k: i32, left: i32, right: i32): void {
  while (right > left) {
    if (right - left > 600) {
      const n = <f64>(right - left + 1);
      const i = <f64>(k - left + 1);
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (i - n / 2 < 0 ? -1 : 1);
      const newLeft = max(left, <i32>Math.floor(<f64>k - (i * s) / n + sd));
      const newRight = min(right, <i32>Math.floor(<f64>k + ((n - i) * s) / n + sd));
      floydRivest(a, k, newLeft, newRight);
    }
    const t = load<f32>(a + <usize>k * 4);
    let i = left;
    let j = right;
    swap(a, left, k);
    if (load<f32>(a + <usize>right * 4) > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (load<f32>(a + <usize>i * 4) < t) i++;
      while (load<f32>(a + <usize>j * 4) > t) j--;
    }
    if (load<f32>(a + <usize>left * 4) == t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

@inline function swap(a: usize, i: i32, j: i32): void {
  const pi = a + <usize>i * 4, pj = a + <usize>j * 4;
  const t = load<f32>(pi);
  store<f32>(pi, load<f32>(pj));
  store<f32>(pj, t);
}

/** The kLo-th and kHi-th smallest of n values at src (work: n f32 of scratch), into out[0..2]. */
function selectPair(src: usize, n: i32, kLo: i32, kHi: i32, work: usize, out: usize): void {
  memory.copy(work, src, <usize>n * 4);
  floydRivest(work, kLo, 0, n - 1);
  const lo = load<f32>(work + <usize>kLo * 4);
  let hi = lo;
  if (kHi != kLo) {
    floydRivest(work, kHi, kLo + 1, n - 1);
    hi = load<f32>(work + <usize>kHi * 4);
  }
  store<f32>(out, lo);
  store<f32>(out, hi, 4);
}

/**
 * Keeps v among the nLow smallest (low, ascending) and the nHigh largest (high, descending)
 * values seen; returns the number of slots moved (the scan's work budget).
 */
@inline function insertExtreme(v: f32, low: usize, nLow: i32, high: usize, nHigh: i32): i32 {
  let moved = 0;
  if (v < load<f32>(low + <usize>(nLow - 1) * 4)) {
    let i = nLow - 1;
    while (i > 0 && load<f32>(low + <usize>(i - 1) * 4) > v) {
      store<f32>(low + <usize>i * 4, load<f32>(low + <usize>(i - 1) * 4));
      i--;
    }
    moved += nLow - i;
    store<f32>(low + <usize>i * 4, v);
  }
  if (v > load<f32>(high + <usize>(nHigh - 1) * 4)) {
    let i = nHigh - 1;
    while (i > 0 && load<f32>(high + <usize>(i - 1) * 4) < v) {
      store<f32>(high + <usize>i * 4, load<f32>(high + <usize>(i - 1) * 4));
      i--;
    }
    moved += nHigh - i;
    store<f32>(high + <usize>i * 4, v);
  }
  return moved;
}

/**
 * The row's thresholds by one scan keeping the kLo + 1 smallest and cols − kHi largest values
 * (as outlier-comp's scanExtremes; exact), falling back to selection when the buffers churn.
 */
function rowThresholds(
  row: usize, cols: i32, kLo: i32, kHi: i32, work: usize, out: usize,
): void {
  const nLow = kLo + 1, nHigh = cols - kHi;
  if (nLow > 48 || nHigh > 48) {
    selectPair(row, cols, kLo, kHi, work, out);
    return;
  }
  const low = work, high = work + <usize>nLow * 4;
  for (let i = 0; i < nLow; i++) store<f32>(low + <usize>i * 4, Infinity);
  for (let i = 0; i < nHigh; i++) store<f32>(high + <usize>i * 4, -Infinity);
  let lowMax: f32 = Infinity, highMin: f32 = -Infinity;
  let budget = 16 * cols;
  let p = 0;
  // Four at a time: a value between the current extremes changes nothing (and stays between
  // them: they only move outwards), so only the lanes outside are visited, in order.
  for (; p + 4 <= cols; p += 4) {
    const v4 = v128.load(row + <usize>p * 4);
    const inside = v128.and(f32x4.ge(v4, f32x4.splat(lowMax)), f32x4.le(v4, f32x4.splat(highMin)));
    let mask = ~i32x4.bitmask(inside) & 15;
    while (mask != 0) {
      const lane = ctz(mask);
      mask &= mask - 1;
      budget -= insertExtreme(load<f32>(row + <usize>(p + lane) * 4), low, nLow, high, nHigh);
      lowMax = load<f32>(low + <usize>(nLow - 1) * 4);
      highMin = load<f32>(high + <usize>(nHigh - 1) * 4);
    }
    if (budget < 0) {
      selectPair(row, cols, kLo, kHi, work, out);
      return;
    }
  }
  for (; p < cols; p++) {
    budget -= insertExtreme(load<f32>(row + <usize>p * 4), low, nLow, high, nHigh);
    lowMax = load<f32>(low + <usize>(nLow - 1) * 4);
    highMin = load<f32>(high + <usize>(nHigh - 1) * 4);
    if (budget < 0) {
      selectPair(row, cols, kLo, kHi, work, out);
      return;
    }
  }
  store<f32>(out, lowMax);
  store<f32>(out, highMin, 4);
}

@inline function clampOne(
  row: usize, out: usize, c: i32, lo: f32, hi: f32, vals: usize, idx: usize, n: i32,
): i32 {
  const v = load<f32>(row + <usize>c * 4);
  if (v < lo) {
    store<f32>(out + <usize>c * 4, lo);
    store<i32>(idx + <usize>n * 4, c);
    store<f32>(vals + <usize>n * 4, v - lo);
    return n + 1;
  }
  if (v > hi) {
    store<f32>(out + <usize>c * 4, hi);
    store<i32>(idx + <usize>n * 4, c);
    store<f32>(vals + <usize>n * 4, v - hi);
    return n + 1;
  }
  store<f32>(out + <usize>c * 4, v);
  return n;
}

/** The tensor-scope thresholds (one task): the kLo-th and kHi-th smallest of n values. */
export function occTensorThresholds(src: usize, n: i32, kLo: i32, kHi: i32, work: usize, out: usize): void {
  selectPair(src, n, kLo, kHi, work, out);
}

/**
 * Clamp rows [t·per, (t+1)·per): per row thresholds (or the given pair when tensor != 0, at
 * thr[0..2]), clamped values into dst, residual entries v − threshold into the row's slots of
 * rv (f32) / rc (i32 columns), rows x cap, their number into counts[row].
 *
 * With codes != 0 the clamped row is not stored: it is quantized as it is made (E2M1, one
 * absmax scale per row, nearest-even: quantTask's arithmetic), its packed codes go to codes
 * (ceil(cols/2) bytes a row), its scale to scales[row], and dst receives the dequantized values
 * with the residual added back (what quantTask then residualAddTask write), so the clamped copy
 * never goes through memory.
 */
export function occClampTask(
  dst: usize, src: usize, rows: i32, cols: i32, kLo: i32, kHi: i32, tensor: i32, thr: usize,
  rv: usize, rc: usize, counts: usize, cap: i32, codes: usize, scales: usize, per: i32, t: i32,
  scratch: usize,
): void {
  const r1 = min(rows, t * per + per);
  const pair = scratch;
  const work = scratch + 16;
  // fused: the clamped row and its byte codes live in scratch after the selection buffer
  const rowBuf = work + ((<usize>cols * 4 + 63) & ~63);
  const rowCodes = rowBuf + ((<usize>cols * 4 + 63) & ~63);
  for (let r = t * per; r < r1; r++) {
    const row = src + <usize>r * <usize>cols * 4;
    const out = codes != 0 ? rowBuf : dst + <usize>r * <usize>cols * 4;
    if (tensor != 0) {
      store<f32>(pair, load<f32>(thr));
      store<f32>(pair, load<f32>(thr, 4), 4);
    } else rowThresholds(row, cols, kLo, kHi, work, pair);
    const lo = load<f32>(pair), hi = load<f32>(pair, 4);
    const vals = rv + <usize>r * <usize>cap * 4;
    const idx = rc + <usize>r * <usize>cap * 4;
    let n = 0;
    const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const v = v128.load(row + <usize>c * 4);
      const outside = v128.or(f32x4.lt(v, lov), f32x4.gt(v, hiv));
      if (!v128.any_true(outside)) {
        v128.store(out + <usize>c * 4, v);
        continue;
      }
      for (let cc = c; cc < c + 4; cc++) n = clampOne(row, out, cc, lo, hi, vals, idx, n);
    }
    for (; c < cols; c++) n = clampOne(row, out, c, lo, hi, vals, idx, n);
    store<i32>(counts + <usize>r * 4, n);
    if (codes != 0) {
      const deq = dst + <usize>r * <usize>cols * 4;
      quantRowE2M1(rowBuf, cols, deq, codes + <usize>r * <usize>((cols + 1) >> 1), rowCodes,
        scales + <usize>r * 4);
      for (let e = 0; e < n; e++) {
        const p = deq + <usize>load<i32>(idx + <usize>e * 4) * 4;
        store<f32>(p, load<f32>(p) + load<f32>(vals + <usize>e * 4));
      }
    }
  }
}

/**
 * One row of quantTask for E2M1 with one absmax scale per row and nearest-even rounding (the
 * same operations in the same order): scale = amax / 6 (1 when amax is 0, ±Inf or NaN), codes
 * packed two to a byte (low nibble first), dequantized values y · scale.
 */
function quantRowE2M1(
  row: usize, cols: i32, deq: usize, dstCodes: usize, rowCodes: usize, scaleOut: usize,
): void {
  const maxv: f32 = 6;
  let mv = i32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    mv = i32x4.max_u(mv, v128.and(v128.load(row + <usize>c * 4), i32x4.splat(0x7fffffff)));
  }
  let m = max(max(i32x4.extract_lane(mv, 0) as u32, i32x4.extract_lane(mv, 1) as u32),
    max(i32x4.extract_lane(mv, 2) as u32, i32x4.extract_lane(mv, 3) as u32));
  for (; c < cols; c++) m = max(m, load<u32>(row + <usize>c * 4) & 0x7fffffff);
  const amax = reinterpret<f32>(m);
  let s: f32 = amax > 0 && amax < Infinity ? amax / maxv : 1;
  if (s == 0) s = 1;
  store<f32>(scaleOut, s);
  const sv = f32x4.splat(s);
  c = 0;
  // Sixteen at a time: |y|·2 is an integer 0..12 on the E2M1 grid, turned into the magnitude code
  // by one byte lookup, and the codes are packed straight into nibbles (a block holding a NaN
  // takes the four-at-a-time path, whose codes for NaN this lookup does not reproduce).
  const lut = i8x16(0, 1, 2, 3, 4, 0, 5, 0, 6, 0, 0, 0, 7, 0, 0, 0);
  const absMask = i32x4.splat(0x7fffffff), two = f32x4.splat(2);
  for (; c + 16 <= cols; c += 16) {
    const o = <usize>c * 4;
    const y0 = rneE2M1(f32x4.div(v128.load(row + o), sv));
    const y1 = rneE2M1(f32x4.div(v128.load(row + o, 16), sv));
    const y2 = rneE2M1(f32x4.div(v128.load(row + o, 32), sv));
    const y3 = rneE2M1(f32x4.div(v128.load(row + o, 48), sv));
    const nan = v128.or(v128.or(f32x4.ne(y0, y0), f32x4.ne(y1, y1)), v128.or(f32x4.ne(y2, y2), f32x4.ne(y3, y3)));
    if (v128.any_true(nan)) break;
    v128.store(deq + o, f32x4.mul(y0, sv));
    v128.store(deq + o, f32x4.mul(y1, sv), 16);
    v128.store(deq + o, f32x4.mul(y2, sv), 32);
    v128.store(deq + o, f32x4.mul(y3, sv), 48);
    const m = i8x16.narrow_i16x8_u(
      i16x8.narrow_i32x4_u(
        i32x4.trunc_sat_f32x4_u(f32x4.mul(v128.and(y0, absMask), two)),
        i32x4.trunc_sat_f32x4_u(f32x4.mul(v128.and(y1, absMask), two)),
      ),
      i16x8.narrow_i32x4_u(
        i32x4.trunc_sat_f32x4_u(f32x4.mul(v128.and(y2, absMask), two)),
        i32x4.trunc_sat_f32x4_u(f32x4.mul(v128.and(y3, absMask), two)),
      ),
    );
    const sgn = i8x16.narrow_i16x8_u(
      i16x8.narrow_i32x4_u(i32x4.shr_u(y0, 31), i32x4.shr_u(y1, 31)),
      i16x8.narrow_i32x4_u(i32x4.shr_u(y2, 31), i32x4.shr_u(y3, 31)),
    );
    const k = v128.or(i8x16.swizzle(lut, m), i8x16.shl(sgn, 3));
    const ev = i8x16.shuffle(k, k, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const od = i8x16.shuffle(k, k, 1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    v128.store64_lane(dstCodes + <usize>(c >> 1), v128.or(ev, i16x8.shl(od, 4)), 0);
  }
  const c16 = c; // codes of [0, c16) are packed already
  for (; c + 4 <= cols; c += 4) {
    const o = <usize>c * 4;
    const y = rneE2M1(f32x4.div(v128.load(row + o), sv));
    const k = codesE2M1(y);
    const kb = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(k, k), i16x8.splat(0));
    store<u32>(rowCodes + <usize>c, i32x4.extract_lane(kb, 0));
    v128.store(deq + o, f32x4.mul(y, sv));
  }
  for (; c < cols; c++) {
    const o = <usize>c * 4;
    const yv = rneE2M1(f32x4.splat(load<f32>(row + o) / s));
    store<u8>(rowCodes + <usize>c, <u8>i32x4.extract_lane(codesE2M1(yv), 0));
    store<f32>(deq + o, f32x4.extract_lane(yv, 0) * s);
  }
  const pairs = cols >> 1;
  let j = c16 >> 1;
  for (; j + 8 <= pairs; j += 8) {
    const v = v128.load(rowCodes + <usize>(2 * j));
    const ev = i8x16.shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 0, 0, 0, 0, 0, 0, 0);
    const od = i8x16.shuffle(v, v, 1, 3, 5, 7, 9, 11, 13, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    v128.store64_lane(dstCodes + <usize>j, v128.or(ev, i16x8.shl(od, 4)), 0);
  }
  for (; j < pairs; j++) {
    store<u8>(dstCodes + <usize>j,
      load<u8>(rowCodes + <usize>(2 * j)) | (load<u8>(rowCodes + <usize>(2 * j + 1)) << 4));
  }
  if (cols & 1) store<u8>(dstCodes + <usize>pairs, load<u8>(rowCodes + <usize>(cols - 1)));
}

// vmath's rne4 for E2M1 (1 mantissa bit, emin 0, max 6)
@inline function rneE2M1(x: v128): v128 {
  const a = v128.and(x, i32x4.splat(0x7fffffff));
  const field = i32x4.max_s(i32x4.shr_u(a, 23), i32x4.splat(127));
  const magicField = i32x4.min_s(i32x4.add(field, i32x4.splat(22)), i32x4.splat(254));
  const magic = v128.or(i32x4.shl(magicField, 23), i32x4.splat(0x400000));
  const r = f32x4.min(f32x4.sub(f32x4.add(a, magic), magic), f32x4.splat(6));
  return v128.or(r, v128.and(x, i32x4.splat(0x80000000)));
}

// quant_ops.ts's codes4 for E2M1 (2 exponent bits, 1 mantissa bit, bias 1)
@inline function codesE2M1(y: v128): v128 {
  const a = v128.and(y, i32x4.splat(0x7fffffff));
  const field = i32x4.shr_u(a, 23);
  const normal = i32x4.ge_s(field, i32x4.splat(127));
  const magN = v128.or(
    i32x4.shl(i32x4.add(field, i32x4.splat(1 - 127)), 1),
    v128.and(i32x4.shr_u(a, 22), i32x4.splat(1)),
  );
  const sub = f32x4.mul(a, i32x4.splat((1 - 0 + 127) << 23));
  const magS = i32x4.trunc_sat_f32x4_u(sub);
  const mag = v128.bitselect(magN, magS, normal);
  return v128.or(mag, i32x4.shl(i32x4.shr_u(y, 31), 3));
}

@inline function hiHalf(x: v128): v128 {
  return i32x4.shuffle(x, x, 2, 3, 0, 1);
}

/**
 * out[r, j] = f32(out[r, j] + Σ_e ΔA[r, c_e] · W[j, c_e]) with the sum in f64 in entry order
 * (csrMatmul's "nt" order, bit for bit: each product rounded to f64, added to a sum that starts
 * at +0) for rows [t·per, (t+1)·per) and every output column; rows without entries are skipped.
 * W comes transposed, wT [K, N], so an entry's weights for eight neighbouring outputs are one
 * contiguous 32-byte load, summed on f64x2 lanes. A task walks whole rows of out (streamed, one
 * read and one write each) and reads whole rows of wT (K·N·4 bytes in all: in L2).
 */
export function residualMatmulTask(
  out: usize, rv: usize, rc: usize, counts: usize, cap: i32, wT: usize, rows: i32, N: i32,
  per: i32, t: i32, scratch: usize,
): void {
  const r1 = min(rows, t * per + per);
  const ns = <usize>N * 4;
  const zero = f64x2.splat(0);
  for (let r = t * per; r < r1; r++) {
    const n = load<i32>(counts + <usize>r * 4);
    if (n == 0) continue;
    const vals = rv + <usize>r * <usize>cap * 4;
    const idx = rc + <usize>r * <usize>cap * 4;
    const orow = out + <usize>r * ns;
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      let s0 = zero, s1 = zero, s2 = zero, s3 = zero;
      const col = wT + <usize>j * 4;
      for (let e = 0; e < n; e++) {
        const v = f64x2.splat(<f64>load<f32>(vals + <usize>e * 4));
        const p = col + <usize>load<i32>(idx + <usize>e * 4) * ns;
        const a = v128.load(p), b = v128.load(p, 16);
        s0 = f64x2.add(s0, f64x2.mul(v, f64x2.promote_low_f32x4(a)));
        s1 = f64x2.add(s1, f64x2.mul(v, f64x2.promote_low_f32x4(hiHalf(a))));
        s2 = f64x2.add(s2, f64x2.mul(v, f64x2.promote_low_f32x4(b)));
        s3 = f64x2.add(s3, f64x2.mul(v, f64x2.promote_low_f32x4(hiHalf(b))));
      }
      const o = orow + <usize>j * 4;
      const x = v128.load(o), y = v128.load(o, 16);
      const x0 = f32x4.demote_f64x2_zero(f64x2.add(f64x2.promote_low_f32x4(x), s0));
      const x1 = f32x4.demote_f64x2_zero(f64x2.add(f64x2.promote_low_f32x4(hiHalf(x)), s1));
      const y0 = f32x4.demote_f64x2_zero(f64x2.add(f64x2.promote_low_f32x4(y), s2));
      const y1 = f32x4.demote_f64x2_zero(f64x2.add(f64x2.promote_low_f32x4(hiHalf(y)), s3));
      v128.store(o, i32x4.shuffle(x0, x1, 0, 1, 4, 5));
      v128.store(o, i32x4.shuffle(y0, y1, 0, 1, 4, 5), 16);
    }
    for (; j < N; j++) {
      let s: f64 = 0;
      for (let e = 0; e < n; e++) {
        s += <f64>load<f32>(vals + <usize>e * 4) *
          <f64>load<f32>(wT + <usize>load<i32>(idx + <usize>e * 4) * ns + <usize>j * 4);
      }
      store<f32>(orow + <usize>j * 4, <f32>(<f64>load<f32>(orow + <usize>j * 4) + s));
    }
  }
}

/** dense[r, c_e] += ΔA entries for rows [t·per, (t+1)·per) of rows. */
export function residualAddTask(
  dense: usize, rv: usize, rc: usize, counts: usize, cap: i32, rows: i32, cols: i32, per: i32,
  t: i32, scratch: usize,
): void {
  const r1 = min(rows, t * per + per);
  for (let r = t * per; r < r1; r++) {
    const n = load<i32>(counts + <usize>r * 4);
    const vals = rv + <usize>r * <usize>cap * 4;
    const idx = rc + <usize>r * <usize>cap * 4;
    const drow = dense + <usize>r * <usize>cols * 4;
    for (let e = 0; e < n; e++) {
      const p = drow + <usize>load<i32>(idx + <usize>e * 4) * 4;
      store<f32>(p, load<f32>(p) + load<f32>(vals + <usize>e * 4));
    }
  }
}
