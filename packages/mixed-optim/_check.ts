// Argument checks shared by the public functions. Each error names the argument and what is
// allowed, so a bad call is fixed from the message alone.

/** Throws a TypeError unless `value` is a Float32Array. */
export function checkFloat32Array(name: string, value: unknown): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    throw new TypeError(`${name} must be a Float32Array, got ${describe(value)}`);
  }
}

/** Throws unless `list` is a non-empty array of Float32Arrays. */
export function checkTensorList(name: string, list: unknown): asserts list is Float32Array[] {
  if (!Array.isArray(list)) {
    throw new TypeError(`${name} must be an array of Float32Array, got ${describe(list)}`);
  }
  for (let i = 0; i < list.length; i++) checkFloat32Array(`${name}[${i}]`, list[i]);
}

/** Throws unless `grads` pairs one-to-one, length for length, with `params`. */
export function checkSameShapes(
  paramsName: string,
  params: readonly Float32Array[],
  gradsName: string,
  grads: unknown,
): asserts grads is Float32Array[] {
  checkTensorList(gradsName, grads);
  if (grads.length !== params.length) {
    throw new RangeError(
      `${gradsName} must hold ${params.length} tensors (one per parameter), got ${grads.length}`,
    );
  }
  for (let i = 0; i < params.length; i++) {
    if (grads[i].length !== params[i].length) {
      throw new RangeError(
        `${gradsName}[${i}] must have length ${params[i].length} (as ${paramsName}[${i}]), ` +
          `got ${grads[i].length}`,
      );
    }
  }
}

/** Throws a RangeError unless `value` is a finite number in [lo, hi] (or [lo, hi) if open). */
export function checkFiniteIn(
  name: string,
  value: unknown,
  lo: number,
  hi: number,
  { openHigh = false, openLow = false }: { openHigh?: boolean; openLow?: boolean } = {},
): asserts value is number {
  const ok = typeof value === "number" && Number.isFinite(value) &&
    (openLow ? value > lo : value >= lo) && (openHigh ? value < hi : value <= hi);
  if (!ok) {
    const range = `${openLow ? "(" : "["}${lo}, ${hi}${openHigh ? ")" : "]"}`;
    throw new RangeError(`${name} must be a finite number in ${range}, got ${String(value)}`);
  }
}

/** Throws a RangeError unless `value` is an integer in [lo, hi]. */
export function checkInteger(name: string, value: unknown, lo: number, hi: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < lo || value > hi) {
    throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${String(value)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
