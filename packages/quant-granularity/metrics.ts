/**
 * Error metrics of a quantization, and a table comparing schemes on one tensor.
 *
 * @module
 */
import { checkMatrix } from "./_resolve.ts";
import { dequantize } from "./dequantize.ts";
import { quantizeTensor } from "./quantize_tensor.ts";
import type { QuantScheme } from "./types.ts";

/** What {@link errorMetrics} measures. */
export interface ErrorMetrics {
  /** Number of elements compared. */
  count: number;
  /** Mean squared error. */
  mse: number;
  /** Signal-to-quantization-noise ratio in dB: 10·log10(Σx² / Σ(x − x̂)²); +Inf for no error. */
  sqnrDb: number;
  /** Cosine similarity of the two vectors (1 when both are zero). */
  cosine: number;
  /** Largest |x − x̂|. */
  maxAbsError: number;
  /** Fraction of elements that saturated (from `options.clipped`; NaN when not given). */
  clippedFraction: number;
  /** Fraction of elements that are non-zero in the reference and exactly zero after quantization. */
  zeroFlushedFraction: number;
}

/**
 * Compares a reference with its quantized approximation, accumulating in f64.
 *
 * @param reference the original values
 * @param approx the dequantized values, same length
 * @param options `clipped`: how many elements saturated (e.g. `QuantizedTensor.clipped`)
 * @returns MSE, SQNR (dB), cosine, max abs error, clipped and zero-flushed fractions
 * @throws {RangeError} when the lengths differ or are 0, or a value is NaN
 *
 * @example
 * ```ts
 * import { errorMetrics } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const m = errorMetrics(new Float32Array([1, 2, 0.1]), new Float32Array([1, 2, 0]));
 * assert.equal(m.maxAbsError.toFixed(3), "0.100");
 * assert.equal(m.zeroFlushedFraction.toFixed(3), "0.333"); // one value of three flushed to zero
 * ```
 */
export function errorMetrics(
  reference: ArrayLike<number>,
  approx: ArrayLike<number>,
  options: { clipped?: number } = {},
): ErrorMetrics {
  const n = reference.length;
  if (approx.length !== n) {
    throw new RangeError(`approx must have the reference's length ${n}, got ${approx.length}`);
  }
  if (n === 0) throw new RangeError("reference must not be empty");
  let signal = 0;
  let noise = 0;
  let approxEnergy = 0;
  let dot = 0;
  let maxAbs = 0;
  let flushed = 0;
  for (let i = 0; i < n; i++) {
    const x = reference[i];
    const y = approx[i];
    if (x !== x || y !== y) {
      throw new RangeError(`${x !== x ? "reference" : "approx"}[${i}] is NaN`);
    }
    const d = x - y;
    signal += x * x;
    noise += d * d;
    approxEnergy += y * y;
    dot += x * y;
    const a = Math.abs(d);
    if (a > maxAbs) maxAbs = a;
    if (y === 0 && x !== 0) flushed++;
  }
  const clipped = options.clipped;
  return {
    count: n,
    mse: noise / n,
    sqnrDb: noise === 0 ? Infinity : 10 * Math.log10(signal / noise),
    cosine: signal === 0 || approxEnergy === 0
      ? (signal === approxEnergy ? 1 : 0)
      : dot / Math.sqrt(signal * approxEnergy),
    maxAbsError: maxAbs,
    clippedFraction: clipped === undefined ? NaN : clipped / n,
    zeroFlushedFraction: flushed / n,
  };
}

/** One row of {@link compareSchemes}: the scheme's name and its metrics. */
export interface ErrorTableRow extends ErrorMetrics {
  /** The scheme's name. */
  scheme: string;
}

/**
 * Quantizes one rows × cols matrix under each scheme and measures the error of each.
 *
 * @param values the matrix (activations as [tokens, K], weights as [out, K])
 * @param rows number of rows
 * @param cols number of columns (K)
 * @param schemes the schemes to compare (names from each scheme, or the record's keys)
 * @returns one row per scheme, in the given order
 * @throws {RangeError} as {@link quantizeTensor} does
 *
 * @example
 * ```ts
 * import { compareSchemes, FP4_PAPER_ACT, MXFP4 } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const x = new Float32Array(64 * 64).map((_, i) => Math.sin(i) * (1 + (i % 64)));
 * const table = compareSchemes(x, 64, 64, [FP4_PAPER_ACT, MXFP4]);
 * assert.deepEqual(table.map((row) => row.scheme), ["fp4-paper-act", "mxfp4"]);
 * ```
 */
export function compareSchemes(
  values: Float32Array,
  rows: number,
  cols: number,
  schemes: readonly QuantScheme[] | Readonly<Record<string, QuantScheme>>,
): ErrorTableRow[] {
  checkMatrix(values, rows, cols);
  const entries: [string | undefined, QuantScheme][] = Array.isArray(schemes)
    ? schemes.map((s) => [undefined, s])
    : Object.entries(schemes);
  const out = new Float32Array(values.length);
  return entries.map(([key, scheme]) => {
    const q = quantizeTensor(values, rows, cols, scheme);
    dequantize(q, out);
    return { scheme: key ?? q.scheme, ...errorMetrics(values, out, { clipped: q.clipped }) };
  });
}

/**
 * Formats {@link compareSchemes} rows as a Markdown table: MSE, SQNR (dB), cosine, max abs error,
 * clipped % and zero-flushed %.
 *
 * @param rows the table rows
 * @returns the table, one line per scheme after the header
 *
 * @example
 * ```ts
 * import { compareSchemes, FP4_PAPER_ACT, formatErrorTable } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const x = new Float32Array([1, -2, 3, 0.01]);
 * const text = formatErrorTable(compareSchemes(x, 2, 2, [FP4_PAPER_ACT]));
 * assert.equal(text.split("\n").length, 3); // header, rule, one row per scheme
 * ```
 */
export function formatErrorTable(rows: readonly ErrorTableRow[]): string {
  const header = ["scheme", "MSE", "SQNR dB", "cosine", "max abs err", "clipped %", "zero %"];
  const body = rows.map((r) => [
    r.scheme,
    r.mse.toExponential(3),
    r.sqnrDb.toFixed(2),
    r.cosine.toFixed(6),
    r.maxAbsError.toExponential(3),
    Number.isNaN(r.clippedFraction) ? "-" : (100 * r.clippedFraction).toFixed(3),
    (100 * r.zeroFlushedFraction).toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")
    } |`;
  const rule = `|${
    widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")
  }|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}
