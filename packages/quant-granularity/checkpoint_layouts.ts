/**
 * Published low-precision checkpoint layouts, decoded from and encoded to raw tensor bytes:
 * gpt-oss MXFP4 (`*_blocks` + `*_scales`) and NVIDIA ModelOpt NVFP4 (`weight`, `weight_scale`,
 * `weight_scale_2`). A loader must not trust dtype tags alone (real files store E8M0 scales as
 * U8), so each decoder checks dtypes and shapes against the layout and fails loudly on a mismatch.
 *
 * @module
 */
import { codeTable, decodeE8M0, E2M1, E4M3 } from "@fp4lab/fp4-format";
import { MXFP4, NVFP4 } from "./presets.ts";
import { quantizeTensor } from "./quantize_tensor.ts";
import type { SafetensorsDtype, SafetensorsTensor } from "./safetensors.ts";
import type { QuantizedTensor, ScaleRule } from "./types.ts";

/** Raw bytes of a tensor with its shape; `dtype`, when present, is checked against the layout. */
export interface TensorBytes {
  /** The dtype tag, if known (e.g. from a safetensors header). */
  readonly dtype?: SafetensorsDtype;
  /** The tensor's shape. */
  readonly shape: readonly number[];
  /** Its bytes, row-major. */
  readonly data: Uint8Array;
}

/** A decoded tensor: f32 values and their shape. */
export interface DecodedTensor {
  /** The shape of the values (for packed layouts, in elements). */
  readonly shape: number[];
  /** The values, row-major. */
  readonly values: Float32Array;
}

