// Group absmax and the scale rules. Private: the public entry points are quantizeTensor and
// fakeQuant, which share this code so that their results are bit-identical.
import { codeTable, floorLog2, quantize, UE4M3 } from "@fp4lab/fp4-format";
import type { ResolvedScheme } from "./_resolve.ts";
import { gridCodeLookup } from "./_codes.ts";

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** floor(log2 v) for a positive finite f32 value, read from its exponent field. */
function floorLog2F32(v: number): number {
  f32[0] = v;
  const field = (f32Bits[0] >>> 23) & 255;
  return field !== 0 ? field - 127 : floorLog2(v);
}

/** Largest finite f32. */
export const FLT_MAX = 3.4028234663852886e38;

/** The scales of every group, and how elements are brought to the grid. */
export interface GroupScales {
  /** Dequantization multiplier per group (NaN for an E8M0 0xFF group). */
  readonly scales: Float32Array;
  /**
   * Per group, the f32 number elements are divided by (`multiply` false) or multiplied by
   * (`multiply` true, NVFP4's enc_b) before rounding. NaN marks a group that reads back as NaN.
   */
  readonly encoders: Float32Array;
  readonly multiply: boolean;
  readonly tensorScale: number;
  readonly scaleCodes?: Uint8Array;
}

/**
 * The absmax of every group, row-major over [groupRows, groupCols]. Throws a RangeError naming the
 * row and column of the first NaN, since a NaN has no meaningful scale.
 */
export function groupAmax(
  values: Float32Array,
  rows: number,
  cols: number,
  plan: ResolvedScheme,
  out?: Float32Array,
  name = "values",
): Float32Array {
  const { blockRows, blockCols, groupCols } = plan;
  const amax = out ?? new Float32Array(plan.groupRows * groupCols);
  if (out && blockRows !== 1) out.fill(0);
  // Work on the bit patterns: for non-negative floats, integer order is numeric order, and
  // |x| is the pattern without its sign bit. Anything above +Inf's pattern is a NaN.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const amaxBits = new Uint32Array(amax.buffer, amax.byteOffset, amax.length);
  for (let r = 0; r < rows; r++) {
    const gBase = Math.floor(r / blockRows) * groupCols;
    const xBase = r * cols;
    for (let gc = 0, c0 = 0; c0 < cols; gc++, c0 += blockCols) {
      const c1 = xBase + Math.min(cols, c0 + blockCols);
      // Groups one row high start from 0; taller groups carry the rows above.
      let m = blockRows === 1 ? 0 : amaxBits[gBase + gc];
      for (let i = xBase + c0; i < c1; i++) {
        const a = bits[i] & 0x7fffffff;
        if (a > m) m = a;
      }
      if (m > 0x7f800000) {
        for (let i = xBase + c0; i < c1; i++) {
          if ((bits[i] & 0x7fffffff) > 0x7f800000) throw nanError(name, r, i - xBase);
        }
      }
      amaxBits[gBase + gc] = m;
    }
  }
  return amax;
}

function nanError(name: string, row: number, col: number): RangeError {
  return new RangeError(
    `${name} has NaN at row ${row} (column ${col}); quantization needs numbers (finite or ±Inf)`,
  );
}

/** 2^(b − 127) for every E8M0 byte b (0xFF: NaN). */
const E8M0_VALUES = (() => {
  const t = new Float32Array(256);
  for (let b = 0; b < 255; b++) t[b] = 2 ** (b - 127);
  t[255] = NaN;
  return t;
})();

/** Optional caller-owned buffers for the scales, so repeated calls need not allocate. */
export interface ScaleBuffers {
  readonly scaleCodes?: Uint8Array;
  readonly spare?: Float32Array;
}

/**
 * Computes every group's scale from its amax under `plan.scaleRule`. Overwrites `amax`: for every
 * rule but NVFP4 it becomes the scales (which are also the encoders); for NVFP4 it becomes enc_b.
 */
export function computeScales(
  amax: Float32Array,
  plan: ResolvedScheme,
  values: Float32Array,
  cols: number,
  buffers: ScaleBuffers = {},
  name = "values",
): GroupScales {
  const n = amax.length;
  const maxNormal = plan.format.maxNormal;
  switch (plan.scaleRule) {
    case "absmax":
      for (let g = 0; g < n; g++) {
        const a = amax[g];
        // The paper's fallback: an all-zero or non-finite group gets scale 1. A scale that
        // underflows f32 (amax below maxNormal · 2^-150) would divide by zero: scale 1 too.
        let s = a > 0 && a < Infinity ? Math.fround(a / maxNormal) : 1;
        if (s === 0) s = 1;
        amax[g] = s;
      }
      return { scales: amax, encoders: amax, multiply: false, tensorScale: 1 };
    case "pow2-floor":
      for (let g = 0; g < n; g++) {
        const a = amax[g];
        let s = 1;
        if (a > 0 && a < Infinity) {
          // γ = maxNormal / amax in f32, floored to 2^e; the dequantization multiplier is 2^-e.
          const gamma = Math.fround(maxNormal / a);
          const e = gamma === Infinity ? 127 : Math.min(floorLog2F32(gamma), 127);
          s = E8M0_VALUES[127 - e];
        }
        amax[g] = s;
      }
      return { scales: amax, encoders: amax, multiply: false, tensorScale: 1 };
    case "nvfp4":
      return nvfp4Scales(amax, plan, values, cols, buffers, name);
    default:
      return e8m0Scales(amax, plan, buffers);
  }
}

