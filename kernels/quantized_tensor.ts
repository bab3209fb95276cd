/**
 * The quantized operand the kernels consume, `QuantizedTensor`, and `KernelFormat`, the subset of
 * a format the element-wise kernels read. Both are declared here structurally, so that
 * `@fp4lab/kernels` depends on no other fp4lab package: `@fp4lab/quant-granularity` (whose
 * `quantizeTensor` produces the operand, and which runs its quantizers on these kernels) declares
 * the same fields with its full format type, and its tensors are assignable to this one.
 *
 * @module
 */

/** The fields of a minifloat format the kernels read (a subset of fp4-format's FloatFormat). */
export interface KernelFormat {
  /** Name such as `"E2M1"`. */
  readonly name: string;
  /** Exponent field width in bits. */
  readonly exponentBits: number;
  /** Mantissa field width in bits. */
  readonly mantissaBits: number;
  /** Total bits of a code. */
  readonly bits: number;
}

/**
 * The quantized operand the FP4 GEMM reads: codes and scales of a matrix stored row-major with K
 * (`cols`) contiguous; the fields of `@fp4lab/quant-granularity`'s `QuantizedTensor`.
 *
 * Element value, in f32 arithmetic and this order:
 * `x̂[r][c] = (decode(code[r][c]) · scales[group(r, c)]) / tensorScale`, where
 * `group(r, c) = floor(r / blockRows) · ceil(cols / blockCols) + floor(c / blockCols)`.
 */
export interface QuantizedTensor {
  /** [rows, cols]; cols = K, the contiguous axis. */
  readonly shape: readonly [rows: number, cols: number];
  /** Element format (E2M1 for FP4). */
  readonly format: KernelFormat;
  /** Codes: 4-bit formats two per byte, low nibble first, each row padded to ceil(cols / 2) bytes. */
  readonly data: Uint8Array;
  /** Scale group height. */
  readonly blockRows: number;
  /** Scale group width. */
  readonly blockCols: number;
  /** Decoded f32 scale per group, row-major over [ceil(rows/blockRows), ceil(cols/blockCols)]. */
  readonly scales: Float32Array;
  /** f32 divisor applied last: 1 except for NVFP4, where it is the tensor scale. */
  readonly tensorScale: number;
  /** How the scales are stored. */
  readonly scaleFormat: "f32" | "E8M0" | "UE4M3";
  /** The stored scale bytes when `scaleFormat` is `"E8M0"` or `"UE4M3"`. */
  readonly scaleCodes?: Uint8Array;
  /** The scheme's name, e.g. `"mxfp4"`. */
  readonly scheme: string;
  /** How many elements saturated, where the producer counted them. */
  readonly clipped?: number;
}
