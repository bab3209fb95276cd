// Argument checks shared by the package's functions: one message style, naming the argument and
// the allowed range.

export function checkPositive(name: string, value: number): void {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a positive finite number, got ${value}`);
  }
}

export function checkNonNegative(name: string, value: number): void {
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  }
}

export function checkBits(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 64) {
    throw new RangeError(`${name} must be an integer in [0, 64], got ${value}`);
  }
}