/** The unbiased E8M0 exponent of a finite amax > 0 under one of the MX rules, before clamping. */
export function e8m0Exponent(
  amax: number,
  rule: string,
  emax: number,
  mantissaBits: number,
  maxNormal: number,
): number {
  const k = floorLog2F32(amax);
  switch (rule) {
    case "e8m0-floor":
      return k - emax;
    case "e8m0-ceil":
      return (amax === 2 ** k ? k : k + 1) - emax;
    case "e8m0-even": {
      // amax rounded to `mantissaBits` bits moves up a binade iff its significand is at least
      // 2 − 2^-(m+1); at that exact tie nearest-even rounds up too (the lower neighbour is odd).
      const significand = amax / 2 ** k;
      return (significand >= 2 - 2 ** -(mantissaBits + 1) ? k + 1 : k) - emax;
    }
    default: {
      // rceil: the smallest e with amax <= maxNormal · 2^e, in exact f64 arithmetic.
      let e = k - floorLog2(maxNormal) - 1;
      while (maxNormal * 2 ** e < amax) e++;
      return e;
    }
  }
}

function e8m0Scales(amax: Float32Array, plan: ResolvedScheme, buffers: ScaleBuffers): GroupScales {
  const n = amax.length;
  const scaleCodes = buffers.scaleCodes ?? new Uint8Array(n);
  const { emax, mantissaBits, maxNormal } = plan.format;
  const rule = plan.scaleRule;
  const bits = new Uint32Array(amax.buffer, amax.byteOffset, n);
  const floorRule = rule === "e8m0-floor";
  for (let g = 0; g < n; g++) {
    const a = amax[g];
    let code: number;
    if (a === Infinity) {
      code = 0xff; // a block holding ±Inf reads back as NaN (OCP MX)
    } else if (a === 0) {
      code = 0; // all-zero block: the smallest scale (torchao)
    } else {
      const field = bits[g] >>> 23;
      // The common case (OCP floor, normal amax) straight from the exponent field.
      const e = floorRule && field !== 0
        ? field - 127 - emax
        : e8m0Exponent(a, rule, emax, mantissaBits, maxNormal);
      code = e < -127 ? 0 : e > 127 ? 254 : e + 127;
    }
    scaleCodes[g] = code;
    amax[g] = E8M0_VALUES[code];
  }
  return { scales: amax, encoders: amax, multiply: false, tensorScale: 1, scaleCodes };
}

/**
 * NVFP4 in TransformerEngine's reference f32 operation order (the order changes bits: keep it):
 * s_enc = 448·maxNormal/amax_tensor (1 for amax 0, at most FLT_MAX);
 * sd_b = UE4M3_RNE(min(amax_b · (s_enc · f32(1/maxNormal)), 448));
 * enc_b = min(1 / (f32(sd_b) · (1/s_enc)), FLT_MAX). Every product and quotient is rounded to f32.
 */
function nvfp4Scales(
  amax: Float32Array,
  plan: ResolvedScheme,
  values: Float32Array,
  cols: number,
  buffers: ScaleBuffers,
  name: string,
): GroupScales {
  const n = amax.length;
  const maxNormal = plan.format.maxNormal;
  let tensorAmax = 0;
  for (let g = 0; g < n; g++) if (amax[g] > tensorAmax) tensorAmax = amax[g];
  if (tensorAmax === Infinity) {
    const i = values.findIndex((v) => !Number.isFinite(v));
    throw new RangeError(
      `${name} has ${values[i]} at row ${Math.floor(i / cols)} (column ${
        i % cols
      }); NVFP4 needs a finite tensor amax`,
    );
  }
  const sEnc = tensorAmax === 0
    ? 1
    : Math.min(Math.fround(Math.fround(448 * maxNormal) / tensorAmax), FLT_MAX);
  const sDecTensor = Math.fround(1 / sEnc);
  const perAmax = Math.fround(sEnc * Math.fround(1 / maxNormal));
  for (let g = 0; g < n; g++) amax[g] = Math.min(Math.fround(amax[g] * perAmax), 448);
  // UE4M3 round-to-nearest-even with saturation: fp4-format's quantize, then the code of each
  // rounded value (what encodeUE4M3 does, without its per-element bit decoding).
  quantize(amax, UE4M3, { out: amax });
  const lookup = gridCodeLookup(UE4M3);
  const ue4m3Values = codeTable(UE4M3);
  const rawBits = new Uint32Array(amax.buffer, amax.byteOffset, n);
  const scaleCodes = buffers.scaleCodes ?? new Uint8Array(n);
  const scales = buffers.spare ?? new Float32Array(n);
  for (let g = 0; g < n; g++) {
    const code = lookup[rawBits[g] >>> 20];
    scaleCodes[g] = code;
    const sd = ue4m3Values[code];
    scales[g] = sd;
    amax[g] = Math.min(Math.fround(1 / Math.fround(sd * sDecTensor)), FLT_MAX);
  }
  return { scales, encoders: amax, multiply: true, tensorScale: sEnc, scaleCodes };
}
