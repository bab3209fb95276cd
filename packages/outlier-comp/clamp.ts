/**
 * Outlier clamping with compensation (the FP4 paper's OCC): clamp at quantiles, keep the residual
 * ΔA = A − A_c as a sparse CSR matrix built in the same pass.
 *
 * @module
 */
import { checkAlpha, checkFloat32Array, checkShape } from "./_check.ts";
import type { CsrMatrix } from "./csr.ts";
import { MAX_EXTREME_BUFFER, scanExtremes } from "./_extremes.ts";
import {
  checkScope,
  finiteCopy,
  quantileRanks,
  type QuantileScope,
  selectPair,
} from "./quantile.ts";

/** Options of {@link clampOutliers}. */
export interface ClampOptions {
  /** Upper quantile α in (0.5, 1); values below q_{1−α} or above q_α are clamped. Default 0.99. */
  alpha?: number;
  /** `"row"` (default: per token, as the released code) or `"tensor"`. */
  scope?: QuantileScope;
  /** Output buffer for the clamped matrix (may be `values` itself). */
  out?: Float32Array;
}

/** What {@link clampOutliers} returns. */
export interface ClampResult {
  /** A_c = clamp(A, q_{1−α}, q_α), row-major `[rows, cols]`. */
  clamped: Float32Array;
  /** ΔA = A − A_c in CSR form: exactly the clamped entries, each f32(a − threshold). */
  residual: CsrMatrix;
  /**
   * Fraction of entries that were clamped (non-zeros of ΔA over rows·cols), the paper's
   * "sparsity" of the outliers: about 2(1 − α), at most (⌊(1−α)C⌋ + C − 1 − ⌊αC⌋)/C per group
   * of C values.
   */
  sparsity: number;
  /** The lower thresholds, one per row (length 1 for scope "tensor"). */
  lower: Float32Array;
  /** The upper thresholds, one per row (length 1 for scope "tensor"). */
  upper: Float32Array;
}

/**
 * Clamps an activation matrix `[rows, cols]` (rows = tokens) at its quantiles q_{1−α} and q_α
 * (exact, by selection; per token by default) and returns the clamped matrix, the residual
 * ΔA = A − A_c as CSR (built directly: no dense residual is ever formed), and the sparsity
 * reached. The low-precision GEMM then runs on Q(A_c) and `csrMatmul(residual, W_q, …)` adds
 * the compensation ΔA·W_q in f32. Values equal to a threshold are kept, so at most
 * ⌊(1−α)C⌋ values below and C − 1 − ⌊αC⌋ above are clamped per group of C; note that with
 * per-token scope a row of C < 1/(1 − α) values clamps nothing (e.g. α = 0.999, C = 768).
 *
 * @param values the activations, row-major `[rows, cols]`
 * @param rows number of rows (tokens)
 * @param cols number of columns (channels)
 * @param options `alpha` (default 0.99), `scope` (default `"row"`), `out`
 * @returns the clamped matrix, the CSR residual, the sparsity and the thresholds
 * @throws {TypeError} when `values` or `out` is not a Float32Array
 * @throws {RangeError} for α outside (0.5, 1), an unknown scope, a shape mismatch, a wrong-length
 *   `out`, or a NaN or infinite value (naming its index)
 *
 * @example
 * ```ts
 * import { clampOutliers, csrToDense } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const a = new Float32Array([0.1, -0.2, 0.3, 40, -0.5, 0.6, -0.7, 0.8, 0.9, -1]);
 * const { clamped, residual, sparsity } = clampOutliers(a, 1, 10, { alpha: 0.8 });
 * const expected = new Float32Array([0.1, -0.2, 0.3, 0.9, -0.5, 0.6, -0.7, 0.8, 0.9, -0.7]);
 * assert.deepEqual(clamped, expected);
 * const delta = Array.from(csrToDense(residual), (v) => +v.toFixed(4)); // f32: 39.099998…
 * assert.deepEqual(delta, [0, 0, 0, 39.1, 0, 0, 0, 0, 0, -0.3]);
 * assert.equal(sparsity, 0.2);
 * ```
 */
