// Validation shared by the reader, the writer and the converters; each failure is a RangeError
// naming where it happened.
import { DTYPE_SIZES, type SafetensorsDtype } from "./types.ts";

export function checkDtype(dtype: unknown, where: string): asserts dtype is SafetensorsDtype {
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_SIZES, dtype)) {
    throw new RangeError(
      `${where}: dtype must be one of ${Object.keys(DTYPE_SIZES).join(", ")}, got ${
        JSON.stringify(dtype)
      }${
        typeof dtype === "string" && /^F[46]/.test(dtype)
          ? " (sub-byte types are not supported; packed FP4 checkpoints use U8)"
          : ""
      }`,
    );
  }
}

export function elementCount(shape: unknown, where: string): number {
  if (!Array.isArray(shape)) {
    throw new RangeError(`${where}: shape must be an array, got ${JSON.stringify(shape)}`);
  }
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `${where}: shape entries must be non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    count *= d;
  }
  if (!Number.isSafeInteger(count)) {
    throw new RangeError(`${where}: shape ${JSON.stringify(shape)} is too large`);
  }
  return count;
}
