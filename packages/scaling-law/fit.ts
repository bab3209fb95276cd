/**
 * Fitting the law's constants to observed runs: Levenberg-Marquardt on the log-loss residuals
 * `ln L_pred − ln L_obs`, plain least squares or Huber, with percentile bootstrap intervals.
 *
 * @module
 */
import { CONSTANT_NAMES, PAPER_CONSTANTS, type ScalingLawConstants } from "./constants.ts";
import type { ObservedRun } from "./runs.ts";
import { createRandom } from "./_random.ts";
import { type Columns, columns } from "./_columns.ts";
import { gridStarts } from "./_starts.ts";

/** The name of one of the eight constants. */
export type ConstantName = keyof ScalingLawConstants;

/** Options of {@link fitConstants}. */
export interface FitOptions {
  /** First starting point, and the values of fixed constants; default the paper's constants. */
  readonly initial?: ScalingLawConstants;
  /**
   * Extra data-driven starting points (default 3): a grid over α, β, δ, ν with a non-negative
   * linear fit of n, d, ε, 1/γ at each point; the fit with the lowest cost over all starts wins.
   * 0 starts from `initial` only.
   */
  readonly starts?: number;
  /** Constants held at their initial value (e.g. `["alpha", "beta"]`). */
  readonly fixed?: readonly ConstantName[];
  /** `"l2"` (default) or `"huber"` on the log-loss residuals. */
  readonly robust?: "l2" | "huber";
  /** Huber threshold in log-loss units; default 1e-3 (Hoffmann et al.'s choice). */
  readonly huberDelta?: number;
  /** Bootstrap resamples for the confidence intervals; default 0 (no intervals). */
  readonly bootstrap?: number;
  /** Two-sided level of the intervals; default 0.95. */
  readonly confidence?: number;
  /** Seed of the bootstrap resampling; default 0. */
  readonly seed?: number;
  /** Levenberg-Marquardt iteration limit; default 200. */
  readonly maxIterations?: number;
}

/** What {@link fitConstants} found. */
export interface FitResult {
  /** The fitted constants. */
  readonly constants: ScalingLawConstants;
  /** Percentile bootstrap intervals `[lo, hi]` per constant; `null` without bootstrap. */
  readonly intervals: Readonly<Record<ConstantName, readonly [number, number]>> | null;
  /** The interval level (e.g. 0.95). */
  readonly confidence: number;
  /** The model's loss for each run, in input order. */
  readonly predicted: Float64Array;
  /** `ln(observed) − ln(predicted)` for each run, in input order. */
  readonly residuals: Float64Array;
  /** Root mean square of the log residuals. */
  readonly rmse: number;
  /** Levenberg-Marquardt iterations of the main fit. */
  readonly iterations: number;
  /** Whether the main fit met its convergence test before the iteration limit. */
  readonly converged: boolean;
  /** Bootstrap resamples whose fit converged and entered the intervals. */
  readonly bootstrapSamples: number;
}

const N_CONST = 8;

// theta holds ln of each constant in CONSTANT_NAMES order: every constant is positive, and the
// coefficients span seven orders of magnitude, so log-parameters keep the steps well scaled.
function residualsAndJacobian(
  theta: Float64Array,
  cols: Columns,
  rows: Int32Array,
  r: Float64Array,
  jac: Float64Array | null,
): void {
  const n = Math.exp(theta[0]), alpha = Math.exp(theta[1]), d = Math.exp(theta[2]);
  const beta = Math.exp(theta[3]), eps = Math.exp(theta[4]), gamma = Math.exp(theta[5]);
  const delta = Math.exp(theta[6]), nu = Math.exp(theta[7]);
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k];
    const a = n * Math.exp(-alpha * cols.lnN[i]);
    const b = d * Math.exp(-beta * cols.lnD[i]);
    const pen = cols.lb[i] *
      Math.exp(beta * cols.lnD[i] - alpha * cols.lnN[i] - delta * cols.lnE[i] - nu * cols.lnM[i]) /
      gamma;
    const L = a + b + eps + pen;
    r[k] = Math.log(L) - cols.lnY[i];
    if (jac) {
      const o = k * N_CONST;
      const inv = 1 / L;
      jac[o] = a * inv;
      jac[o + 1] = -alpha * (a + pen) * cols.lnN[i] * inv;
      jac[o + 2] = b * inv;
      jac[o + 3] = beta * (pen - b) * cols.lnD[i] * inv;
      jac[o + 4] = eps * inv;
      jac[o + 5] = -pen * inv;
      jac[o + 6] = -delta * pen * cols.lnE[i] * inv;
      jac[o + 7] = -nu * pen * cols.lnM[i] * inv;
    }
  }
}

function objective(r: Float64Array, huber: number): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) {
    const a = Math.abs(r[i]);
    s += huber > 0 && a > huber ? huber * (a - huber / 2) : 0.5 * a * a;
  }
  return s;
}

