/**
 * The quantized operand layout the kernels consume (declared here structurally, as agreed:
 * `@fp4lab/quant-granularity` produces values of this shape and kernels do not import it).
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
 * A quantized matrix, row-major with K (cols) contiguous. For `Y = A·W` both operands are
 * stored with K contiguous: A as [M, K], W as [N, K]. Element value, in f32 and this order:
 * `x̂[r][c] = (decode(code[r][c]) * scales[group(r, c)]) / tensorScale`.
 */
export interface QuantizedTensor {
  /** [rows, cols]; cols = K, the contiguous axis. */
  readonly shape: readonly [rows: number, cols: number];
  /** Element format (E2M1 for FP4). */
  readonly format: KernelFormat;
  /** Codes: 4-bit formats two per byte, low nibble first, rows padded to ceil(cols / 2) bytes. */
  readonly data: Uint8Array;
  /** Rows per scale group (1 per row / 1-D block, rows for per-tensor, 16 for 2-D blocks). */
  readonly blockRows: number;
  /** Columns per scale group (cols per row / tensor, 32 MX, 16 NVFP4). */
  readonly blockCols: number;
  /** f32 dequantization scale per group, row-major over [ceil(rows/blockRows), ceil(cols/blockCols)]. */
  readonly scales: Float32Array;
  /** f32 divisor applied last; 1 except NVFP4. */
  readonly tensorScale: number;
  /** How the scales are stored. */
  readonly scaleFormat: "f32" | "E8M0" | "UE4M3";
  /** The stored scale bytes when scaleFormat is E8M0 / UE4M3. */
  readonly scaleCodes?: Uint8Array;
  /** Scheme name, e.g. "absmax", "mxfp4", "nvfp4". */
  readonly scheme: string;
}