function check(
  name: string,
  t: TensorBytes,
  dtypes: readonly SafetensorsDtype[],
  elementBytes = 1,
): number {
  if (t === null || typeof t !== "object" || !(t.data instanceof Uint8Array)) {
    throw new TypeError(`${name} must be { shape, data: Uint8Array }`);
  }
  if (t.dtype !== undefined && !dtypes.includes(t.dtype)) {
    throw new RangeError(
      `${name}.dtype must be ${dtypes.join(" or ")} for this layout, got ${t.dtype}`,
    );
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(
      `${name}.shape must be non-negative integers, got ${JSON.stringify(t.shape)}`,
    );
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== count * elementBytes) {
    throw new RangeError(
      `${name}.data has ${t.data.length} bytes, shape ${JSON.stringify(t.shape)} needs ${
        count * elementBytes
      }`,
    );
  }
  return count;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks a gpt-oss blocks/scales pair and returns [lead dims, number of 32-element groups]. */
function checkGptOss(blocks: TensorBytes, scales: TensorBytes): [number[], number] {
  check("blocks", blocks, ["U8", "I8"]);
  check("scales", scales, ["U8", "I8", "F8_E8M0"]);
  const shape = blocks.shape;
  if (shape.length < 2 || shape[shape.length - 1] !== 16) {
    throw new RangeError(
      `blocks.shape must be [..., G, 16] (16 bytes = 32 FP4 values per block), got ${
        JSON.stringify(shape)
      }`,
    );
  }
  const lead = shape.slice(0, -2);
  const groups = shape[shape.length - 2];
  if (!sameShape(scales.shape, [...lead, groups])) {
    throw new RangeError(
      `scales.shape must be ${
        JSON.stringify([...lead, groups])
      } (one E8M0 byte per block of blocks.shape ${JSON.stringify(shape)}), got ${
        JSON.stringify(scales.shape)
      }`,
    );
  }
  return [lead, groups];
}

/**
 * Decodes the gpt-oss MXFP4 layout: `blocks` U8 [..., G, 16] holds 32 E2M1 codes per 16 bytes
 * (low nibble = element 2j, high nibble = element 2j + 1), `scales` U8 [..., G] holds one E8M0
 * byte per block (value 2^(byte − 127); 0xFF reads as NaN, per OCP MX). Value = E2M1(code) ·
 * 2^(byte − 127), rounded once to f32.
 *
 * @param blocks the `*_blocks` tensor
 * @param scales the `*_scales` tensor
 * @returns the values, shape [..., G · 32]
 * @throws {RangeError} for dtypes or shapes that do not fit the layout
 *
 * @example
 * ```ts
 * import { decodeGptOssMxfp4 } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const blocks = new Uint8Array(16).fill(0x21); // codes 1, 2 = 0.5, 1 repeated
 * const { shape, values } = decodeGptOssMxfp4(
 *   { shape: [1, 16], data: blocks },
 *   { shape: [1], data: new Uint8Array([128]) }, // 2^1
 * );
 * assert.deepEqual(shape, [32]);
 * assert.deepEqual(values.slice(0, 4), new Float32Array([1, 2, 1, 2]));
 * ```
 */
export function decodeGptOssMxfp4(blocks: TensorBytes, scales: TensorBytes): DecodedTensor {
  const [lead, groups] = checkGptOss(blocks, scales);
  const lut = codeTable(E2M1);
  const pow2 = new Float64Array(256);
  for (let b = 0; b < 256; b++) pow2[b] = b === 0xff ? NaN : 2 ** (b - 127);
  const bytes = blocks.data;
  const scaleBytes = scales.data;
  const values = new Float32Array(bytes.length * 2);
  for (let g = 0; g < scaleBytes.length; g++) {
    const s = pow2[scaleBytes[g]];
    for (let j = 16 * g; j < 16 * g + 16; j++) {
      const byte = bytes[j];
      values[2 * j] = lut[byte & 15] * s;
      values[2 * j + 1] = lut[byte >> 4] * s;
    }
  }
  return { shape: [...lead, groups * 32], values };
}

/**
 * Views a gpt-oss MXFP4 pair as a {@link QuantizedTensor} without copying the codes: the layout
 * is already the operand layout (rows = product of the leading dims, K = G · 32, two codes per
 * byte low nibble first), so the FP4 GEMM can consume checkpoint experts directly.
 * `dequantize` of the result equals {@link decodeGptOssMxfp4} bit for bit.
 *
 * @param blocks the `*_blocks` tensor
 * @param scales the `*_scales` tensor
 * @returns the quantized matrix, scheme `"gpt-oss-mxfp4"`
 * @throws {RangeError} for dtypes or shapes that do not fit the layout
 *
 * @example
 * ```ts
 * import { gptOssMxfp4ToQuantized } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const q = gptOssMxfp4ToQuantized(
 *   { shape: [2, 1, 16], data: new Uint8Array(32) },
 *   { shape: [2, 1], data: new Uint8Array([127, 130]) },
 * );
 * assert.deepEqual(q.shape, [2, 32]);
 * assert.deepEqual(q.scales, new Float32Array([1, 8]));
 * ```
 */
export function gptOssMxfp4ToQuantized(blocks: TensorBytes, scales: TensorBytes): QuantizedTensor {
  const [lead, groups] = checkGptOss(blocks, scales);
  const rows = lead.reduce((a, b) => a * b, 1);
  if (rows === 0 || groups === 0) throw new RangeError("blocks must hold at least one block");
  return {
    shape: [rows, groups * 32],
    format: E2M1,
    data: blocks.data,
    blockRows: 1,
    blockCols: 32,
    scales: decodeE8M0(scales.data),
    tensorScale: 1,
    scaleFormat: "E8M0",
    scaleCodes: scales.data,
    scheme: "gpt-oss-mxfp4",
  };
}

/**
 * Encodes values into the gpt-oss MXFP4 layout with {@link MXFP4} (E8M0 scales by the OCP `floor`
 * rule unless another E8M0 rule is named). The last axis must be a multiple of 32: the layout has
 * no field for a true width, so padding would not survive a round trip.
 *
 * @param values the values, row-major
 * @param shape their shape, last axis K a multiple of 32
 * @param options `scaleRule`: an E8M0 rule (default `"e8m0-floor"`)
 * @returns `blocks` (U8 [..., K/32, 16]) and `scales` (U8 [..., K/32]) tensors
 * @throws {RangeError} for a shape that does not match, a K not divisible by 32, a non-E8M0
 *   rule, or NaN in `values`
 *
 * @example
 * ```ts
 * import { encodeGptOssMxfp4 } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const { blocks, scales } = encodeGptOssMxfp4(new Float32Array(64).fill(3), [2, 32]);
 * assert.deepEqual(blocks.shape, [2, 1, 16]);
 * assert.deepEqual(scales.shape, [2, 1]);
 * assert.deepEqual(scales.data, new Uint8Array([126, 126])); // 3 = 6 · 2^-1
 * ```
 */
export function encodeGptOssMxfp4(
  values: Float32Array,
  shape: readonly number[],
  options: { scaleRule?: ScaleRule } = {},
): { blocks: SafetensorsTensor; scales: SafetensorsTensor } {
  const scaleRule = options.scaleRule ?? "e8m0-floor";
  if (!scaleRule.startsWith("e8m0")) {
    throw new RangeError(`options.scaleRule must be an E8M0 rule for MXFP4, got ${scaleRule}`);
  }
  const [rows, cols] = matrixOf(values, shape);
  if (cols % 32 !== 0) {
    throw new RangeError(
      `the last axis of shape must be a multiple of 32 for gpt-oss MXFP4, got ${cols}`,
    );
  }
  const q = quantizeTensor(values, rows, cols, { ...MXFP4, scaleRule });
  const lead = shape.slice(0, -1);
  return {
    blocks: { dtype: "U8", shape: [...lead, cols / 32, 16], data: q.data },
    scales: { dtype: "U8", shape: [...lead, cols / 32], data: q.scaleCodes! },
  };
}

function matrixOf(values: Float32Array, shape: readonly number[]): [number, number] {
  if (!(values instanceof Float32Array)) throw new TypeError("values must be a Float32Array");
  if (
    !Array.isArray(shape) || shape.length < 1 ||
    !shape.every((d) => Number.isSafeInteger(d) && d >= 1)
  ) {
    throw new RangeError(
      `shape must be positive integers, at least one axis, got ${JSON.stringify(shape)}`,
    );
  }
  const cols = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (values.length !== rows * cols) {
    throw new RangeError(
      `values.length must be ${rows * cols} for shape ${
        JSON.stringify(shape)
      }, got ${values.length}`,
    );
  }
  return [rows, cols];
}

/**
 * Decodes NVIDIA ModelOpt's NVFP4 Linear layout: `weight` U8 [out, in/2] (two E2M1 codes per byte,
 * low nibble first), `weight_scale` F8_E4M3 [out, in/16], `weight_scale_2` F32 scalar.
 * W = (E2M1(code) · f32(weight_scale)) · weight_scale_2, each product rounded to f32.
 *
 * @param weight the `weight` tensor
 * @param weightScale the `weight_scale` tensor
 * @param weightScale2 the `weight_scale_2` tensor (shape [] or [1])
 * @returns the weight, shape [out, in]
 * @throws {RangeError} for dtypes or shapes that do not fit the layout
 *
 * @example
 * ```ts
 * import { decodeModelOptNvfp4 } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const { shape, values } = decodeModelOptNvfp4(
 *   { dtype: "U8", shape: [1, 8], data: new Uint8Array(8).fill(0x72) }, // codes 2, 7 = 1, 6
 *   { dtype: "F8_E4M3", shape: [1, 1], data: new Uint8Array([0x40]) }, // 2
 *   { dtype: "F32", shape: [], data: new Uint8Array(new Float32Array([0.5]).buffer) },
 * );
 * assert.deepEqual(shape, [1, 16]);
 * assert.deepEqual(values.slice(0, 2), new Float32Array([1, 6]));
 * ```
 */
export function decodeModelOptNvfp4(
  weight: TensorBytes,
  weightScale: TensorBytes,
  weightScale2: TensorBytes,
): DecodedTensor {
  check("weight", weight, ["U8", "I8"]);
  check("weightScale", weightScale, ["F8_E4M3", "U8"]);
  check("weightScale2", weightScale2, ["F32"], 4);
  if (weight.shape.length !== 2) {
    throw new RangeError(`weight.shape must be [out, in/2], got ${JSON.stringify(weight.shape)}`);
  }
  const [rows, half] = weight.shape;
  const cols = half * 2;
  if (cols % 16 !== 0 || !sameShape(weightScale.shape, [rows, cols / 16])) {
    throw new RangeError(
      `weightScale.shape must be [out, in/16] = ${
        JSON.stringify([rows, cols / 16])
      } for weight.shape ${JSON.stringify(weight.shape)}, got ${JSON.stringify(weightScale.shape)}`,
    );
  }
  if (weightScale2.data.length !== 4) {
    throw new RangeError(
      `weightScale2 must be one F32 value, got shape ${JSON.stringify(weightScale2.shape)}`,
    );
  }
  const global = new DataView(weightScale2.data.buffer, weightScale2.data.byteOffset, 4).getFloat32(
    0,
    true,
  );
  const lut = codeTable(E2M1);
  const e4m3 = codeTable(E4M3);
  const values = new Float32Array(rows * cols);
  const bytes = weight.data;
  const scaleBytes = weightScale.data;
  for (let b = 0; b < scaleBytes.length; b++) {
    const s = e4m3[scaleBytes[b]];
    for (let j = 8 * b; j < 8 * b + 8; j++) {
      const byte = bytes[j];
      values[2 * j] = Math.fround(lut[byte & 15] * s) * global;
      values[2 * j + 1] = Math.fround(lut[byte >> 4] * s) * global;
    }
  }
  return { shape: [rows, cols], values };
}

/**
 * Encodes a weight [out, in] into ModelOpt's NVFP4 layout with {@link NVFP4} (TransformerEngine's
 * f32 order for codes and block scales); `weight_scale_2` is f32(1 / s_enc), the tensor decode
 * scale. Decoding multiplies by it where {@link dequantize} divides by s_enc, so the two can
 * differ in the last bit. `in` must be a multiple of 16.
 *
 * @param values the weight, row-major [out, in]
 * @param rows out (output channels)
 * @param cols in (K), a multiple of 16
 * @returns `weight`, `weight_scale` and `weight_scale_2` tensors
 * @throws {RangeError} for a shape mismatch, `in` not divisible by 16, or non-finite values
 *
 * @example
 * ```ts
 * import { encodeModelOptNvfp4 } from "@fp4lab/quant-granularity";
 * import assert from "node:assert/strict";
 * const t = encodeModelOptNvfp4(new Float32Array(32).fill(1), 2, 16);
 * assert.deepEqual(t.weight.shape, [2, 8]);
 * assert.deepEqual(t.weight_scale.shape, [2, 1]);
 * assert.deepEqual(t.weight_scale_2.shape, []);
 * ```
 */
export function encodeModelOptNvfp4(
  values: Float32Array,
  rows: number,
  cols: number,
): {
  weight: SafetensorsTensor;
  weight_scale: SafetensorsTensor;
  weight_scale_2: SafetensorsTensor;
} {
  if (Number.isSafeInteger(cols) && cols % 16 !== 0) {
    throw new RangeError(`cols must be a multiple of 16 for ModelOpt NVFP4, got ${cols}`);
  }
  const q = quantizeTensor(values, rows, cols, NVFP4);
  const global = new Uint8Array(4);
  new DataView(global.buffer).setFloat32(0, Math.fround(1 / q.tensorScale), true);
  return {
    weight: { dtype: "U8", shape: [rows, cols / 2], data: q.data },
    weight_scale: { dtype: "F8_E4M3", shape: [rows, cols / 16], data: q.scaleCodes! },
    weight_scale_2: { dtype: "F32", shape: [], data: global },
  };
}