export function clampOutliers(
  values: Float32Array,
  rows: number,
  cols: number,
  options: ClampOptions = {},
): ClampResult {
  checkFloat32Array("values", values);
  checkShape(values.length, rows, cols);
  const alpha = checkAlpha(options.alpha ?? 0.99);
  const scope = checkScope(options.scope ?? "row");
  const n = values.length;
  const clamped = options.out ?? new Float32Array(n);
  checkFloat32Array("options.out", clamped);
  if (clamped.length !== n) {
    throw new RangeError(`options.out must have length ${n}, got ${clamped.length}`);
  }
  const group = scope === "row" ? cols : n;
  const [kLo, kHi] = quantileRanks(group, alpha);
  // The most entries a group can clamp: those ranked strictly below kLo or above kHi.
  const perGroup = kLo + (group - 1 - kHi);
  const capacity = scope === "row" ? rows * perGroup : perGroup;
  const rowOffsets = new Int32Array(rows + 1);
  const columnIndices = new Int32Array(capacity);
  const residualValues = new Float32Array(capacity);
  let nnz = 0;
  let lower: Float32Array;
  let upper: Float32Array;
  if (scope === "tensor") {
    const scratch = finiteCopy(values, 0, n, new Float32Array(n));
    const [lo, hi] = selectPair(scratch, n, alpha);
    lower = Float32Array.of(lo);
    upper = Float32Array.of(hi);
    for (let r = 0; r < rows; r++) {
      nnz = clampRow(values, r * cols, cols, lo, hi, clamped, columnIndices, residualValues, nnz);
      rowOffsets[r + 1] = nnz;
    }
  } else {
    lower = new Float32Array(rows);
    upper = new Float32Array(rows);
    const scratch = new Float32Array(cols);
    const useScan = kLo + 1 <= MAX_EXTREME_BUFFER && cols - kHi <= MAX_EXTREME_BUFFER;
    const low = new Float32Array(useScan ? kLo + 1 : 0);
    const high = new Float32Array(useScan ? cols - kHi : 0);
    const pair = new Float32Array(2);
    for (let r = 0; r < rows; r++) {
      const start = r * cols;
      if (useScan && scanExtremes(values, start, cols, kLo, kHi, low, high, pair)) {
        lower[r] = pair[0];
        upper[r] = pair[1];
      } else {
        finiteCopy(values, start, cols, scratch);
        [lower[r], upper[r]] = selectPair(scratch, cols, alpha);
      }
      nnz = clampRow(
        values,
        start,
        cols,
        lower[r],
        upper[r],
        clamped,
        columnIndices,
        residualValues,
        nnz,
      );
      rowOffsets[r + 1] = nnz;
    }
  }
  return {
    clamped,
    residual: {
      rows,
      cols,
      rowOffsets,
      columnIndices: columnIndices.subarray(0, nnz),
      values: residualValues.subarray(0, nnz),
    },
    sparsity: nnz / n,
    lower,
    upper,
  };
}

/** Clamps one row into `out` and appends its residual entries; returns the new entry count. */
function clampRow(
  values: Float32Array,
  start: number,
  cols: number,
  lo: number,
  hi: number,
  out: Float32Array,
  columnIndices: Int32Array,
  residual: Float32Array,
  nnz: number,
): number {
  for (let c = 0; c < cols; c++) {
    const v = values[start + c];
    if (v < lo) {
      out[start + c] = lo;
      columnIndices[nnz] = c;
      residual[nnz++] = v - lo;
    } else if (v > hi) {
      out[start + c] = hi;
      columnIndices[nnz] = c;
      residual[nnz++] = v - hi;
    } else {
      out[start + c] = v;
    }
  }
  return nnz;
}
