// Per-token absmax fake quantization, the FP4 paper's activation quantizer. It stands in for
// @fp4lab/quant-granularity's fakeQuant (not yet on main) and rounds with fp4-format's quantize.
import { type FloatFormat, quantize, type Rounding } from "@fp4lab/fp4-format";

/**
 * out[r] = Q(values[r] · γ_r) / γ_r with γ_r = maxNormal / absmax of row r (the scale falls back
 * to 1 when absmax is 0 or γ is not finite, as the paper's code does).
 */
export function fakeQuantRows(
  values: Float32Array,
  rows: number,
  cols: number,
  format: FloatFormat,
  rounding: Rounding,
  out: Float32Array,
): Float32Array {
  for (let r = 0; r < rows; r++) {
    const row = values.subarray(r * cols, (r + 1) * cols);
    let absmax = 0;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(row[c]);
      if (a > absmax) absmax = a;
    }
    let gamma = format.maxNormal / absmax;
    if (!Number.isFinite(gamma) || !Number.isFinite(Math.fround(gamma)) || gamma === 0) gamma = 1;
    quantize(row, format, { scale: gamma, rounding, out: out.subarray(r * cols, (r + 1) * cols) });
  }
  return out;
}
