/**
 * Element-wise quantization kernels on the CPU twin: quantize + pack, dequantize and
 * fake-quantize for E2M1, E4M3, E5M2 and BF16, bit-exact against `@fp4lab/fp4-format`'s
 * `quantize` / `encode` with their defaults (round to nearest even, saturating, ±Inf too).
 *
 * @module
 */
import type { KernelFormat } from "./quantized_tensor.ts";
import { arena, kernelExports, memoryBuffer } from "./runtime.ts";

/** The format fields these kernels read (fp4-format's FloatFormat has them all). */
export interface ElementFormat extends KernelFormat {
  /** Exponent bias. */
  readonly bias: number;
  /** Largest finite value. */
  readonly maxNormal: number;
}

/** Options of the element-wise kernels. */
export interface ElementOptions {
  /**
   * f32 inverse scale (the multiplier applied before rounding): quantize x·inverseScale,
   * dequantize code / inverseScale. Default 1; finite, non-zero.
   */
  inverseScale?: number;
}

interface Spec {
  ebits: number;
  mbits: number;
  bias: number;
  max: number;
  nan: number;
  width: 4 | 8 | 16;
  ieee: boolean;
}

const SPECS: Record<string, Spec> = {
  E2M1: { ebits: 2, mbits: 1, bias: 1, max: 6, nan: -1, width: 4, ieee: false },
  E4M3: { ebits: 4, mbits: 3, bias: 7, max: 448, nan: 0x7f, width: 8, ieee: false },
  E5M2: { ebits: 5, mbits: 2, bias: 15, max: 57344, nan: 0x7e, width: 8, ieee: true },
  BF16: {
    ebits: 8,
    mbits: 7,
    bias: 127,
    max: (2 - 2 ** -7) * 2 ** 127,
    nan: 0x7fc0,
    width: 16,
    ieee: true,
  },
};

function spec(format: ElementFormat): Spec {
  const s = format && Object.hasOwn(SPECS, format.name) ? SPECS[format.name] : undefined;
  if (
    !s || format.exponentBits !== s.ebits || format.mantissaBits !== s.mbits ||
    format.bias !== s.bias
  ) {
    throw new RangeError(
      `format must be one of E2M1, E4M3, E5M2, BF16 (OCP / bfloat16), got ${format?.name}`,
    );
  }
  return s;
}

function scaleOf(options: ElementOptions): number {
  if ("scale" in options) {
    throw new RangeError(
      "options.scale is now options.inverseScale (the multiplier applied before rounding)",
    );
  }
  const s = Math.fround(options.inverseScale ?? 1);
  if (!Number.isFinite(s) || s === 0) {
    throw new RangeError(
      `options.inverseScale must be a finite non-zero f32, got ${options.inverseScale}`,
    );
  }
  return s;
}

function checkValues(values: Float32Array): void {
  if (!(values instanceof Float32Array)) throw new TypeError("values must be a Float32Array");
}

/** Number of storage elements the packed codes of `n` values take in `format`. */
function codeLength(s: Spec, n: number): number {
  return s.width === 4 ? Math.ceil(n / 2) : n;
}

/**
 * Quantize + pack: the codes of `Q(values · inverseScale)` (round to nearest even, saturating).
 * E2M1 gives two codes per byte, low nibble first (the last high nibble is 0 for an odd
 * count); E4M3 / E5M2 one byte per value (NaN → 0x7F / 0x7E); BF16 one `Uint16Array` element.
 *
 * @param values the f32 values
 * @param format E2M1, E4M3, E5M2 or BF16 (fp4-format's format objects)
 * @param options inverseScale
 * @returns the packed codes (`Uint16Array` for BF16, `Uint8Array` otherwise)
 * @throws {RangeError} for another format, a bad scale, or NaN in E2M1 (naming the index)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { quantizePack } from "@fp4lab/kernels";
 * assert.deepEqual(Array.from(quantizePack(new Float32Array([1, -6, 0.5, 3]), E2M1)), [0xf2, 0x51]);
 * ```
 */
export function quantizePack(
  values: Float32Array,
  format: ElementFormat,
  options: ElementOptions = {},
): Uint8Array | Uint16Array {
  checkValues(values);
  const s = spec(format);
  const scale = scaleOf(options);
  const n = values.length;
  const len = codeLength(s, n);
  const out = s.width === 16 ? new Uint16Array(len) : new Uint8Array(len);
  if (n === 0) return out;
  const bytes = out.byteLength;
  const base = arena(n * 4 + bytes + 16);
  const vPtr = base, cPtr = base + n * 4;
  const mem = memoryBuffer();
  new Float32Array(mem, vPtr, n).set(values);
  const ex = kernelExports();
  if (s.nan < 0) {
    const bad = ex.firstNaN(vPtr, n) as number;
    if (bad >= 0) throw new RangeError(`values[${bad}] is NaN, which ${format.name} cannot encode`);
  }
  new Uint8Array(mem, cPtr, bytes).fill(0);
  ex.quantizePackF32(vPtr, cPtr, n, s.ebits, s.mbits, s.bias, s.max, scale, s.nan, s.width);
  new Uint8Array(out.buffer).set(new Uint8Array(mem, cPtr, bytes));
  return out;
}

