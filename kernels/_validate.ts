/**
 * Argument checks shared by the kernels: every check runs before any work is done.
 *
 * @module
 */

/** Throws unless `v` is a non-negative safe integer. */
export function checkDim(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  }
}

/** Throws unless `a` is a Float32Array of exactly `len` elements. */
export function checkF32(name: string, a: unknown, len: number, what: string): void {
  if (!(a instanceof Float32Array)) {
    throw new TypeError(`${name} must be a Float32Array, got ${describe(a)}`);
  }
  if (a.length !== len) {
    throw new RangeError(`${name} must have ${what} = ${len} elements, got ${a.length}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}
