// Validation of arguments and schemes shared by the public entry points. Every error names the
// argument and what is allowed.
import type { FloatFormat, Rounding } from "@fp4lab/fp4-format";
import type { QuantScheme, ScaleFormat, ScaleRule } from "./types.ts";

const GRANULARITIES = ["tensor", "row", "token", "channel", "block", "block2d"];
const SCALE_RULES: readonly ScaleRule[] = [
  "absmax",
  "pow2-floor",
  "e8m0-floor",
  "e8m0-ceil",
  "e8m0-even",
  "e8m0-rceil",
  "nvfp4",
];
const ROUNDINGS = ["nearest-even", "nearest-up", "stochastic"];

/** A scheme with every default filled in, for a matrix of known shape. */
export interface ResolvedScheme {
  readonly name: string;
  readonly format: FloatFormat;
  readonly scaleRule: ScaleRule;
  readonly scaleFormat: ScaleFormat;
  readonly rounding: Rounding;
  readonly seed: number;
  readonly blockRows: number;
  readonly blockCols: number;
  /** Number of scale groups along rows and along columns. */
  readonly groupRows: number;
  readonly groupCols: number;
}

/** Throws unless `rows` and `cols` are positive integers and `values` holds rows · cols floats. */
export function checkMatrix(values: unknown, rows: number, cols: number, name = "values"): void {
  if (!(values instanceof Float32Array)) {
    throw new TypeError(`${name} must be a Float32Array, got ${describe(values)}`);
  }
  checkPositiveInteger("rows", rows);
  checkPositiveInteger("cols", cols);
  if (values.length !== rows * cols) {
    throw new RangeError(
      `${name}.length must be rows * cols = ${rows} * ${cols} = ${
        rows * cols
      }, got ${values.length}`,
    );
  }
}

/** Throws unless `out` is a Float32Array of `length` elements. */
export function checkOut(out: unknown, length: number, name = "out"): asserts out is Float32Array {
  if (!(out instanceof Float32Array)) {
    throw new TypeError(`${name} must be a Float32Array, got ${describe(out)}`);
  }
  if (out.length !== length) {
    throw new RangeError(`${name} must have length ${length}, got ${out.length}`);
  }
}

/** Throws a RangeError unless `value` is an integer ≥ 1. */
export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

/** Fills in the defaults of `scheme` for a rows × cols matrix and validates every field. */
export function resolveScheme(scheme: QuantScheme, rows: number, cols: number): ResolvedScheme {
  if (scheme === null || typeof scheme !== "object") {
    throw new TypeError(`scheme must be a QuantScheme object, got ${describe(scheme)}`);
  }
  const format = scheme.format;
  if (
    format === null || typeof format !== "object" || typeof format.maxNormal !== "number" ||
    typeof format.bits !== "number"
  ) {
    throw new TypeError(`scheme.format must be a FloatFormat (e.g. E2M1), got ${describe(format)}`);
  }
  if (!format.signed) {
    throw new RangeError(`scheme.format must be a signed format, got ${format.name}`);
  }
  const granularity = scheme.granularity;
  if (!GRANULARITIES.includes(granularity)) {
    throw new RangeError(
      `scheme.granularity must be one of ${GRANULARITIES.join(", ")}, got ${granularity}`,
    );
  }
  const scaleRule = scheme.scaleRule ?? "absmax";
  if (!SCALE_RULES.includes(scaleRule)) {
    throw new RangeError(
      `scheme.scaleRule must be one of ${SCALE_RULES.join(", ")}, got ${scaleRule}`,
    );
  }
  const rounding = scheme.rounding ?? "nearest-even";
  if (!ROUNDINGS.includes(rounding)) {
    throw new RangeError(`scheme.rounding must be one of ${ROUNDINGS.join(", ")}, got ${rounding}`);
  }
  const seed = scheme.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`scheme.seed must be an integer, got ${seed}`);
  let blockRows: number;
  let blockCols: number;
  switch (granularity) {
    case "tensor":
      blockRows = rows;
      blockCols = cols;
      break;
    case "row":
    case "token":
    case "channel":
      blockRows = 1;
      blockCols = cols;
      break;
    case "block":
      blockRows = 1;
      blockCols = scheme.blockSize ?? 32;
      checkPositiveInteger("scheme.blockSize", blockCols);
      break;
    default: // block2d
      blockCols = scheme.blockSize ?? 16;
      checkPositiveInteger("scheme.blockSize", blockCols);
      blockRows = scheme.blockRows ?? blockCols;
      checkPositiveInteger("scheme.blockRows", blockRows);
  }
  const scaleFormat: ScaleFormat = scaleRule === "nvfp4"
    ? "UE4M3"
    : scaleRule.startsWith("e8m0")
    ? "E8M0"
    : "f32";
  return {
    name: scheme.name ??
      `${format.name}/${granularity}${
        granularity === "block" || granularity === "block2d"
          ? `${granularity === "block2d" ? `${blockRows}x` : ""}${blockCols}`
          : ""
      }/${scaleRule}${rounding === "nearest-even" ? "" : `/${rounding}`}`,
    format,
    scaleRule,
    scaleFormat,
    rounding,
    seed,
    blockRows,
    blockCols,
    groupRows: Math.ceil(rows / blockRows),
    groupCols: Math.ceil(cols / blockCols),
  };
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