/**
 * Dequantize codes laid out as {@link quantizePack} writes them: `decode(code) / inverseScale`.
 *
 * @param codes the packed codes
 * @param format E2M1, E4M3, E5M2 or BF16
 * @param length the number of values
 * @param options inverseScale
 * @returns the f32 values
 * @throws {TypeError} / {RangeError} for a wrong code array type or length, or a bad scale
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { dequantizeCodes } from "@fp4lab/kernels";
 * assert.deepEqual(Array.from(dequantizeCodes(new Uint8Array([0xf2, 0x51]), E2M1, 4)), [1, -6, 0.5, 3]);
 * ```
 */
export function dequantizeCodes(
  codes: Uint8Array | Uint16Array,
  format: ElementFormat,
  length: number,
  options: ElementOptions = {},
): Float32Array {
  const s = spec(format);
  const scale = scaleOf(options);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  }
  const want = s.width === 16 ? Uint16Array : Uint8Array;
  if (!(codes instanceof want)) {
    throw new TypeError(`codes must be a ${want.name} for ${format.name}`);
  }
  const len = codeLength(s, length);
  if (codes.length !== len) {
    throw new RangeError(
      `codes must hold ${len} elements for ${length} values, got ${codes.length}`,
    );
  }
  const out = new Float32Array(length);
  if (length === 0) return out;
  const base = arena(codes.byteLength + length * 4 + 16);
  const cPtr = base, vPtr = base + Math.ceil(codes.byteLength / 4) * 4;
  const mem = memoryBuffer();
  new Uint8Array(mem, cPtr, codes.byteLength).set(
    new Uint8Array(codes.buffer, codes.byteOffset, codes.byteLength),
  );
  kernelExports().dequantizeF32(
    cPtr,
    vPtr,
    length,
    s.ebits,
    s.mbits,
    s.bias,
    scale,
    s.ieee ? 1 : 0,
    format.name === "E4M3" ? 1 : 0,
    s.width,
  );
  out.set(new Float32Array(mem, vPtr, length));
  return out;
}

/**
 * Fake quantization: `Q(values · inverseScale) / inverseScale` in f32, the same numbers as
 * fp4-format's `quantize(values, format, { inverseScale })`.
 *
 * @param values the f32 values
 * @param format E2M1, E4M3, E5M2 or BF16
 * @param options inverseScale
 * @param out output buffer of the same length (may be `values`)
 * @returns `out`, or a new array
 * @throws {TypeError} / {RangeError} for bad arguments
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { fakeQuantize } from "@fp4lab/kernels";
 * assert.deepEqual(Array.from(fakeQuantize(new Float32Array([0.3, 2.5, -5, 7]), E2M1)), [0.5, 2, -4, 6]);
 * ```
 */
export function fakeQuantize(
  values: Float32Array,
  format: ElementFormat,
  options: ElementOptions = {},
  out: Float32Array = new Float32Array(values?.length ?? 0),
): Float32Array {
  checkValues(values);
  const s = spec(format);
  const scale = scaleOf(options);
  if (!(out instanceof Float32Array) || out.length !== values.length) {
    throw new RangeError(`out must be a Float32Array of length ${values.length}`);
  }
  const n = values.length;
  if (n === 0) return out;
  // Cache-sized chunks: the copies in and out of wasm memory then hit L2, not DRAM.
  const chunk = Math.min(n, FAKE_QUANT_CHUNK);
  const base = arena(chunk * 4);
  const mem = memoryBuffer();
  const staging = new Float32Array(mem, base, chunk);
  const fakeQuantF32 = kernelExports().fakeQuantF32;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    const view = len === chunk ? staging : staging.subarray(0, len);
    view.set(values.subarray(start, start + len));
    fakeQuantF32(base, base, len, s.ebits, s.mbits, s.bias, s.max, scale);
    out.set(view, start);
  }
  return out;
}

/** Elements per chunk of {@link fakeQuantize}: 128 KiB in and out, a multiple of 4 lanes. */
const FAKE_QUANT_CHUNK = 32768;
