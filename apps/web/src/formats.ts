/**
 * The format explorer's logic, free of the DOM: numbers in any ExMy with their codes and bits,
 * synthetic tensors, and the scheme comparison with its charts. Rounding, codes and scaling all
 * come from `@fp4lab/fp4-format` and `@fp4lab/quant-granularity`.
 *
 * @module
 */
import {
  codeTable,
  encode,
  type FloatFormat,
  FORMATS,
  parseFormat,
  quantize,
  type Rounding,
  seedKey,
  uniformAt,
} from "@fp4lab/fp4-format";
import {
  compareSchemes,
  dequantize,
  errorMetrics,
  type ErrorTableRow,
  heavyTailedActivations,
  MXFP4,
  MXFP6_E2M3,
  MXFP8_E4M3,
  NVFP4,
  NVFP4_2D,
  quantizeTensor,
  type QuantScheme,
  transpose,
} from "@fp4lab/quant-granularity";
import { E2M1, E4M3 } from "@fp4lab/fp4-format";
import type { VegaLiteSpec } from "@fp4lab/planner";

/** The standard formats, narrowest first. */
export const STANDARD_FORMATS: readonly FloatFormat[] = Object.values(FORMATS);

/** Numbers parsed from free text, and the pieces that were not numbers. */
export interface ParsedNumbers {
  readonly values: number[];
  readonly bad: string[];
}

/**
 * Numbers separated by commas, spaces or new lines; `inf`, `-inf` and `nan` are accepted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseNumbers } from "./formats.ts";
 * assert.deepEqual(parseNumbers("0.3, -2.6\n1e-3 inf x"), {
 *   values: [0.3, -2.6, 0.001, Infinity],
 *   bad: ["x"],
 * });
 * ```
 */
export function parseNumbers(text: string): ParsedNumbers {
  const values: number[] = [];
  const bad: string[] = [];
  for (const piece of text.split(/[\s,;]+/)) {
    if (piece === "") continue;
    const lower = piece.toLowerCase();
    const v = lower === "inf" || lower === "+inf"
      ? Infinity
      : lower === "-inf"
      ? -Infinity
      : lower === "nan"
      ? NaN
      : /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)
      ? Number(piece)
      : undefined;
    if (v === undefined) bad.push(piece);
    else values.push(v);
  }
  return { values, bad };
}

const magnitudeCodes = new WeakMap<FloatFormat, Map<number, number>>();

/**
 * The code of a value that is already on `format`'s grid (a result of `quantize`): `encode` for
 * formats of at most 8 bits, a look-up of `codeTable` for wider ones (FP16, BF16): the
 * magnitude's code among the positive codes, with the sign bit set for negative values and -0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BF16, E2M1 } from "@fp4lab/fp4-format";
 * import { codeOf } from "./formats.ts";
 * assert.equal(codeOf(-6, E2M1), 15);
 * assert.equal(codeOf(1, BF16), 0x3f80);
 * assert.equal(codeOf(-0, BF16), 0x8000);
 * ```
 */
export function codeOf(rounded: number, format: FloatFormat): number {
  // saturate: false keeps ±Inf (already on the grid) as the Inf code.
  if (format.bits <= 8) return encode(new Float32Array([rounded]), format, { saturate: false })[0];
  let index = magnitudeCodes.get(format);
  if (!index) {
    index = new Map();
    const table = codeTable(format);
    const positive = format.signed ? table.length / 2 : table.length;
    // Lowest code first: the first NaN code is the canonical one (Map keys treat NaN as one key).
    for (let c = positive - 1; c >= 0; c--) index.set(table[c], c);
    magnitudeCodes.set(format, index);
  }
  const negative = rounded < 0 || Object.is(rounded, -0);
  const code = index.get(Math.abs(rounded));
  if (code === undefined) throw new RangeError(`${rounded} is not a ${format.name} value`);
  return negative && format.signed ? code | (1 << (format.bits - 1)) : code;
}

/** One number in one format. */
export interface FormatCell {
  readonly format: string;
  /** the value after rounding to the format */
  readonly rounded: number;
  readonly code: number;
  /** the code in hex, padded to the format's width */
  readonly hex: string;
  /** sign, exponent and mantissa fields, space-separated */
  readonly bits: string;
  readonly absError: number;
  /** |error| / |x|; NaN for x = 0 or non-finite x */
  readonly relError: number;
  /** what happened: "saturated", "overflow to inf", "flushed to zero", "subnormal", "NaN", "" */
  readonly note: string;
}

