/**
 * The dtypes, their sizes, and the tensor and file shapes of the safetensors format.
 *
 * @module
 */
/** Element types of safetensors this module reads and writes (byte-aligned ones). */
export type SafetensorsDtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "F8_E4M3"
  | "F8_E5M2"
  | "F8_E8M0"
  | "U16"
  | "I16"
  | "F16"
  | "BF16"
  | "U32"
  | "I32"
  | "F32"
  | "U64"
  | "I64"
  | "F64";

/** Bytes per element of every supported dtype. */
export const DTYPE_SIZES: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
});

/** One tensor: its dtype, shape and raw little-endian bytes. */
export interface SafetensorsTensor {
  /** Element type tag. */
  readonly dtype: SafetensorsDtype;
  /** Shape; `[]` is a scalar (one element). */
  readonly shape: readonly number[];
  /** Raw bytes, product(shape) · size(dtype) of them (a view into the file when read). */
  readonly data: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** The `__metadata__` strings, or an empty object. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors by name, in the order of their data offsets. */
  readonly tensors: Readonly<Record<string, SafetensorsTensor>>;
}

/** A tensor to write: raw bytes in any typed array of the right byte length. */
export interface SafetensorsInput {
  /** Element type tag. */
  readonly dtype: SafetensorsDtype;
  /** Shape; `[]` is a scalar. */
  readonly shape: readonly number[];
  /** The elements' bytes (a Float32Array for F32 works as is on little-endian machines). */
  readonly data: ArrayBufferView;
}
