/**
 * Compressed sparse row (CSR) matrices and the sparse × dense product that adds the outlier
 * compensation ΔA·W to the low-precision GEMM.
 *
 * @module
 */
import { checkFloat32Array } from "./_check.ts";

/**
 * A sparse matrix in CSR form (scipy's `indptr`, `indices`, `data`). Row r holds the entries
 * `rowOffsets[r] <= i < rowOffsets[r + 1]`, at columns `columnIndices[i]` (increasing within a
 * row) with values `values[i]`.
 */
export interface CsrMatrix {
  /** Number of rows. */
  readonly rows: number;
  /** Number of columns. */
  readonly cols: number;
  /** Start of each row's entries, `rows + 1` offsets; the last one is the entry count. */
  readonly rowOffsets: Int32Array;
  /** Column of each entry. */
  readonly columnIndices: Int32Array;
  /** Value of each entry. */
  readonly values: Float32Array;
}

/** Layout of the dense operand of {@link csrMatmul}. */
export type DenseLayout = "nn" | "nt";

/**
 * Sparse × dense: `out[rows, n] = csr · B`, or `out += csr · B` with `accumulate`, all f32 in and
 * out. With layout `"nn"` B is `[csr.cols, n]` row-major (math layout); with `"nt"` B is
 * `[n, csr.cols]` row-major, i.e. the transposed operand: that is how fp4lab stores weights
 * (`W` as `[N, K]`, row = output channel), so `csrMatmul(deltaA, wq, N, y, true, "nt")` adds
 * ΔA·W_q to `y = Q(A_c)·W_q`. Each output sums its row's entries in column order in f64 and is
 * rounded to f32 once (added to `out` first when accumulating), so both layouts give the same
 * bits. The work is proportional to the entry count times n.
 *
 * @param csr the sparse left operand `[rows, cols]`
 * @param b the dense right operand (see `layout`)
 * @param n number of output columns
 * @param out optional output `[csr.rows, n]`; required when `accumulate` is true
 * @param accumulate `true` adds to `out` instead of overwriting it (default false)
 * @param layout `"nn"` (default) or `"nt"`, see above
 * @returns `out`, or a new array, holding the product
 * @throws {TypeError} when `b` or `out` is not a Float32Array
 * @throws {RangeError} for a malformed `csr`, a `b` or `out` of the wrong length, a non-positive
 *   `n`, an unknown layout, or `accumulate` without `out`
 *
 * @example
 * ```ts
 * import { csrMatmul, type CsrMatrix } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * // [[0, 2], [-1, 0]] times [[1, 2, 3], [4, 5, 6]]
 * const csr: CsrMatrix = {
 *   rows: 2,
 *   cols: 2,
 *   rowOffsets: new Int32Array([0, 1, 2]),
 *   columnIndices: new Int32Array([1, 0]),
 *   values: new Float32Array([2, -1]),
 * };
 * const b = new Float32Array([1, 2, 3, 4, 5, 6]);
 * assert.deepEqual(csrMatmul(csr, b, 3), new Float32Array([8, 10, 12, -1, -2, -3]));
 * ```
 */
