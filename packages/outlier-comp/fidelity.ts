/**
 * Activation fidelity under FP4 quantization with and without outlier clamping and
 * compensation: the metrics and the table of the FP4 paper's Table 1.
 *
 * @module
 */
import { E2M1, type FloatFormat, type Rounding } from "@fp4lab/fp4-format";
import { checkAlpha, checkFloat32Array, checkShape } from "./_check.ts";
import { clampOutliers } from "./clamp.ts";
import { csrToDense } from "./csr.ts";
import { fakeQuant } from "@fp4lab/quant-granularity";
import { checkScope, type QuantileScope } from "./quantile.ts";

/** Fidelity of an approximation to a reference tensor. */
export interface FidelityMetrics {
  /** Cosine similarity ⟨x, x̂⟩ / (‖x‖ ‖x̂‖) (1 when both are zero). */
  cosine: number;
  /** Mean squared error Σ(x − x̂)² / n. */
  mse: number;
  /** Signal-to-noise ratio 10·log10(‖x‖² / ‖x − x̂‖²) in dB (Infinity when exact). */
  snrDb: number;
}

/**
 * Cosine similarity, MSE and SNR (dB, as the paper's test helper: 10·log10(‖x‖²/‖x − x̂‖²)) of
 * `approx` against `reference`, accumulated in f64.
 *
 * @param reference the original tensor
 * @param approx its approximation, same length
 * @returns the three metrics
 * @throws {RangeError} when the lengths differ or are 0
 *
 * @example
 * ```ts
 * import { fidelityMetrics } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const m = fidelityMetrics(new Float32Array([1, 2, 3]), new Float32Array([1, 2, 2.9]));
 * assert.equal(m.mse.toFixed(5), "0.00333");
 * assert.equal(m.snrDb.toFixed(2), "31.46");
 * ```
 */
export function fidelityMetrics(
  reference: ArrayLike<number>,
  approx: ArrayLike<number>,
): FidelityMetrics {
  const n = reference.length;
  if (approx.length !== n || n === 0) {
    throw new RangeError(
      `reference and approx must have the same non-zero length, got ${n} and ${approx.length}`,
    );
  }
  let dot = 0;
  let xx = 0;
  let yy = 0;
  let ee = 0;
  for (let i = 0; i < n; i++) {
    const x = reference[i];
    const y = approx[i];
    dot += x * y;
    xx += x * x;
    yy += y * y;
    ee += (x - y) * (x - y);
  }
  const cosine = xx === 0 && yy === 0 ? 1 : dot / Math.sqrt(xx * yy);
  return { cosine, mse: ee / n, snrDb: 10 * Math.log10(xx / ee) };
}

/** One row of {@link fidelityTable}. */
export interface FidelityRow extends FidelityMetrics {
  /** Whether the activations were clamped at quantiles before quantizing. */
  clamp: boolean;
  /** Whether the sparse residual ΔA was added back after quantizing. */
  compensation: boolean;
  /** The quantile α, or null for the no-clamp row. */
  alpha: number | null;
  /** Fraction of entries clamped (0 for the no-clamp row). */
  sparsity: number;
}

/** Options of {@link fidelityTable}. */
export interface FidelityOptions {
  /** Quantiles to try; default the paper's `[0.999, 0.99, 0.97]`. */
  alphas?: readonly number[];
  /** Quantile scope, `"row"` (default) or `"tensor"`. */
  scope?: QuantileScope;
  /** Element format of the per-token absmax quantizer; default `E2M1`. */
  format?: FloatFormat;
  /** Rounding of the quantizer; default `"nearest-even"` (`"nearest-up"`: the paper's table). */
  rounding?: Rounding;
}

