/**
 * Rounds one GEMM operand as a recipe's {@link OperandSpec} says, and measures what rounding did
 * (SPEC.md 17: per-row crest factor max|a|/rms(a), fraction flushed to zero).
 *
 * @module
 */
import { parseFormat, quantize } from "@fp4lab/fp4-format";
import { dequantize, fakeQuant, quantizeTensor, type QuantScheme } from "@fp4lab/quant-granularity";
import type { OperandSpec } from "./recipe.ts";

/** Early-warning statistics of one quantized GEMM input. */
export interface OperandStats {
  /** mean over rows of max|a| / rms(a) */
  crestMean: number;
  /** max over rows of max|a| / rms(a) */
  crestMax: number;
  /** fraction of entries that were non-zero and became zero */
  zeroFraction: number;
}

/**
 * True when the spec leaves values untouched (f32), so the source can be used as is.
 *
 * @param spec operand spec
 * @returns whether rounding is a no-op
 * @example
 * ```ts
 * import { isIdentity } from "./operand.ts";
 * console.log(isIdentity({ format: "fp32" })); // true
 * ```
 */
export function isIdentity(spec: OperandSpec): boolean {
  return spec.format === "fp32";
}

/**
 * Writes `values` [rows, cols] rounded per `spec` into `out`.
 *
 * @param values source, rows with the contraction axis contiguous
 * @param rows row count
 * @param cols row length
 * @param spec the recipe's operand spec
 * @param out output buffer (not aliasing `values`)
 * @param seed stochastic-rounding seed (used only when the spec asks for it)
 * @param scaledOut optional: receives the values in grid units (for DGE)
 * @returns `out`
 * @example
 * ```ts
 * import { quantizeOperand } from "./operand.ts";
 * const out = quantizeOperand(new Float32Array([1, 3, 0.2, 12]), 2, 2,
 *   { format: "E2M1", granularity: "row" }, new Float32Array(4), 0);
 * console.log(out); // [1, 3, 0, 12]
 * ```
 */
export function quantizeOperand(
  values: Float32Array,
  rows: number,
  cols: number,
  spec: OperandSpec,
  out: Float32Array,
  seed: number,
  scaledOut?: Float32Array,
): Float32Array {
  const n = rows * cols;
  if (spec.format === "fp32") {
    out.set(values.subarray(0, n));
    if (scaledOut) scaledOut.set(values.subarray(0, n));
    return out;
  }
  const format = parseFormat(spec.format);
  const granularity = spec.granularity ?? "none";
  if (granularity === "none") {
    quantize(values.subarray(0, n), format, {
      out: out.subarray(0, n),
      rounding: spec.rounding ?? "nearest-even",
      seed,
    });
    if (scaledOut) scaledOut.set(values.subarray(0, n));
    return out;
  }
  const scheme: QuantScheme = {
    format,
    granularity,
    blockSize: spec.blockSize,
    scaleRule: spec.scaleRule,
    rounding: spec.rounding,
    seed,
  };
  const src = values.length === n ? values : values.subarray(0, n);
  const dst = out.length === n ? out : out.subarray(0, n);
  if (!scaledOut) {
    fakeQuant(src, rows, cols, scheme, dst);
    return out;
  }
  // DGE needs the weights in grid units: x · tensorScale / (the group's scale).
  const q = quantizeTensor(src, rows, cols, scheme);
  dequantize(q, dst);
  const groupCols = Math.ceil(cols / q.blockCols);
  for (let r = 0; r < rows; r++) {
    const g0 = Math.floor(r / q.blockRows) * groupCols;
    for (let c = 0; c < cols; c++) {
      const scale = q.scales[g0 + Math.floor(c / q.blockCols)];
      const i = r * cols + c;
      scaledOut[i] = scale > 0 ? (values[i] * q.tensorScale) / scale : 0;
    }
  }
  return out;
}

/**
 * Measures an operand before and after rounding.
 *
 * @param values source [rows, cols]
 * @param rounded rounded copy
 * @param rows row count
 * @param cols row length
 * @returns crest factors and the zero-flushed fraction
 * @example
 * ```ts
 * import { operandStats } from "./operand.ts";
 * const s = operandStats(new Float32Array([1, 1, 0.1, 4]), new Float32Array([1, 1, 0, 4]), 1, 4);
 * console.log(s.zeroFraction); // 0.25
 * ```
 */
export function operandStats(
  values: Float32Array,
  rounded: Float32Array,
  rows: number,
  cols: number,
): OperandStats {
  let crestSum = 0, crestMax = 0, zeros = 0;
  for (let r = 0; r < rows; r++) {
    let max = 0, ss = 0;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, v = values[i];
      const a = Math.abs(v);
      if (a > max) max = a;
      ss += v * v;
      if (v !== 0 && rounded[i] === 0) zeros++;
    }
    const rms = Math.sqrt(ss / cols);
    const crest = rms > 0 ? max / rms : 0;
    crestSum += crest;
    if (crest > crestMax) crestMax = crest;
  }
  return { crestMean: crestSum / rows, crestMax, zeroFraction: zeros / (rows * cols) };
}