export function csrMatmul(
  csr: CsrMatrix,
  b: Float32Array,
  n: number,
  out?: Float32Array,
  accumulate = false,
  layout: DenseLayout = "nn",
): Float32Array {
  checkCsr(csr);
  checkFloat32Array("b", b);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (layout !== "nn" && layout !== "nt") {
    throw new RangeError(`layout must be "nn" or "nt", got ${layout}`);
  }
  const { rows, cols, rowOffsets, columnIndices, values } = csr;
  if (b.length !== cols * n) {
    throw new RangeError(
      `b must have ${cols * n} elements (${
        layout === "nn" ? `${cols} x ${n}` : `${n} x ${cols}`
      }), got ${b.length}`,
    );
  }
  if (accumulate && out === undefined) throw new RangeError("accumulate needs an out buffer");
  const result = out ?? new Float32Array(rows * n);
  checkFloat32Array("out", result);
  if (result.length !== rows * n) {
    throw new RangeError(
      `out must have ${rows * n} elements (${rows} x ${n}), got ${result.length}`,
    );
  }
  if (layout === "nn") {
    // One f64 row accumulator, allocated once per call: each output rounds to f32 once.
    const acc = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const start = rowOffsets[r];
      const end = rowOffsets[r + 1];
      const base = r * n;
      if (start === end) {
        if (!accumulate) result.fill(0, base, base + n);
        continue;
      }
      acc.fill(0);
      for (let e = start; e < end; e++) {
        const v = values[e];
        const bRow = columnIndices[e] * n;
        for (let j = 0; j < n; j++) acc[j] += v * b[bRow + j];
      }
      if (accumulate) { for (let j = 0; j < n; j++) result[base + j] += acc[j]; }
      else for (let j = 0; j < n; j++) result[base + j] = acc[j];
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const start = rowOffsets[r];
      const end = rowOffsets[r + 1];
      const base = r * n;
      for (let j = 0; j < n; j++) {
        const bRow = j * cols;
        let s = 0;
        for (let e = start; e < end; e++) s += values[e] * b[bRow + columnIndices[e]];
        result[base + j] = accumulate ? result[base + j] + s : s;
      }
    }
  }
  return result;
}

/**
 * Expands a CSR matrix into a dense row-major `[rows, cols]` array (for checks and small
 * tensors; the compensation path never needs it).
 *
 * @param csr the sparse matrix
 * @param out optional output of `rows * cols` elements (overwritten)
 * @returns the dense matrix
 * @throws {RangeError} for a malformed `csr` or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { csrToDense } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const dense = csrToDense({
 *   rows: 2,
 *   cols: 2,
 *   rowOffsets: new Int32Array([0, 1, 1]),
 *   columnIndices: new Int32Array([1]),
 *   values: new Float32Array([5]),
 * });
 * assert.deepEqual(dense, new Float32Array([0, 5, 0, 0]));
 * ```
 */
export function csrToDense(csr: CsrMatrix, out?: Float32Array): Float32Array {
  checkCsr(csr);
  const { rows, cols, rowOffsets, columnIndices, values } = csr;
  const dense = out ?? new Float32Array(rows * cols);
  if (dense.length !== rows * cols) {
    throw new RangeError(`out must have ${rows * cols} elements, got ${dense.length}`);
  }
  dense.fill(0);
  for (let r = 0; r < rows; r++) {
    for (let e = rowOffsets[r]; e < rowOffsets[r + 1]; e++) {
      dense[r * cols + columnIndices[e]] = values[e];
    }
  }
  return dense;
}

/** Cheap structural checks: sizes and the offsets' ends (O(rows), not O(entries)). */
function checkCsr(csr: CsrMatrix): void {
  if (csr === null || typeof csr !== "object") throw new TypeError("csr must be a CsrMatrix");
  const { rows, cols, rowOffsets, columnIndices, values } = csr;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new RangeError(
      `csr.rows and csr.cols must be non-negative integers, got ${rows}, ${cols}`,
    );
  }
  if (!(rowOffsets instanceof Int32Array) || rowOffsets.length !== rows + 1) {
    throw new RangeError(`csr.rowOffsets must be an Int32Array of rows + 1 = ${rows + 1} offsets`);
  }
  if (!(columnIndices instanceof Int32Array) || !(values instanceof Float32Array)) {
    throw new TypeError("csr.columnIndices must be an Int32Array and csr.values a Float32Array");
  }
  const nnz = rowOffsets[rows];
  if (rowOffsets[0] !== 0 || nnz !== values.length || nnz !== columnIndices.length) {
    throw new RangeError(
      `csr.rowOffsets must run from 0 to the entry count ${values.length}, got ${
        rowOffsets[0]
      }..${nnz}`,
    );
  }
  for (let r = 0; r < rows; r++) {
    if (rowOffsets[r + 1] < rowOffsets[r]) {
      throw new RangeError(`csr.rowOffsets must not decrease (row ${r})`);
    }
  }
}
