/**
 * TEMPORARY STAND-IN for `@fp4lab/quant-granularity`'s `fakeQuant` (helper branch `quant`):
 * a minimal private version with the same meaning, used until that package lands on main, then
 * deleted. Rounding itself is `@fp4lab/fp4-format`'s `quantize`; only the scale bookkeeping is here.
 *
 * @module
 */
import { E4M3, type FloatFormat, floorLog2, quantize } from "@fp4lab/fp4-format";

/** A scaling scheme, shaped like quant-granularity's scheme objects. */
export interface StandinScheme {
  /** element format */
  format: FloatFormat;
  /** scale group shape */
  granularity: "tensor" | "row" | "block" | "block2d";
  /** 1-D block length, or the 2-D tile side */
  blockSize?: number;
  /** how a group's scale is chosen */
  scaleRule?: "absmax" | "e8m0-floor" | "nvfp4";
  /** element rounding */
  rounding?: "nearest-even" | "stochastic";
  /** stochastic rounding seed */
  seed?: number;
}

/**
 * Fake-quantizes `values` [rows, cols] (cols contiguous): each scale group gets a scale from
 * its absmax, elements are rounded to `format` in scaled units and scaled back.
 *
 * @param values input
 * @param rows row count
 * @param cols row length (the contraction axis)
 * @param scheme format, granularity, scale rule, rounding
 * @param out output (may not alias `values`)
 * @param scaledOut optional: receives the values in grid units (before rounding), for DGE
 * @returns `out`
 * @example
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { fakeQuant } from "./quant.ts";
 * const out = fakeQuant(new Float32Array([1, 3, 0.2, 12]), 2, 2, { format: E2M1, granularity: "row" },
 *   new Float32Array(4));
 * console.log(out); // [1, 3, 0, 12]
 * ```
 */
export function fakeQuant(
  values: Float32Array,
  rows: number,
  cols: number,
  scheme: StandinScheme,
  out: Float32Array,
  scaledOut?: Float32Array,
): Float32Array {
  const { format } = scheme;
  const rule = scheme.scaleRule ?? "absmax";
  const [br, bc] = scheme.granularity === "tensor"
    ? [rows, cols]
    : scheme.granularity === "row"
    ? [1, cols]
    : scheme.granularity === "block"
    ? [1, scheme.blockSize ?? 32]
    : [scheme.blockSize ?? 16, scheme.blockSize ?? 16];
  const gRows = Math.ceil(rows / br), gCols = Math.ceil(cols / bc);
  const amax = new Float32Array(gRows * gCols);
  let tensorAmax = 0;
  for (let r = 0; r < rows; r++) {
    const gr = Math.floor(r / br) * gCols;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(values[r * cols + c]);
      const g = gr + Math.floor(c / bc);
      if (a > amax[g]) amax[g] = a;
      if (a > tensorAmax) tensorAmax = a;
    }
  }
  // enc multiplies a value into grid units; dec multiplies it back (NVFP4 divides by sEnc last).
  const enc = new Float32Array(amax.length), dec = new Float32Array(amax.length);
  let sEnc = 1;
  if (rule === "nvfp4") {
    sEnc = tensorAmax > 0
      ? Math.min(Math.fround((448 * 6) / tensorAmax), 3.4028234663852886e38)
      : 1;
    const k = Math.fround(sEnc * Math.fround(1 / 6));
    for (let g = 0; g < amax.length; g++) dec[g] = Math.min(Math.fround(amax[g] * k), 448);
    quantize(dec, E4M3, { out: dec });
    const invS = Math.fround(1 / sEnc);
    for (let g = 0; g < amax.length; g++) {
      enc[g] = Math.min(Math.fround(1 / Math.fround(dec[g] * invS)), 3.4028234663852886e38);
    }
  } else {
    for (let g = 0; g < amax.length; g++) {
      let scale: number;
      if (amax[g] === 0 || !Number.isFinite(amax[g])) scale = 1;
      else if (rule === "e8m0-floor") {
        scale = 2 ** Math.max(-127, Math.min(127, floorLog2(amax[g]) - format.emax));
      } else scale = Math.fround(amax[g] / format.maxNormal);
      dec[g] = scale;
      enc[g] = scale; // divided by below, to keep x / scale as the convention writes it
    }
  }
  for (let r = 0; r < rows; r++) {
    const gr = Math.floor(r / br) * gCols;
    for (let c = 0; c < cols; c++) {
      const g = gr + Math.floor(c / bc), i = r * cols + c;
      if (rule === "nvfp4") {
        const v = Math.fround(values[i] * enc[g]);
        out[i] = v > 6 ? 6 : v < -6 ? -6 : v;
      } else out[i] = values[i] / enc[g];
    }
  }
  if (scaledOut) scaledOut.set(out.subarray(0, rows * cols));
  quantize(out.subarray(0, rows * cols), format, {
    out: out.subarray(0, rows * cols),
    rounding: scheme.rounding ?? "nearest-even",
    seed: scheme.seed ?? 0,
  });
  for (let r = 0; r < rows; r++) {
    const gr = Math.floor(r / br) * gCols;
    for (let c = 0; c < cols; c++) {
      const g = gr + Math.floor(c / bc), i = r * cols + c;
      out[i] = rule === "nvfp4" ? Math.fround(out[i] * dec[g]) / sEnc : out[i] * dec[g];
    }
  }
  return out;
}
