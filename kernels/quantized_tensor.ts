/**
 * The quantized operand the kernels consume, `QuantizedTensor`, is declared once in
 * `@fp4lab/quant-granularity` (which produces it) and re-exported here; `KernelFormat` is the
 * subset of a format the element-wise kernels read.
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
 * The quantized operand the FP4 GEMM reads: codes and scales. Declared once, in
 * `@fp4lab/quant-granularity` (whose `quantizeTensor` produces it); re-exported here.
 */
export type { QuantizedTensor } from "@fp4lab/quant-granularity";
