// The one pass shared by quantizeTensor and fakeQuant: scale a chunk of rows into a scratch buffer
// (f32 arithmetic), round it with @fp4lab/fp4-format's quantize, then either turn the rounded
// values into codes or multiply them back. Sharing it makes fakeQuant bit-identical to
// dequantize(quantizeTensor(...)).
import { quantize, type QuantizeOptions } from "@fp4lab/fp4-format";
import type { ResolvedScheme } from "./_resolve.ts";
import type { GroupScales } from "./_scales.ts";
import { gridCodeLookup } from "./_codes.ts";

/** Elements per chunk: large enough to amortise calls, small enough to stay in L1/L2. */
const CHUNK = 8192;

/** Where the rounded chunk goes: codes into `data`, or dequantized values into `out`. */
export interface Sink {
  readonly data?: Uint8Array;
  readonly out?: Float32Array;
}

/**
 * Rounds every element of the rows × cols matrix `values` onto its group's grid and writes codes
 * or dequantized values. Returns how many elements saturated (|x / scale| > maxNormal).
 */
export function runQuantization(
  values: Float32Array,
  rows: number,
  cols: number,
  plan: ResolvedScheme,
  group: GroupScales,
  sink: Sink,
): number {
  const { format, blockRows, blockCols, groupCols } = plan;
  const { encoders, scales, tensorScale } = group;
  // Power-of-two scales (pow2-floor, E8M0) divide exactly by multiplying with 1/X, also exact;
  // the product and the quotient are the same correctly rounded f32, and a product is cheaper.
  const reciprocal = !group.multiply && plan.scaleRule !== "absmax";
  const multiply = group.multiply || reciprocal;
  const clamp = group.multiply;
  const max = format.maxNormal;
  const chunkRows = Math.max(1, Math.floor(CHUNK / cols));
  const scratch = new Float32Array(chunkRows * cols);
  const scratchBits = new Uint32Array(scratch.buffer);
  const nibbles = format.bits === 4;
  const lookup = sink.data ? gridCodeLookup(format) : undefined;
  const shift = 23 - format.mantissaBits;
  const rowBytes = nibbles ? (cols + 1) >> 1 : cols;
  const options: QuantizeOptions = { rounding: plan.rounding, seed: plan.seed, offset: 0 };
  let clipped = 0;
  for (let r0 = 0; r0 < rows; r0 += chunkRows) {
    const nr = Math.min(chunkRows, rows - r0);
    const n = nr * cols;
    const view = n === scratch.length ? scratch : scratch.subarray(0, n);
    for (let r = 0; r < nr; r++) {
      const gBase = Math.floor((r0 + r) / blockRows) * groupCols;
      const xBase = (r0 + r) * cols;
      const sBase = r * cols - xBase;
      for (let gc = 0, c0 = 0; c0 < cols; gc++, c0 += blockCols) {
        const c1 = xBase + Math.min(cols, c0 + blockCols);
        const enc = encoders[gBase + gc];
        if (enc !== enc) {
          // E8M0 0xFF group: codes 0, and the NaN scale makes it read back as NaN.
          view.fill(0, sBase + xBase + c0, sBase + c1);
          continue;
        }
        if (clamp) {
          // NVFP4: q = RNE(clamp(x · enc_b, ±maxNormal)).
          for (let i = xBase + c0; i < c1; i++) {
            let v = Math.fround(values[i] * enc);
            if (v > max) {
              v = max;
              clipped++;
            } else if (v < -max) {
              v = -max;
              clipped++;
            }
            view[sBase + i] = v;
          }
        } else if (multiply) {
          const inv = 1 / enc;
          for (let i = xBase + c0; i < c1; i++) {
            const v = Math.fround(values[i] * inv);
            if (v > max || v < -max) clipped++;
            view[sBase + i] = v;
          }
        } else {
          for (let i = xBase + c0; i < c1; i++) {
            const v = Math.fround(values[i] / enc);
            if (v > max || v < -max) clipped++;
            view[sBase + i] = v;
          }
        }
      }
    }
    options.offset = r0 * cols;
    options.out = view;
    quantize(view, format, options);
    if (sink.data) {
      const data = sink.data;
      const table = lookup!;
      if (!nibbles) {
        for (let i = 0, o = r0 * cols; i < n; i++) data[o + i] = table[scratchBits[i] >>> shift];
      } else {
        for (let r = 0; r < nr; r++) {
          const s = r * cols;
          const o = (r0 + r) * rowBytes;
          const pairs = cols >> 1;
          for (let j = 0; j < pairs; j++) {
            data[o + j] = table[scratchBits[s + 2 * j] >>> shift] |
              (table[scratchBits[s + 2 * j + 1] >>> shift] << 4);
          }
          if (cols & 1) data[o + pairs] = table[scratchBits[s + cols - 1] >>> shift];
        }
      }
    }
    if (sink.out) {
      const out = sink.out;
      for (let r = 0; r < nr; r++) {
        const gBase = Math.floor((r0 + r) / blockRows) * groupCols;
        const xBase = (r0 + r) * cols;
        const sBase = r * cols - xBase;
        for (let gc = 0, c0 = 0; c0 < cols; gc++, c0 += blockCols) {
          const c1 = xBase + Math.min(cols, c0 + blockCols);
          const s = scales[gBase + gc];
          if (tensorScale === 1) {
            for (let i = xBase + c0; i < c1; i++) out[i] = view[sBase + i] * s;
          } else {
            for (let i = xBase + c0; i < c1; i++) {
              out[i] = Math.fround(view[sBase + i] * s) / tensorScale;
            }
          }
        }
      }
    }
  }
  return clipped;
}
