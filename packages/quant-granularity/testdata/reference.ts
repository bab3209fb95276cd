// Slow, obviously-correct reference quantizer for the tests. Written separately from the package:
// the grid is enumerated from the format's bit fields, rounding scans the grid, groups are
// collected element by element, and every scale rule is computed from its definition (log2 by
// search, not by reading exponent fields). The only shared pieces are the format objects and the
// counter RNG (the stochastic draws must be the same numbers).
import { type FloatFormat, seedKey, UE4M3, uniformAt } from "@fp4lab/fp4-format";
import type { QuantScheme } from "../types.ts";

/** Non-negative grid of a format: value and magnitude code, ascending. */
export function referenceGrid(format: FloatFormat): { value: number; code: number }[] {
  const e = format.exponentBits;
  const m = format.mantissaBits;
  const grid: { value: number; code: number }[] = [];
  for (let field = 0; field < 2 ** e; field++) {
    for (let mant = 0; mant < 2 ** m; mant++) {
      const code = field * 2 ** m + mant;
      if (format.specials === "ieee" && field === 2 ** e - 1) continue;
      if (format.specials === "nan-only" && field === 2 ** e - 1 && mant === 2 ** m - 1) continue;
      const value = field === 0
        ? 2 ** (1 - format.bias) * (mant / 2 ** m)
        : 2 ** (field - format.bias) * (1 + mant / 2 ** m);
      grid.push({ value, code });
    }
  }
  return grid.sort((a, b) => a.value - b.value);
}

/** Rounds one f32 value onto the grid; returns its value and code (sign bit included). */
export function referenceRound(
  x: number,
  format: FloatFormat,
  rounding: string,
  draw: number,
): { value: number; code: number } {
  const grid = referenceGrid(format);
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const signBit = format.signed ? 2 ** (format.exponentBits + format.mantissaBits) : 0;
  let pick: { value: number; code: number };
  const top = grid[grid.length - 1];
  if (a >= top.value) {
    pick = top;
  } else {
    let i = 0;
    while (grid[i + 1].value <= a) i++;
    const lo = grid[i];
    const hi = grid[i + 1];
    if (lo.value === a) pick = lo;
    else if (rounding === "stochastic") {
      pick = draw < (a - lo.value) / (hi.value - lo.value) ? hi : lo;
    } else {
      const dLo = a - lo.value;
      const dHi = hi.value - a;
      if (dLo < dHi) pick = lo;
      else if (dHi < dLo) pick = hi;
      else if (rounding === "nearest-up") pick = negative ? lo : hi; // ties toward +infinity
      else pick = lo.code % 2 === 0 ? lo : hi; // ties to the even code
    }
  }
  return {
    value: negative ? -pick.value : pick.value,
    code: pick.code + (negative ? signBit : 0),
  };
}

/** floor(log2 v) by search. */
function log2Floor(v: number): number {
  let k = 0;
  while (2 ** k > v) k--;
  while (2 ** (k + 1) <= v) k++;
  return k;
}

/** The reference result: codes one per element (unpacked), scales and counts. */
export interface ReferenceResult {
  codes: Uint8Array;
  values: Float32Array;
  scales: Float32Array;
  scaleCodes?: Uint8Array;
  tensorScale: number;
  clipped: number;
  blockRows: number;
  blockCols: number;
}