/**
 * The FP4 paper's Table 1 on any activation tensor `[rows, cols]` (rows = tokens): fidelity of
 * per-token absmax quantization (E2M1 by default) with no clamp, clamp only (Q(A_c)), and clamp
 * plus compensation (Q(A_c) + ΔA), for each α. Rows come in that order: the no-clamp row, then
 * clamp-only for each α, then clamp + compensation for each α.
 *
 * @param values the activations, row-major `[rows, cols]`
 * @param rows number of rows (tokens)
 * @param cols number of columns (channels)
 * @param options `alphas`, `scope`, `format`, `rounding`
 * @returns one {@link FidelityRow} per configuration
 * @throws {TypeError} when `values` is not a Float32Array
 * @throws {RangeError} for a shape mismatch, an α outside (0.5, 1), an unknown scope, or a NaN
 *   or infinite value
 *
 * @example
 * ```ts
 * import { fidelityTable, syntheticActivations } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const a = syntheticActivations(64, 2048, { seed: 1 });
 * const rows = fidelityTable(a, 64, 2048); // no clamp, then clamp and clamp + compensation per α
 * assert.equal(rows.length, 7);
 * const [plain, , clampOnly, , , withComp] = rows; // α = 0.99 for the last two
 * assert.ok(withComp.snrDb > clampOnly.snrDb && withComp.snrDb > plain.snrDb);
 * ```
 */
export function fidelityTable(
  values: Float32Array,
  rows: number,
  cols: number,
  options: FidelityOptions = {},
): FidelityRow[] {
  checkFloat32Array("values", values);
  checkShape(values.length, rows, cols);
  const alphas = options.alphas ?? [0.999, 0.99, 0.97];
  for (let i = 0; i < alphas.length; i++) checkAlpha(alphas[i], `options.alphas[${i}]`);
  const scope = checkScope(options.scope ?? "row");
  const format = options.format ?? E2M1;
  const rounding = options.rounding ?? "nearest-even";
  const n = values.length;
  const clamped = new Float32Array(n);
  const quantized = new Float32Array(n);
  const dense = new Float32Array(n);

  // The no-clamp row also refuses NaN/Inf early, via the first clampOutliers call below.
  const table: FidelityRow[] = [];
  const clampOnly: FidelityRow[] = [];
  const compensated: FidelityRow[] = [];
  for (const alpha of alphas) {
    const { residual, sparsity } = clampOutliers(values, rows, cols, {
      alpha,
      scope,
      out: clamped,
    });
    fakeQuant(
      clamped,
      rows,
      cols,
      { format, granularity: "row", scaleRule: "absmax", rounding },
      quantized,
    );
    clampOnly.push({
      clamp: true,
      compensation: false,
      alpha,
      sparsity,
      ...fidelityMetrics(values, quantized),
    });
    csrToDense(residual, dense);
    for (let i = 0; i < n; i++) quantized[i] += dense[i];
    compensated.push({
      clamp: true,
      compensation: true,
      alpha,
      sparsity,
      ...fidelityMetrics(values, quantized),
    });
  }
  if (alphas.length === 0) clampOutliers(values, rows, cols, { out: clamped });
  fakeQuant(
    values,
    rows,
    cols,
    { format, granularity: "row", scaleRule: "absmax", rounding },
    quantized,
  );
  table.push({
    clamp: false,
    compensation: false,
    alpha: null,
    sparsity: 0,
    ...fidelityMetrics(values, quantized),
  });
  return table.concat(clampOnly, compensated);
}

/**
 * Renders {@link fidelityTable} rows as a Markdown table (cosine in %, MSE, SNR in dB, sparsity
 * in %), in the paper's column order.
 *
 * @param rows the rows to print
 * @returns the table as text, one line per row after the header
 *
 * @example
 * ```ts
 * import { formatFidelityTable } from "@fp4lab/outlier-comp";
 * import assert from "node:assert/strict";
 * const text = formatFidelityTable([
 *   { clamp: false, compensation: false, alpha: null, sparsity: 0, cosine: 0.9219, mse: 0.1055, snrDb: 8.31 },
 * ]);
 * assert.equal(text.split("\n")[2], "| no | — | — | 92.19% | 0.1055 | 8.31 | 0.00% |");
 * ```
 */
export function formatFidelityTable(rows: readonly FidelityRow[]): string {
  const lines = [
    "| clamp | comp | quantile α | cosine sim | MSE | SNR (dB) | clamped |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.clamp ? "yes" : "no"} | ${r.clamp ? (r.compensation ? "yes" : "no") : "—"} | ${
        r.alpha === null ? "—" : r.alpha
      } | ${(r.cosine * 100).toFixed(2)}% | ${r.mse.toPrecision(4)} | ${r.snrDb.toFixed(2)} | ${
        (r.sparsity * 100).toFixed(2)
      }% |`,
    );
  }
  return lines.join("\n");
}
