/**
 * Codes: the bit patterns of a format. `encode` rounds values and returns their codes, `decode`
 * and `codeTable` turn codes back into values.
 *
 * @module
 */
import type { FloatFormat } from "./format.ts";
import { nanCode } from "./_plan.ts";
import { checkFloat32Array, checkOutLength } from "./_check.ts";
import { quantize, type QuantizeOptions } from "./quantize.ts";
import { packNibbles } from "./pack.ts";

const tables = new WeakMap<FloatFormat, Float32Array>();

/**
 * The value of every code of `format`, indexed by code (2^bits entries; formats of at most 16
 * bits). Computed from the field definitions: sign, biased exponent, mantissa with an implicit 1
 * for normals; the special codes give ±Inf and NaN as the format defines them.
 *
 * @param format the format
 * @returns a read-only view of the table, shared by all callers (copy it before writing)
 * @throws {RangeError} for formats wider than 16 bits
 *
 * @example Every value of FP4 E2M1
 * ```ts
 * import { codeTable, E2M1 } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   Array.from(codeTable(E2M1)),
 *   [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6],
 * );
 * ```
 */
export function codeTable(format: FloatFormat): Float32Array {
  let table = tables.get(format);
  if (table) return table;
  if (format.bits > 16) throw new RangeError(`format.bits must be at most 16, got ${format.bits}`);
  const e = format.exponentBits;
  const m = format.mantissaBits;
  const magnitudeCodes = 2 ** (e + m);
  const topExponent = 2 ** e - 1;
  table = new Float32Array(2 ** format.bits);
  for (let code = 0; code < magnitudeCodes; code++) {
    const exponentField = Math.floor(code / 2 ** m);
    const mantissa = code % 2 ** m;
    let value: number;
    if (e > 0 && exponentField === topExponent && format.specials === "ieee") {
      value = mantissa === 0 ? Infinity : NaN;
    } else if (format.specials === "nan-only" && code === magnitudeCodes - 1) {
      value = NaN;
    } else if (exponentField === 0) {
      value = 2 ** (1 - format.bias) * (mantissa / 2 ** m);
    } else {
      value = 2 ** (exponentField - format.bias) * (1 + mantissa / 2 ** m);
    }
    table[code] = value;
    if (format.signed) table[code + magnitudeCodes] = -value;
  }
  tables.set(format, table);
  return table;
}

/**
 * Decodes codes of `format` into f32 values.
 *
 * @param codes one code per element (as `encode` returns them)
 * @param format the format the codes belong to
 * @param out optional output buffer of the same length
 * @returns the values
 * @throws {RangeError} for a code that does not fit in `format.bits` or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { decode, E4M3 } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const values = decode(new Uint8Array([0x7e, 0x01, 0x7f]), E4M3);
 * assert.deepEqual(values, new Float32Array([448, 0.001953125, NaN]));
 * ```
 */
export function decode(
  codes: Uint8Array | Uint16Array,
  format: FloatFormat,
  out?: Float32Array,
): Float32Array {
  const table = codeTable(format);
  const n = codes.length;
  const result = out ?? new Float32Array(n);
  checkFloat32Array("out", result);
  checkOutLength("out", result, n);
  const limit = table.length;
  for (let i = 0; i < n; i++) {
    const code = codes[i];
    if (code >= limit) {
      throw new RangeError(`codes[${i}] must be below ${limit} for ${format.name}, got ${code}`);
    }
    result[i] = table[code];
  }
  return result;
}

/** Options of {@link encode}: {@link QuantizeOptions} less `scale` and `out`, plus `out` codes. */
export interface EncodeOptions extends Omit<QuantizeOptions, "out" | "scale"> {
  /** Output buffer of codes, one per value. */
  out?: Uint8Array;
}

