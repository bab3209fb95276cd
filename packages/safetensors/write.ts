/**
 * The safetensors writer: named tensors and string metadata to bytes, in the reference layout.
 *
 * @module
 */
import { checkDtype, elementCount } from "./_check.ts";
import { DTYPE_SIZES, type SafetensorsInput } from "./types.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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
 * import { readSafetensors, writeSafetensors } from "@fp4lab/safetensors";
 * import assert from "node:assert/strict";
 * const bytes = writeSafetensors(
 *   { "model.norm.weight": { dtype: "F32", shape: [3], data: new Float32Array([1, 1, 1]) } },
 *   { format: "pt" },
 * );
 * assert.deepEqual(readSafetensors(bytes).metadata, { format: "pt" });
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