/**
 * A value in a format: rounded (as `quantize` rounds it), its code, its bit fields, the error,
 * and what happened (saturation, flush to zero, subnormal).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { describeValue } from "./formats.ts";
 * const c = describeValue(100, E2M1);
 * assert.deepEqual([c.rounded, c.hex, c.bits, c.note], [6, "0x7", "0 11 1", "saturated"]);
 * ```
 */
export function describeValue(
  x: number,
  format: FloatFormat,
  options: { rounding?: Rounding; seed?: number; saturate?: boolean } = {},
): FormatCell {
  const rounded = quantize(new Float32Array([x]), format, {
    rounding: options.rounding,
    seed: options.seed,
    saturate: options.saturate,
  })[0];
  const isNaNCode = Number.isNaN(rounded);
  // A NaN that a format without NaN cannot hold has no code (quantize keeps it NaN).
  const code = isNaNCode && !format.hasNaN ? -1 : codeOf(rounded, format);
  const width = format.bits;
  const bin = code < 0 ? "-".repeat(width) : code.toString(2).padStart(width, "0");
  const s = format.signed ? 1 : 0;
  const bits = [
    bin.slice(0, s),
    bin.slice(s, s + format.exponentBits),
    bin.slice(s + format.exponentBits),
  ].filter((f) => f !== "").join(" ");
  const abs = Math.abs(rounded - x);
  let note = "";
  const ax = Math.abs(x);
  if (Number.isNaN(x) || isNaNCode) note = "NaN";
  else if (!Number.isFinite(rounded)) note = "overflow to inf";
  else if (ax > format.maxNormal && Math.abs(rounded) === format.maxNormal) note = "saturated";
  else if (x !== 0 && rounded === 0) note = "flushed to zero";
  else if (rounded !== 0 && Math.abs(rounded) < format.minNormal) note = "subnormal";
  return {
    format: format.name,
    rounded,
    code,
    hex: code < 0 ? "none" : `0x${code.toString(16).padStart(Math.ceil(width / 4), "0")}`,
    bits,
    absError: Number.isFinite(x) ? abs : NaN,
    relError: x !== 0 && Number.isFinite(x) ? abs / ax : NaN,
    note,
  };
}

/** How a generated tensor's elements are drawn. */
export type Distribution = "gaussian" | "student-t";

/** Options of {@link generateTensor}. */
export interface TensorOptions {
  readonly distribution: Distribution;
  readonly rows: number;
  readonly cols: number;
  /** Student-t degrees of freedom (a positive integer) */
  readonly df?: number;
  /** columns multiplied by `outlierScale`, spread evenly */
  readonly outlierChannels?: number;
  readonly outlierScale?: number;
  readonly seed?: number;
}

/**
 * A seeded synthetic activation matrix [rows, cols]: Gaussian or Student-t elements, with a few
 * outlier channels (columns) as LLM activations have them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateTensor } from "./formats.ts";
 * const t = generateTensor({ distribution: "gaussian", rows: 4, cols: 8, outlierChannels: 1, outlierScale: 50 });
 * assert.equal(t.length, 32);
 * ```
 */
export function generateTensor(options: TensorOptions): Float32Array {
  const { rows, cols } = options;
  const hotChannels = options.outlierChannels ?? 0;
  const hotScale = options.outlierScale ?? 20;
  const seed = options.seed ?? 0;
  if (options.distribution === "student-t") {
    return heavyTailedActivations(rows, cols, { df: options.df ?? 3, hotChannels, hotScale, seed });
  }
  // Gaussian: the same hot-channel placement as heavyTailedActivations, Box-Muller normals on
  // the counter-based stream of the seed.
  if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0)) {
    throw new RangeError(`rows and cols must be positive integers, got ${rows} x ${cols}`);
  }
  if (!Number.isInteger(hotChannels) || hotChannels < 0 || hotChannels > cols) {
    throw new RangeError(`outlier channels must be an integer in [0, ${cols}], got ${hotChannels}`);
  }
  const key = seedKey(seed);
  const channelScale = new Float64Array(cols).fill(1);
  for (let h = 0; h < hotChannels; h++) {
    channelScale[Math.floor(((h + 0.5) * cols) / hotChannels)] = hotScale;
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const u = 1 - uniformAt(key, 2 * i);
    const v = uniformAt(key, 2 * i + 1);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) * channelScale[i % cols];
  }
  return out;
}