/**
 * Rounds `values` to `format` (as {@link quantize} does, with the same options) and returns one
 * code per value, for formats of at most 8 bits. NaN becomes the format's NaN code (E4M3 0x7F,
 * E5M2 0x7E); a format without NaN refuses it.
 *
 * @param values the values to encode
 * @param format a format of at most 8 bits
 * @param options rounding mode, seed, saturation and output buffer
 * @returns the codes
 * @throws {RangeError} for formats wider than 8 bits, NaN in a format without NaN (naming the
 *   index), a negative value in an unsigned format, or a wrong-length `out`
 *
 * @example FP4 codes, two to a byte
 * ```ts
 * import { E2M1, encode, packNibbles } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const codes = encode(new Float32Array([1, -6, 0.5, 3]), E2M1);
 * assert.deepEqual(codes, new Uint8Array([2, 15, 1, 5]));
 * assert.deepEqual(packNibbles(codes), new Uint8Array([0xf2, 0x51]));
 * ```
 */
export function encode(
  values: Float32Array,
  format: FloatFormat,
  options: EncodeOptions = {},
): Uint8Array {
  if (format.bits > 8) {
    throw new RangeError(
      `format.bits must be at most 8 for encode, got ${format.bits} (${format.name})`,
    );
  }
  const n = values.length;
  const codes = options.out ?? new Uint8Array(n);
  if (!(codes instanceof Uint8Array)) throw new TypeError("options.out must be a Uint8Array");
  checkOutLength("options.out", codes, n);
  // Round in cache-sized chunks through one scratch buffer: no n-sized temporary.
  const chunk = Math.min(n, CHUNK);
  const scratch = new Float32Array(chunk);
  const offset = options.offset ?? 0;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const rounded = scratch.subarray(0, end - start);
    quantize(values.subarray(start, end), format, {
      ...options,
      offset: offset + start,
      out: rounded,
    });
    codesOfRounded(rounded, format, codes.subarray(start, end));
  }
  return codes;
}

const CHUNK = 8192;

/**
 * {@link encode} and {@link packNibbles} in one pass for 4-bit formats: two codes per byte, low
 * nibble first, without an intermediate code array.
 *
 * @param values the values to encode
 * @param format a 4-bit format such as {@link E2M1}
 * @param options as for {@link encode}; `out` is the packed output of `ceil(n / 2)` bytes
 * @returns the packed bytes
 * @throws {RangeError} for a format that is not 4 bits wide, or as {@link encode} does
 *
 * @example
 * ```ts
 * import { E2M1, encodePacked } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * const packed = encodePacked(new Float32Array([1, -6, 0.5]), E2M1);
 * assert.deepEqual(packed, new Uint8Array([0xf2, 0x01]));
 * ```
 */
export function encodePacked(
  values: Float32Array,
  format: FloatFormat,
  options: EncodeOptions = {},
): Uint8Array {
  if (format.bits !== 4) {
    throw new RangeError(
      `format.bits must be 4 for encodePacked, got ${format.bits} (${format.name})`,
    );
  }
  const n = values.length;
  const packed = options.out ?? new Uint8Array((n + 1) >> 1);
  if (!(packed instanceof Uint8Array)) throw new TypeError("options.out must be a Uint8Array");
  checkOutLength("options.out", packed, (n + 1) >> 1);
  const chunk = Math.min(n, CHUNK);
  const scratch = new Float32Array(chunk);
  const codes = new Uint8Array(chunk);
  const offset = options.offset ?? 0;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const rounded = scratch.subarray(0, end - start);
    quantize(values.subarray(start, end), format, {
      ...options,
      offset: offset + start,
      out: rounded,
    });
    const c = codes.subarray(0, end - start);
    codesOfRounded(rounded, format, c);
    // CHUNK is even, so every chunk but the last starts on a byte boundary.
    packNibbles(c, packed.subarray(start >> 1, (end + 1) >> 1));
  }
  return packed;
}

/** Marks a lookup entry that needs the slow path: Inf/NaN inputs. */
const SPECIAL = 0x80;

const codeLookups = new WeakMap<FloatFormat, Uint8Array>();

