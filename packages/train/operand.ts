/**
 * Rounds one GEMM operand as a recipe's {@link OperandSpec} says, and measures what rounding did
 * (per-row crest factor max|a|/rms(a), fraction flushed to zero).
 *
 * @module
 */
import { parseFormat, quantize } from "@fp4lab/fp4-format";
import {
  dequantize,
  fakeQuant,
  type QuantizedTensor,
  quantizeTensor,
  type QuantScheme,
} from "@fp4lab/quant-granularity";
import type { OperandSpec } from "./recipe.ts";
import type { OperandStats } from "./backend.ts";

/**
 * True when the spec leaves values untouched (f32), so the source can be used as is.
 *
 * @param spec operand spec
 * @returns whether rounding is a no-op
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isIdentity } from "./operand.ts";
 * assert.equal(isIdentity({ format: "fp32" }), true);
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
 * import assert from "node:assert/strict";
 * import { quantizeOperand } from "./operand.ts";
 * const out = quantizeOperand(new Float32Array([1, 3, 0.2, 12]), 2, 2,
 *   { format: "E2M1", granularity: "row" }, new Float32Array(4), 0);
 * assert.deepEqual(Array.from(out), [1, 3, 0, 12]);
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
  const granularity = spec.granularity ?? "none";
  if (granularity === "none") {
    quantize(values.subarray(0, n), parseFormat(spec.format), {
      out: out.subarray(0, n),
      rounding: spec.rounding ?? "nearest-even",
      seed,
    });
    if (scaledOut) scaledOut.set(values.subarray(0, n));
    return out;
  }
  const src = values.length === n ? values : values.subarray(0, n);
  const dst = out.length === n ? out : out.subarray(0, n);
  if (!scaledOut) {
    fakeQuant(src, rows, cols, schemeOf(spec, granularity, seed), dst);
    return out;
  }
  quantizeOperandTensor(values, rows, cols, spec, out, seed, scaledOut);
  return out;
}

/**
 * Quantizes `values` [rows, cols] per `spec` into a `QuantizedTensor` (codes and scales) for the
 * exact FP4 GEMM, and writes its dequantized values to `out` (and grid units to `scaledOut`).
 *
 * @param values source, rows with the contraction axis contiguous
 * @param rows row count
 * @param cols row length
 * @param spec a scaled operand spec (not `"fp32"`, not granularity `"none"`)
 * @param out receives the dequantized values
 * @param seed stochastic-rounding seed
 * @param scaledOut optional: receives the values in grid units (for DGE)
 * @returns the quantized tensor
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantizeOperandTensor } from "./operand.ts";
 * const out = new Float32Array(4);
 * const q = quantizeOperandTensor(new Float32Array([1, 3, 0.2, 12]), 2, 2,
 *   { format: "E2M1", granularity: "row" }, out, 0);
 * assert.deepEqual(Array.from(q.scales), [0.5, 2]);
 * assert.deepEqual(Array.from(out), [1, 3, 0, 12]);
 * ```
 */
export function quantizeOperandTensor(
  values: Float32Array,
  rows: number,
  cols: number,
  spec: OperandSpec,
  out: Float32Array,
  seed: number,
  scaledOut?: Float32Array,
): QuantizedTensor {
  const n = rows * cols;
  const granularity = spec.granularity ?? "none";
  if (spec.format === "fp32" || granularity === "none") {
    throw new RangeError(
      `quantizeOperandTensor needs a scaled format, got ${JSON.stringify(spec)}`,
    );
  }
  const src = values.length === n ? values : values.subarray(0, n);
  const q = quantizeTensor(src, rows, cols, schemeOf(spec, granularity, seed));
  dequantize(q, out.length === n ? out : out.subarray(0, n));
  if (scaledOut) gridUnits(values, rows, cols, q, scaledOut);
  return q;
}

function schemeOf(
  spec: OperandSpec,
  granularity: Exclude<OperandSpec["granularity"], "none" | undefined>,
  seed: number,
): QuantScheme {
  return {
    format: parseFormat(spec.format),
    granularity,
    blockSize: spec.blockSize,
    scaleRule: spec.scaleRule,
    rounding: spec.rounding,
    seed,
  };
}

// DGE evaluates its factor on the weights in grid units: x · tensorScale / (the group's scale).
function gridUnits(
  values: Float32Array,
  rows: number,
  cols: number,
  q: QuantizedTensor,
  scaledOut: Float32Array,
): void {
  const groupCols = Math.ceil(cols / q.blockCols);
  for (let r = 0; r < rows; r++) {
    const g0 = Math.floor(r / q.blockRows) * groupCols;
    for (let c = 0; c < cols; c++) {
      const scale = q.scales[g0 + Math.floor(c / q.blockCols)];
      const i = r * cols + c;
      scaledOut[i] = scale > 0 ? (values[i] * q.tensorScale) / scale : 0;
    }
  }
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
 * import assert from "node:assert/strict";
 * import { operandStats } from "./operand.ts";
 * const s = operandStats(new Float32Array([1, 1, 0.1, 4]), new Float32Array([1, 1, 0, 4]), 1, 4);
 * assert.equal(s.zeroFraction, 0.25);
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