/** The schemes the explorer compares, by the name shown in its table. */
export const SCHEMES: Readonly<Record<string, QuantScheme>> = Object.freeze({
  "E2M1 per-tensor": { name: "E2M1 per-tensor", format: E2M1, granularity: "tensor" },
  "E2M1 per-token (row)": { name: "E2M1 per-token", format: E2M1, granularity: "row" },
  "E2M1 block 32 (f32 scale)": { format: E2M1, granularity: "block", blockSize: 32 },
  "E2M1 block 16 (f32 scale)": { format: E2M1, granularity: "block", blockSize: 16 },
  "MXFP4 (block 32, E8M0)": MXFP4,
  "NVFP4 (block 16, UE4M3)": NVFP4,
  "NVFP4 2-D (16x16)": NVFP4_2D,
  "MXFP6 E2M3": MXFP6_E2M3,
  "MXFP8 E4M3": MXFP8_E4M3,
  "E4M3 per-tensor": { format: E4M3, granularity: "tensor" },
});

/** The extra row that scales per channel (column of an activation matrix). */
export const PER_CHANNEL = "E2M1 per-channel (column)";

/**
 * Quantizes a [rows, cols] matrix under each named scheme and measures the error; `PER_CHANNEL`
 * scales each column (the matrix is transposed, scaled per row, and compared in that layout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareTensor, generateTensor } from "./formats.ts";
 * const x = generateTensor({ distribution: "student-t", rows: 16, cols: 64, outlierChannels: 2 });
 * const rows = compareTensor(x, 16, 64, ["E2M1 per-tensor", "NVFP4 (block 16, UE4M3)"]);
 * assert.ok(rows[1].sqnrDb > rows[0].sqnrDb);
 * ```
 */
export function compareTensor(
  values: Float32Array,
  rows: number,
  cols: number,
  names: readonly string[],
): ErrorTableRow[] {
  const out: ErrorTableRow[] = [];
  for (const name of names) {
    if (name === PER_CHANNEL) {
      const t = transpose(values, rows, cols);
      const q = quantizeTensor(t, cols, rows, { format: E2M1, granularity: "row" });
      out.push({ scheme: name, ...errorMetrics(t, dequantize(q), { clipped: q.clipped }) });
      continue;
    }
    const scheme = SCHEMES[name];
    if (!scheme) throw new RangeError(`unknown scheme "${name}"`);
    out.push(...compareSchemes(values, rows, cols, { [name]: scheme }));
  }
  return out;
}

/**
 * Histogram of the tensor's values (log-scale counts, so outliers show), as a Vega-Lite spec.
 */
export function histogramSpec(values: Float32Array, title: string): VegaLiteSpec {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const bins = 60;
  const width = (hi - lo) / bins || 1;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  const data = counts.map((count, i) => ({
    from: lo + i * width,
    to: lo + (i + 1) * width,
    count,
  })).filter((d) => d.count > 0);
  return {
    title,
    width: 520,
    height: 220,
    data: { values: data },
    mark: "bar",
    encoding: {
      x: { field: "from", type: "quantitative", bin: { binned: true }, title: "value" },
      x2: { field: "to" },
      y: {
        field: "count",
        type: "quantitative",
        scale: { type: "symlog" },
        title: "count (symlog)",
      },
      tooltip: [
        { field: "from", type: "quantitative", format: ".3g" },
        { field: "to", type: "quantitative", format: ".3g" },
        { field: "count", type: "quantitative" },
      ],
    },
  };
}

/** SQNR per scheme as a bar chart. */
export function sqnrSpec(rows: readonly ErrorTableRow[]): VegaLiteSpec {
  return {
    title: "Signal-to-quantization-noise ratio (higher is better)",
    width: 420,
    height: { step: 22 },
    data: {
      values: rows.map((r) => ({
        scheme: r.scheme,
        sqnrDb: Number.isFinite(r.sqnrDb) ? r.sqnrDb : 200,
      })),
    },
    mark: "bar",
    encoding: {
      y: { field: "scheme", type: "nominal", sort: null, title: null, axis: { labelLimit: 240 } },
      x: { field: "sqnrDb", type: "quantitative", title: "SQNR (dB)" },
      tooltip: [{ field: "scheme" }, { field: "sqnrDb", type: "quantitative", format: ".2f" }],
    },
  };
}

/** A format by name (`E2M1`, `bf16`, `e3m4`), as parseFormat reads it. */
export { parseFormat };