/**
 * For formats of at most 8 bits: magnitude code of a grid value, indexed by the value's f32
 * bits without the sign, shifted right by 23 - mantissaBits. Grid values carry at most
 * mantissaBits significant bits, so the index is unique per grid value.
 */
function codeLookup(format: FloatFormat): Uint8Array {
  let lookup = codeLookups.get(format);
  if (lookup) return lookup;
  const shift = 23 - format.mantissaBits;
  lookup = new Uint8Array(2 ** (31 - shift));
  lookup.fill(SPECIAL, 0x7f800000 >>> shift); // f32 exponent 255: Inf and NaN
  const table = codeTable(format);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let code = 0; code < 2 ** (format.exponentBits + format.mantissaBits); code++) {
    if (!Number.isFinite(table[code])) continue;
    f[0] = table[code];
    lookup[bits[0] >>> shift] = code;
  }
  codeLookups.set(format, lookup);
  return lookup;
}

/**
 * Codes of values that already lie on `format`'s grid (the output of `quantize`): a table
 * lookup on the f32 bits for formats of at most 8 bits, field arithmetic for wider ones.
 */
export function codesOfRounded(
  rounded: Float32Array,
  format: FloatFormat,
  codes: Uint8Array | Uint16Array,
): void {
  const m = format.mantissaBits;
  const magnitudeBits = format.exponentBits + m;
  const bits = new Uint32Array(rounded.buffer, rounded.byteOffset, rounded.length);
  if (format.bits <= 8 && format.signed) {
    const lookup = codeLookup(format);
    const shift = 23 - m;
    let special = 0;
    for (let i = 0; i < rounded.length; i++) {
      const b = bits[i];
      const c = lookup[(b & 0x7fffffff) >>> shift];
      special |= c;
      codes[i] = c | ((b >>> 31) << magnitudeBits);
    }
    if (special & SPECIAL) fixSpecials(rounded, format, codes);
    return;
  }
  const signBit = format.signed ? 2 ** magnitudeBits : 0;
  const minNormal = format.minNormal;
  const subnormalScale = 1 / format.minSubnormal;
  const shift = 23 - m;
  const mask = 2 ** m - 1;
  const bias = format.bias;
  for (let i = 0; i < rounded.length; i++) {
    const v = rounded[i];
    const b = bits[i];
    const negative = b >>> 31;
    if (!Number.isFinite(v)) {
      codes[i] = specialCode(v, i, format);
      continue;
    }
    const a = negative ? -v : v;
    let magnitude = a < minNormal
      ? a * subnormalScale
      : ((((b >>> 23) & 255) - 127 + bias) << m) | ((b >>> shift) & mask);
    if (negative) {
      if (signBit === 0) {
        if (a !== 0) {
          throw new RangeError(`values[${i}] is ${v}, but ${format.name} is unsigned`);
        }
      } else {
        magnitude += signBit;
      }
    }
    codes[i] = magnitude;
  }
}

function fixSpecials(rounded: Float32Array, format: FloatFormat, codes: Uint8Array | Uint16Array) {
  for (let i = 0; i < rounded.length; i++) {
    if (!Number.isFinite(rounded[i])) codes[i] = specialCode(rounded[i], i, format);
  }
}

/** The code of NaN or ±Inf in `format`, or a RangeError naming the index. */
function specialCode(v: number, index: number, format: FloatFormat): number {
  const m = format.mantissaBits;
  if (v !== v) {
    if (!format.hasNaN) {
      throw new RangeError(`values[${index}] is NaN, which ${format.name} cannot encode`);
    }
    return nanCode(format);
  }
  if (!format.hasInf) {
    throw new RangeError(`values[${index}] is ${v}, which ${format.name} cannot encode`);
  }
  const inf = (2 ** format.exponentBits - 1) * 2 ** m;
  return v < 0 && format.signed ? inf + 2 ** (format.exponentBits + m) : inf;
}