// Solves the symmetric positive definite system A x = b (size m, row-major) in place by
// Gaussian elimination with partial pivoting; returns false when singular.
function solve(A: Float64Array, b: Float64Array, m: number): boolean {
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let row = col + 1; row < m; row++) {
      if (Math.abs(A[row * m + col]) > Math.abs(A[piv * m + col])) piv = row;
    }
    if (!(Math.abs(A[piv * m + col]) > 0)) return false;
    if (piv !== col) {
      for (let j = 0; j < m; j++) {
        const t = A[col * m + j];
        A[col * m + j] = A[piv * m + j];
        A[piv * m + j] = t;
      }
      const t = b[col];
      b[col] = b[piv];
      b[piv] = t;
    }
    for (let row = col + 1; row < m; row++) {
      const f = A[row * m + col] / A[col * m + col];
      if (f === 0) continue;
      for (let j = col; j < m; j++) A[row * m + j] -= f * A[col * m + j];
      b[row] -= f * b[col];
    }
  }
  for (let row = m - 1; row >= 0; row--) {
    let s = b[row];
    for (let j = row + 1; j < m; j++) s -= A[row * m + j] * b[j];
    b[row] = s / A[row * m + row];
  }
  return b.every(Number.isFinite);
}

interface LmResult {
  theta: Float64Array;
  iterations: number;
  converged: boolean;
  cost: number;
}

function levenbergMarquardt(
  start: Float64Array,
  free: Int32Array,
  cols: Columns,
  rows: Int32Array,
  huber: number,
  maxIterations: number,
): LmResult {
  const m = rows.length;
  const f = free.length;
  const theta = Float64Array.from(start);
  const trial = new Float64Array(N_CONST);
  const r = new Float64Array(m);
  const rTrial = new Float64Array(m);
  const jac = new Float64Array(m * N_CONST);
  const jtj = new Float64Array(f * f);
  const jtr = new Float64Array(f);
  const A = new Float64Array(f * f);
  const step = new Float64Array(f);
  residualsAndJacobian(theta, cols, rows, r, jac);
  let cost = objective(r, huber);
  let mu = 1e-3;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    // Normal equations with IRLS weights: Huber down-weights residuals beyond the threshold.
    jtj.fill(0);
    jtr.fill(0);
    for (let k = 0; k < m; k++) {
      const a = Math.abs(r[k]);
      const w = huber > 0 && a > huber ? huber / a : 1;
      const o = k * N_CONST;
      for (let p = 0; p < f; p++) {
        const jp = jac[o + free[p]] * w;
        jtr[p] += jp * r[k];
        for (let q = 0; q <= p; q++) jtj[p * f + q] += jp * jac[o + free[q]];
      }
    }
    let maxDiag = 0;
    for (let p = 0; p < f; p++) {
      for (let q = 0; q < p; q++) jtj[q * f + p] = jtj[p * f + q];
      maxDiag = Math.max(maxDiag, jtj[p * f + p]);
    }
    let improved = false;
    while (mu < 1e16) {
      A.set(jtj);
      for (let p = 0; p < f; p++) {
        // Marquardt's scaling, floored so an unidentified constant still gets a finite step.
        A[p * f + p] += mu * Math.max(jtj[p * f + p], 1e-12 * maxDiag, 1e-300);
        step[p] = -jtr[p];
      }
      if (solve(A, step, f)) {
        trial.set(theta);
        for (let p = 0; p < f; p++) trial[free[p]] += step[p];
        residualsAndJacobian(trial, cols, rows, rTrial, null);
        const trialCost = objective(rTrial, huber);
        if (Number.isFinite(trialCost) && trialCost <= cost) {
          const gain = cost - trialCost;
          theta.set(trial);
          residualsAndJacobian(theta, cols, rows, r, jac);
          mu = Math.max(mu / 3, 1e-12);
          improved = true;
          let stepNorm = 0;
          for (let p = 0; p < f; p++) stepNorm = Math.max(stepNorm, Math.abs(step[p]));
          if (gain <= 1e-14 * (cost + 1e-300) || stepNorm < 1e-10) converged = true;
          cost = trialCost;
          break;
        }
      }
      mu *= 4;
    }
    if (!improved) {
      // No step lowers the cost at any damping: we are at a (local) minimum.
      converged = true;
    }
    if (converged) break;
  }
  // A constant driven to 0 or infinity (a term switched off) is a failure, not convergence.
  const finite = theta.every((t) => Number.isFinite(t) && Math.abs(t) < 200);
  return { theta, iterations, converged: converged && finite, cost: finite ? cost : Infinity };
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function toConstants(theta: Float64Array): ScalingLawConstants {
  const out: Record<string, number> = {};
  CONSTANT_NAMES.forEach((name, j) => (out[name] = Math.exp(theta[j])));
  return out as unknown as ScalingLawConstants;
}

