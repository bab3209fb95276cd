/**
 * Tensors to and from f32 values: exact decoding of every dtype, F32/F16/BF16 encoding.
 *
 * @module
 */
import { BF16, codesOfRounded, codeTable, E4M3, E5M2, FP16, quantize } from "@fp4lab/fp4-format";
import { checkDtype, elementCount } from "./_check.ts";
import { DTYPE_SIZES, type SafetensorsTensor } from "./types.ts";

/**
 * Reads a tensor's elements as f32 values, whatever its dtype: floats are decoded exactly
 * (F8_E8M0 bytes as 2^(b − 127), 0xFF as NaN), integers converted (64-bit ones through BigInt,
 * rounding above 2^24 as f32 does), BOOL as 0 or 1. Always returns a new array.
 *
 * @param tensor a tensor from {@link readSafetensors}
 * @returns the values, product(shape) of them
 * @throws {RangeError} when the byte count does not match the shape and dtype
 *
 * @example
 * ```ts
 * import { float32Tensor, tensorToFloat32 } from "@fp4lab/safetensors";
 * import assert from "node:assert/strict";
 * const t = float32Tensor(new Float32Array([1.5, -2, 1e-3]), [3], "BF16");
 * assert.deepEqual(tensorToFloat32(t), new Float32Array([1.5, -2, 0.00099945068359375]));
 * ```
 */
export function tensorToFloat32(tensor: SafetensorsTensor): Float32Array {
  checkDtype(tensor.dtype, "tensor");
  const count = elementCount(tensor.shape, "tensor");
  const size = DTYPE_SIZES[tensor.dtype];
  const bytes = tensor.data;
  if (!(bytes instanceof Uint8Array) || bytes.length !== count * size) {
    throw new RangeError(
      `tensor.data must be ${count * size} bytes for shape ${
        JSON.stringify(tensor.shape)
      } of ${tensor.dtype}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (tensor.dtype) {
    case "F32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case "F64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case "F16":
    case "BF16": {
      const table = codeTable(tensor.dtype === "F16" ? FP16 : BF16);
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(2 * i, true)];
      break;
    }
    case "F8_E4M3":
    case "F8_E5M2": {
      const table = codeTable(tensor.dtype === "F8_E4M3" ? E4M3 : E5M2);
      for (let i = 0; i < count; i++) out[i] = table[bytes[i]];
      break;
    }
    case "F8_E8M0":
      for (let i = 0; i < count; i++) out[i] = bytes[i] === 0xff ? NaN : 2 ** (bytes[i] - 127);
      break;
    case "BOOL":
      for (let i = 0; i < count; i++) out[i] = bytes[i] === 0 ? 0 : 1;
      break;
    case "U8":
      for (let i = 0; i < count; i++) out[i] = bytes[i];
      break;
    case "I8":
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case "U16":
      for (let i = 0; i < count; i++) out[i] = view.getUint16(2 * i, true);
      break;
    case "I16":
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      break;
    case "U32":
      for (let i = 0; i < count; i++) out[i] = view.getUint32(4 * i, true);
      break;
    case "I32":
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case "U64":
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(8 * i, true));
      break;
    case "I64":
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
  }
  return out;
}

/**
 * Builds a tensor from f32 values, stored as F32, F16 or BF16 (rounded to nearest-even with
 * fp4-format's quantize; overflow becomes ±Inf as a cast does).
 *
 * @param values the values
 * @param shape the shape; its element count must equal `values.length`
 * @param dtype `"F32"` (default), `"F16"` or `"BF16"`
 * @returns a tensor for {@link writeSafetensors}
 * @throws {RangeError} when the shape does not match or the dtype is not one of the three
 *
 * @example
 * ```ts
 * import { float32Tensor } from "@fp4lab/safetensors";
 * import assert from "node:assert/strict";
 * const t = float32Tensor(new Float32Array([1, 2]), [2], "F16");
 * assert.deepEqual(t.data, new Uint8Array([0, 60, 0, 64])); // little-endian 0x3c00, 0x4000
 * ```
 */
export function float32Tensor(
  values: Float32Array,
  shape: readonly number[],
  dtype: "F32" | "F16" | "BF16" = "F32",
): SafetensorsTensor {
  const count = elementCount(shape, "float32Tensor");
  if (!(values instanceof Float32Array) || values.length !== count) {
    throw new RangeError(
      `values must be a Float32Array of ${count} elements for shape ${JSON.stringify(shape)}`,
    );
  }
  if (dtype === "F32") {
    const data = new Uint8Array(4 * count);
    const view = new DataView(data.buffer);
    for (let i = 0; i < count; i++) view.setFloat32(4 * i, values[i], true);
    return { dtype, shape: shape.slice(), data };
  }
  if (dtype !== "F16" && dtype !== "BF16") {
    throw new RangeError(`dtype must be "F32", "F16" or "BF16", got ${dtype}`);
  }
  const format = dtype === "F16" ? FP16 : BF16;
  const rounded = quantize(values, format, { saturate: false });
  const codes = new Uint16Array(count);
  codesOfRounded(rounded, format, codes);
  const data = new Uint8Array(2 * count);
  const view = new DataView(data.buffer);
  for (let i = 0; i < count; i++) view.setUint16(2 * i, codes[i], true);
  return { dtype, shape: shape.slice(), data };
}
