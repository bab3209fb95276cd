/**
 * The safetensors reader: bytes to a validated header and tensor views (no copy).
 *
 * @module
 */
import { checkDtype, elementCount } from "./_check.ts";
import {
  DTYPE_SIZES,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsTensor,
} from "./types.ts";

/** Largest header accepted, as the reference implementation does (100 MB). */
const MAX_HEADER = 100_000_000;

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
 * import { readSafetensors, writeSafetensors } from "@fp4lab/safetensors";
 * import assert from "node:assert/strict";
 * const bytes = writeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * const file = readSafetensors(bytes);
 * assert.equal(file.tensors.w.dtype, "F32");
 * assert.deepEqual(file.tensors.w.shape, [2]);
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
        // defineProperty: a key named "__proto__" stays a plain entry.
        Object.defineProperty(metadata, k, { value: v, enumerable: true });
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