/** Quantizes a matrix under a scheme, one element at a time. */
export function referenceQuantize(
  x: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
): ReferenceResult {
  const format = scheme.format;
  const rule = scheme.scaleRule ?? "absmax";
  const rounding = scheme.rounding ?? "nearest-even";
  const key = seedKey(scheme.seed ?? 0);
  const g = scheme.granularity;
  const blockRows = g === "tensor"
    ? rows
    : g === "block2d"
    ? (scheme.blockRows ?? scheme.blockSize ?? 16)
    : 1;
  const blockCols = g === "tensor" || g === "row" || g === "token" || g === "channel"
    ? cols
    : (scheme.blockSize ?? (g === "block" ? 32 : 16));
  const gRows = Math.ceil(rows / blockRows);
  const gCols = Math.ceil(cols / blockCols);
  const members: number[][] = [];
  for (let i = 0; i < gRows * gCols; i++) members.push([]);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      members[Math.floor(r / blockRows) * gCols + Math.floor(c / blockCols)].push(r * cols + c);
    }
  }
  const amax = members.map((list) => list.reduce((m, i) => Math.max(m, Math.abs(x[i])), 0));
  const max = format.maxNormal;
  const scales = new Float32Array(members.length);
  const encoders: number[] = [];
  let scaleCodes: Uint8Array | undefined;
  let tensorScale = 1;
  if (rule === "absmax") {
    amax.forEach((a, i) => {
      let s = a > 0 && Number.isFinite(a) ? Math.fround(a / max) : 1;
      if (s === 0) s = 1;
      scales[i] = s;
    });
  } else if (rule === "pow2-floor") {
    amax.forEach((a, i) => {
      if (!(a > 0 && Number.isFinite(a))) {
        scales[i] = 1;
        return;
      }
      const gamma = Math.fround(max / a);
      const e = Number.isFinite(gamma) ? Math.min(log2Floor(gamma), 127) : 127;
      scales[i] = 2 ** -e;
    });
  } else if (rule === "nvfp4") {
    const tAmax = Math.max(...amax);
    const FLT_MAX = 3.4028234663852886e38;
    tensorScale = tAmax === 0 ? 1 : Math.min(Math.fround(2688 / tAmax), FLT_MAX);
    scaleCodes = new Uint8Array(members.length);
    amax.forEach((a, i) => {
      const raw = Math.min(Math.fround(a * Math.fround(tensorScale * Math.fround(1 / 6))), 448);
      const r = referenceRound(Math.fround(raw), UE4M3, "nearest-even", 0);
      scaleCodes![i] = r.code;
      scales[i] = r.value;
      encoders[i] = Math.min(
        Math.fround(1 / Math.fround(r.value * Math.fround(1 / tensorScale))),
        FLT_MAX,
      );
    });
  } else {
    // emax_elem from the OCP MX table, not from the format object.
    const emax = ({ E2M1: 2, E2M3: 2, E3M2: 4, E4M3: 8, E5M2: 15 } as Record<string, number>)[
      format.name
    ];
    const m = format.mantissaBits;
    scaleCodes = new Uint8Array(members.length);
    amax.forEach((a, i) => {
      let code: number;
      if (a === Infinity) code = 255;
      else if (a === 0) code = 0;
      else {
        let e: number;
        if (rule === "e8m0-floor") e = log2Floor(a) - emax;
        else if (rule === "e8m0-ceil") {
          let c = log2Floor(a);
          if (2 ** c < a) c++;
          e = c - emax;
        } else if (rule === "e8m0-even") {
          const k = log2Floor(a);
          const ulp = 2 ** (k - m);
          const t = a / ulp;
          const fl = Math.floor(t);
          const rounded = (t - fl > 0.5 || (t - fl === 0.5 && fl % 2 === 1) ? fl + 1 : fl) * ulp;
          e = log2Floor(rounded) - emax;
        } else {
          e = log2Floor(a) - 40;
          while (max * 2 ** e < a) e++;
        }
        code = Math.max(-127, Math.min(127, e)) + 127;
      }
      scaleCodes![i] = code;
      scales[i] = code === 255 ? NaN : 2 ** (code - 127);
    });
  }
  const codes = new Uint8Array(rows * cols);
  const values = new Float32Array(rows * cols);
  let clipped = 0;
  members.forEach((list, gi) => {
    for (const i of list) {
      const s = scales[gi];
      if (Number.isNaN(s)) {
        codes[i] = 0;
        values[i] = NaN;
        continue;
      }
      let v: number;
      if (rule === "nvfp4") {
        v = Math.fround(x[i] * encoders[gi]);
        if (Math.abs(v) > max) {
          clipped++;
          v = Math.sign(v) * max;
        }
      } else {
        v = Math.fround(x[i] / s);
        if (Math.abs(v) > max) clipped++;
      }
      const q = referenceRound(v, format, rounding, uniformAt(key, i));
      codes[i] = q.code;
      values[i] = Math.fround(Math.fround(q.value * s) / tensorScale);
    }
  });
  return { codes, values, scales, scaleCodes, tensorScale, clipped, blockRows, blockCols };
}

/** Unpacks QuantizedTensor data to one code per element. */
export function unpackCodes(
  data: Uint8Array,
  rows: number,
  cols: number,
  bits: number,
): Uint8Array {
  const codes = new Uint8Array(rows * cols);
  const rowBytes = bits === 4 ? Math.ceil(cols / 2) : cols;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      codes[r * cols + c] = bits === 4
        ? (c % 2 === 0 ? data[r * rowBytes + c / 2] & 15 : data[r * rowBytes + (c - 1) / 2] >> 4)
        : data[r * rowBytes + c];
    }
  }
  return codes;
}

/** Seeded test data: magnitudes over many binades, signs, zeros, and grid ties. */
export function testMatrix(rows: number, cols: number, seed: number): Float32Array {
  const key = seedKey(seed);
  const x = new Float32Array(rows * cols);
  for (let i = 0; i < x.length; i++) {
    const u = uniformAt(key, 3 * i);
    const kind = uniformAt(key, 3 * i + 1);
    const sign = uniformAt(key, 3 * i + 2) < 0.5 ? -1 : 1;
    if (kind < 0.05) x[i] = sign * 0;
    else if (kind < 0.25) x[i] = sign * (Math.floor(u * 64) / 4); // lands on E2M1 ties under 2^k scales
    else x[i] = sign * Math.exp((u - 0.5) * 12);
  }
  return x;
}
