/**
 * A small, runtime-neutral safetensors reader and writer: bytes ⇄ header + named tensors.
 *
 * The format: 8 bytes little-endian u64 N, N bytes of UTF-8 JSON header (padded with spaces),
 * then the data buffer. The header maps each tensor name to `{ dtype, shape, data_offsets:
 * [begin, end] }` (offsets relative to the data buffer) plus an optional `__metadata__` object of
 * strings. Tensors must tile the data buffer exactly, with no gaps or overlaps. All data is
 * little-endian.
 *
 * @module
 */
import { BF16, codesOfRounded, codeTable, E4M3, E5M2, FP16, quantize } from "@fp4lab/fp4-format";

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

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Largest header accepted, as the reference implementation does (100 MB). */
const MAX_HEADER = 100_000_000;

function checkDtype(dtype: unknown, where: string): asserts dtype is SafetensorsDtype {
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

function elementCount(shape: unknown, where: string): number {
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

/**
 * Parses a safetensors file, validating the header length, the JSON, every dtype, shape and
 * offset, and that the tensors tile the data buffer exactly. Tensor data are views into `bytes`
 * (no copy).
 *
 * @param bytes the whole file
 * @returns the metadata and the tensors by name
 * @throws {TypeError} when `bytes` is not a Uint8Array
 * @throws {RangeError} naming what is wrong: a short file, a header length past the end, invalid
 *   UTF-8 or JSON, an unknown dtype, a byte count that does not match shape · dtype size, an offset
 *   outside the data, or a gap or overlap between tensors
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@fp4lab/quant-granularity";
 * const bytes = writeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * const file = readSafetensors(bytes);
 * console.log(file.tensors.w.dtype, file.tensors.w.shape); // F32 [ 2 ]
 * ```
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `bytes must be a Uint8Array, got ${bytes === null ? "null" : typeof bytes}`,
    );
  }
  if (bytes.length < 8) {
    throw new RangeError(
      `safetensors: file is ${bytes.length} bytes, shorter than the 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const headerLength = high * 2 ** 32 + low;
  if (headerLength > bytes.length - 8) {
    throw new RangeError(
      `safetensors: header length ${headerLength} runs past the end of the ${bytes.length}-byte file`,
    );
  }
  if (headerLength > MAX_HEADER) {
    throw new RangeError(
      `safetensors: header length ${headerLength} exceeds the ${MAX_HEADER}-byte limit`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new RangeError("safetensors: header is not valid UTF-8");
  }
  if (!text.startsWith("{")) {
    throw new RangeError("safetensors: header must be a JSON object starting with '{'");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`safetensors: header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new RangeError("safetensors: header must be a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: {
    name: string;
    dtype: SafetensorsDtype;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
        throw new RangeError("safetensors: __metadata__ must be an object of strings");
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string") {
          throw new RangeError(
            `safetensors: __metadata__.${k} must be a string, got ${JSON.stringify(v)}`,
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    const where = `safetensors: tensor "${name}"`;
    if (entry === null || typeof entry !== "object") {
      throw new RangeError(`${where} must be an object`);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    checkDtype(dtype, where);
    const count = elementCount(shape, where);
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      throw new RangeError(
        `${where}: data_offsets must be [begin, end] non-negative integers, got ${
          JSON.stringify(offsets)
        }`,
      );
    }
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLength) {
      throw new RangeError(
        `${where}: data_offsets [${begin}, ${end}] lie outside the ${dataLength}-byte data buffer`,
      );
    }
    const expected = count * DTYPE_SIZES[dtype];
    if (end - begin !== expected) {
      throw new RangeError(
        `${where}: ${end - begin} bytes, but shape ${
          JSON.stringify(shape)
        } of ${dtype} needs ${expected}`,
      );
    }
    entries.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin !== cursor) {
      throw new RangeError(
        `safetensors: tensor "${e.name}" starts at byte ${e.begin} of the data, expected ${cursor} (${
          e.begin > cursor ? "a gap" : "an overlap"
        })`,
      );
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    throw new RangeError(
      `safetensors: tensors cover ${cursor} bytes of a ${dataLength}-byte data buffer`,
    );
  }
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const e of entries) {
    Object.defineProperty(tensors, e.name, {
      value: Object.freeze({
        dtype: e.dtype,
        shape: Object.freeze(e.shape),
        data: bytes.subarray(dataStart + e.begin, dataStart + e.end),
      }),
      enumerable: true,
    });
  }
  return { metadata, tensors };
}

/**
 * Serialises tensors (and optional string metadata) to a safetensors file. Tensors are laid out by
 * descending dtype size, then name (as the reference implementation does, which keeps every
 * tensor aligned to its element size), and the header is padded with spaces to a multiple of 8.
 *
 * @param tensors tensors by name; each `data` holds exactly product(shape) · size(dtype) bytes
 * @param metadata optional `__metadata__` strings
 * @returns the file's bytes
 * @throws {RangeError} for an empty or reserved name, an unknown dtype, a bad shape, a byte count
 *   that does not match, or a non-string metadata value
 *
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@fp4lab/quant-granularity";
 * const bytes = writeSafetensors(
 *   { "model.norm.weight": { dtype: "F32", shape: [3], data: new Float32Array([1, 1, 1]) } },
 *   { format: "pt" },
 * );
 * console.log(readSafetensors(bytes).metadata); // { format: "pt" }
 * ```
 */
export function writeSafetensors(
  tensors: Readonly<Record<string, SafetensorsInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const items = Object.entries(tensors).map(([name, t]) => {
    const where = `tensors["${name}"]`;
    if (name.length === 0 || name === "__metadata__") {
      throw new RangeError(`tensor name must be non-empty and not "__metadata__", got "${name}"`);
    }
    if (t === null || typeof t !== "object") {
      throw new RangeError(`${where} must be a tensor object`);
    }
    checkDtype(t.dtype, where);
    const count = elementCount(t.shape, where);
    if (!ArrayBuffer.isView(t.data)) throw new RangeError(`${where}.data must be a typed array`);
    const size = DTYPE_SIZES[t.dtype];
    if (t.data.byteLength !== count * size) {
      throw new RangeError(
        `${where}.data has ${t.data.byteLength} bytes, but shape ${
          JSON.stringify(t.shape)
        } of ${t.dtype} needs ${count * size}`,
      );
    }
    let data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const elementBytes = (t.data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ??
      1;
    if (!LITTLE_ENDIAN && elementBytes > 1) data = swapBytes(data, elementBytes);
    return { name, dtype: t.dtype, shape: t.shape.slice(), size, data };
  });
  items.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new RangeError(`metadata.${k} must be a string, got ${typeof v}`);
      }
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const item of items) {
    header[item.name] = {
      dtype: item.dtype,
      shape: item.shape,
      data_offsets: [offset, offset + item.data.length],
    };
    offset += item.data.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(json.length / 2 ** 32), true);
  out.set(json, 8);
  let cursor = 8 + json.length;
  for (const item of items) {
    out.set(item.data, cursor);
    cursor += item.data.length;
  }
  return out;
}

function swapBytes(data: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += width) {
    for (let j = 0; j < width; j++) out[i + j] = data[i + width - 1 - j];
  }
  return out;
}

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
 * import { float32Tensor, tensorToFloat32 } from "@fp4lab/quant-granularity";
 * const t = float32Tensor(new Float32Array([1.5, -2, 1e-3]), [3], "BF16");
 * console.log(tensorToFloat32(t)); // Float32Array [ 1.5, -2, 0.00099945068359375 ]
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
 * import { float32Tensor } from "@fp4lab/quant-granularity";
 * console.log(float32Tensor(new Float32Array([1, 2]), [2], "F16").data); // Uint8Array [ 0, 60, 0, 64 ]
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
