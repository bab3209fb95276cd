// Argument checks shared by the public functions; each names the argument and the allowed range.

/** Throws a TypeError unless `values` is a Float32Array. */
export function checkFloat32Array(name: string, values: unknown): asserts values is Float32Array {
  if (!(values instanceof Float32Array)) {
    const what = values === null
      ? "null"
      : typeof values === "object"
      ? (values.constructor?.name ?? "object")
      : typeof values;
    throw new TypeError(`${name} must be a Float32Array, got ${what}`);
  }
}

/** Throws a RangeError unless rows and cols are positive integers that match `length`. */
export function checkShape(length: number, rows: number, cols: number, name = "values"): void {
  for (const [what, v] of [["rows", rows], ["cols", cols]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${what} must be a positive integer, got ${v}`);
    }
  }
  if (rows * cols !== length) {
    throw new RangeError(`${name} must have rows * cols = ${rows * cols} elements, got ${length}`);
  }
}

/** Throws a RangeError unless 0.5 < alpha < 1. */
export function checkAlpha(alpha: unknown, name = "options.alpha"): number {
  if (typeof alpha !== "number" || !(alpha > 0.5 && alpha < 1)) {
    throw new RangeError(`${name} must be a number in (0.5, 1), got ${alpha}`);
  }
  return alpha;
}

/** Throws a RangeError naming the first non-finite element of `values`. */
export function nonFiniteError(name: string, values: Float32Array, index: number): RangeError {
  return new RangeError(
    `${name}[${index}] is ${values[index]}: activations must be finite (no NaN or Infinity)`,
  );
}
