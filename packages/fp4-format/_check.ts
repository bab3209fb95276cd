// Argument checks shared by the public functions; each names the argument and what is allowed.

/** Throws a TypeError unless `values` is a Float32Array. */
export function checkFloat32Array(name: string, values: unknown): asserts values is Float32Array {
  if (!(values instanceof Float32Array)) {
    throw new TypeError(`${name} must be a Float32Array, got ${describe(values)}`);
  }
}

/** Throws a RangeError unless `out` has exactly `length` elements. */
export function checkOutLength(name: string, out: ArrayLike<number>, length: number): void {
  if (out.length !== length) {
    throw new RangeError(`${name} must have length ${length}, got ${out.length}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
