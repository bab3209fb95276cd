/**
 * The data types of this package: a quantization scheme (plain data) and the quantized tensor it
 * produces (the operand layout the FP4 GEMM kernels consume).
 *
 * @module
 */
import type { FloatFormat, Rounding, Specials } from "@fp4lab/fp4-format";

// Re-exported so that the public types of this package are documented together.
export type { FloatFormat, Rounding, Specials };

/**
 * Which elements share a scale, for a matrix stored row-major with K (the reduction axis)
 * contiguous: activations A as [tokens, K], weights as Wᵀ [out channels, K].
 *
 * - `"tensor"`: one scale for the whole matrix.
 * - `"row"`: one scale per row, i.e. per token for activations and per output channel for weights
 *   stored [N, K]. `"token"` and `"channel"` are accepted as aliases of `"row"`.
 * - `"block"`: one scale per 1-D block of `blockSize` elements along K inside a row.
 * - `"block2d"`: one scale per `blockRows` × `blockSize` tile (16 × 16 for NVFP4 weights).
 */
export type Granularity = "tensor" | "row" | "token" | "channel" | "block" | "block2d";

/**
 * How a group's scale is derived from its absolute maximum (amax).
 *
 * - `"absmax"`: the plain f32 scale amax / maxNormal (the FP4 paper's equation).
 * - `"pow2-floor"`: the FP4 paper's released code: γ = maxNormal / amax floored to a power of two,
 *   so the scaled amax lands in (maxNormal / 2, maxNormal].
 * - `"e8m0-floor"`: OCP MX: X = 2^(floor(log2 amax) − emax), stored as an E8M0 byte.
 * - `"e8m0-ceil"`: torchao CEIL: X = 2^(ceil(log2 amax) − emax).
 * - `"e8m0-even"`: torchao EVEN: amax rounded to the element's mantissa width first, then floor.
 * - `"e8m0-rceil"`: TransformerEngine / cuBLAS: the smallest X = 2^e with amax ≤ maxNormal · X.
 * - `"nvfp4"`: NVFP4's two levels: an f32 tensor scale and a UE4M3 scale per group, in
 *   TransformerEngine's f32 operation order.
 */
export type ScaleRule =
  | "absmax"
  | "pow2-floor"
  | "e8m0-floor"
  | "e8m0-ceil"
  | "e8m0-even"
  | "e8m0-rceil"
  | "nvfp4";

/** A quantization scheme, as data: a new scheme is a new object, not new code. */
export interface QuantScheme {
  /** Name used in tables and as {@link QuantizedTensor.scheme}; default built from the fields. */
  readonly name?: string;
  /** Element format, e.g. `E2M1` for FP4. */
  readonly format: FloatFormat;
  /** Which elements share a scale. */
  readonly granularity: Granularity;
  /**
   * Group width along K for `"block"` and `"block2d"` (default 32 for `"block"`, 16 for
   * `"block2d"`). A width that does not divide K leaves a narrower last block, exactly as if the
   * row were zero-padded to a multiple of the width (zeros never change an absmax).
   */
  readonly blockSize?: number;
  /** Group height for `"block2d"` (default: `blockSize`, a square tile). */
  readonly blockRows?: number;
  /** How the scale is derived from a group's amax; default `"absmax"`. */
  readonly scaleRule?: ScaleRule;
  /** Element rounding, passed to `@fp4lab/fp4-format`'s `quantize`; default `"nearest-even"`. */
  readonly rounding?: Rounding;
  /** Seed of stochastic rounding; element (r, c) uses stream position r · cols + c. Default 0. */
  readonly seed?: number;
}

/** The scale storage formats of {@link QuantizedTensor}. */
export type ScaleFormat = "f32" | "E8M0" | "UE4M3";

/**
 * A quantized matrix, stored row-major with K (`cols`) contiguous: activations A as [M, K],
 * weights as Wᵀ [N, K], so per-token and per-output-channel scaling are both one scale per row.
 *
 * Element value, in f32 arithmetic and this order:
 * `x̂[r][c] = (decode(code[r][c]) · scales[group(r, c)]) / tensorScale`, where
 * `group(r, c) = floor(r / blockRows) · ceil(cols / blockCols) + floor(c / blockCols)`.
 * Scales are dequantization multipliers (amax / maxNormal for the `"absmax"` rule).
 */
export interface QuantizedTensor {
  /** [rows, cols]; cols = K, the contiguous axis. */
  readonly shape: readonly [rows: number, cols: number];
  /** Element format (E2M1 for FP4). */
  readonly format: FloatFormat;
  /**
   * Codes. 4-bit formats: two per byte, low nibble first, each row padded to ceil(cols / 2) bytes.
   * Wider formats (up to 8 bits): one byte per element.
   */
  readonly data: Uint8Array;
  /** Scale group height: rows for per-tensor, 1 for per-row and 1-D blocks. */
  readonly blockRows: number;
  /** Scale group width: cols for per-tensor and per-row, the block size for blocks. */
  readonly blockCols: number;
  /** Decoded f32 scale per group, row-major over [ceil(rows/blockRows), ceil(cols/blockCols)]. */
  readonly scales: Float32Array;
  /** f32 divisor applied last: 1 except for NVFP4, where it is the tensor scale s_enc. */
  readonly tensorScale: number;
  /** How the scales are stored. */
  readonly scaleFormat: ScaleFormat;
  /** The stored scale bytes when `scaleFormat` is `"E8M0"` or `"UE4M3"`. */
  readonly scaleCodes?: Uint8Array;
  /** The scheme's name, e.g. `"mxfp4"`, `"nvfp4"`, `"E2M1/row/absmax"`. */
  readonly scheme: string;
  /**
   * How many elements saturated: |x / scale| above the format's max normal (before rounding).
   * Set by `quantizeTensor`; absent on tensors built from checkpoints.
   */
  readonly clipped?: number;
}