/**
 * Fits the eight constants to observed runs by Levenberg-Marquardt on the log-loss residuals
 * (least squares, or Huber with `robust: "huber"`), from the paper's constants and from a few
 * data-driven starts (see {@link FitOptions.starts}), keeping the best. With
 * `bootstrap: B`, refits B resamples of the runs (drawn with replacement, seeded) and reports
 * percentile intervals.
 *
 * @param runs The observed runs (at least as many as free constants).
 * @param options Start, fixed constants, robust loss, bootstrap size, level, seed.
 * @returns The fitted constants, intervals, per-run predictions and residuals.
 * @throws {RangeError} For too few runs or bad options.
 *
 * @example
 * ```ts
 * import { fitConstants, paperGrid, simulateRuns } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const runs = simulateRuns(paperGrid(), { noise: 0.002, seed: 1 });
 * const fit = fitConstants(runs, { initial: { n: 50, alpha: 0.2, d: 5e4, beta: 0.5, epsilon: 2, gamma: 1e4, delta: 3, nu: 3 } });
 * assert.ok(fit.converged);
 * assert.ok(Math.abs(fit.constants.delta / 3.1926 - 1) < 0.05); // δ recovered within 5 %
 * ```
 */
export function fitConstants(runs: readonly ObservedRun[], options: FitOptions = {}): FitResult {
  const initial = options.initial ?? PAPER_CONSTANTS;
  const fixed = new Set(options.fixed ?? []);
  for (const name of fixed) {
    if (!CONSTANT_NAMES.includes(name)) {
      throw new RangeError(
        `fixed: unknown constant "${name}" (allowed: ${CONSTANT_NAMES.join(", ")})`,
      );
    }
  }
  const free = Int32Array.from(
    CONSTANT_NAMES.flatMap((name, j) => (fixed.has(name) ? [] : [j])),
  );
  if (runs.length < free.length) {
    throw new RangeError(
      `runs: need at least ${free.length} runs to fit ${free.length} constants, got ${runs.length}`,
    );
  }
  const robust = options.robust ?? "l2";
  if (robust !== "l2" && robust !== "huber") {
    throw new RangeError(`robust must be "l2" or "huber", got ${JSON.stringify(robust)}`);
  }
  const huberDelta = options.huberDelta ?? 1e-3;
  if (!(huberDelta > 0)) throw new RangeError(`huberDelta must be > 0, got ${huberDelta}`);
  const huber = robust === "huber" ? huberDelta : 0;
  const bootstrap = options.bootstrap ?? 0;
  if (!Number.isInteger(bootstrap) || bootstrap < 0) {
    throw new RangeError(`bootstrap must be an integer >= 0, got ${bootstrap}`);
  }
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  }
  const maxIterations = options.maxIterations ?? 200;
  const cols = columns(runs);
  const start = new Float64Array(N_CONST);
  CONSTANT_NAMES.forEach((name, j) => {
    const v = initial[name];
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(`initial.${name} must be positive and finite, got ${v}`);
    }
    start[j] = Math.log(v);
  });

  const all = Int32Array.from(runs.keys());
  const starts = options.starts ?? 3;
  if (!Number.isInteger(starts) || starts < 0) {
    throw new RangeError(`starts must be an integer >= 0, got ${starts}`);
  }
  const isFixed = CONSTANT_NAMES.map((name) => fixed.has(name));
  let main = levenbergMarquardt(start, free, cols, all, huber, maxIterations);
  for (const s of starts > 0 ? gridStarts(cols, start, isFixed, starts) : []) {
    const fit = levenbergMarquardt(s, free, cols, all, huber, maxIterations);
    if (fit.cost < main.cost || (!main.converged && fit.converged)) main = fit;
  }
  const r = new Float64Array(runs.length);
  residualsAndJacobian(main.theta, cols, all, r, null);
  const residuals = r.map((v) => -v); // observed minus predicted, in log space
  const predicted = Float64Array.from(runs, (run, i) => run.loss / Math.exp(residuals[i]));
  const rmse = Math.sqrt(r.reduce((s, v) => s + v * v, 0) / r.length);

  let intervals: FitResult["intervals"] = null;
  let bootstrapSamples = 0;
  if (bootstrap > 0) {
    const rng = createRandom(options.seed ?? 0);
    const draws = CONSTANT_NAMES.map(() => new Float64Array(bootstrap));
    const rows = new Int32Array(runs.length);
    for (let s = 0; s < bootstrap; s++) {
      for (let i = 0; i < rows.length; i++) rows[i] = rng.index(rows.length);
      const fit = levenbergMarquardt(main.theta, free, cols, rows, huber, maxIterations);
      if (!fit.converged || !fit.theta.every(Number.isFinite)) continue;
      CONSTANT_NAMES.forEach((_, j) => (draws[j][bootstrapSamples] = Math.exp(fit.theta[j])));
      bootstrapSamples++;
    }
    if (bootstrapSamples > 0) {
      const tail = (1 - confidence) / 2;
      const out: Record<string, readonly [number, number]> = {};
      CONSTANT_NAMES.forEach((name, j) => {
        const sorted = draws[j].subarray(0, bootstrapSamples).sort();
        out[name] = [quantile(sorted, tail), quantile(sorted, 1 - tail)];
      });
      intervals = out as Record<ConstantName, readonly [number, number]>;
    }
  }
  return {
    constants: toConstants(main.theta),
    intervals,
    confidence,
    predicted,
    residuals,
    rmse,
    iterations: main.iterations,
    converged: main.converged,
    bootstrapSamples,
  };
}
