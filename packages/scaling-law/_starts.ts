// Data-driven starting points for the fitter. For fixed exponents (α, β, δ, ν) the law is linear
// in (n, d, ε, 1/γ), so a coarse grid over the exponents with a non-negative linear least-squares
// solve at each point finds good starts wherever the runs come from: a Levenberg-Marquardt run
// from the paper's constants alone can slide into a degenerate minimum (γ → ∞, no penalty) on
// data far from the paper's scale.
import type { Columns } from "./_columns.ts";

const ALPHAS = [0.1, 0.2, 0.3, 0.45, 0.6, 0.8];
const BETAS = [0.1, 0.2, 0.3, 0.45, 0.6, 0.8];
const DELTAS = [0.5, 1, 2, 3, 4.5];
const NUS = [0.5, 1, 2, 3, 4.5];

// theta layout (fit.ts): ln n, ln α, ln d, ln β, ln ε, ln γ, ln δ, ln ν.
const LINEAR = [0, 2, 4, 5]; // n, d, ε and γ (whose coefficient is 1/γ)

// Solves the small dense system A x = b (size k) by Gaussian elimination; false if singular.
function solveSmall(A: Float64Array, b: Float64Array, k: number): boolean {
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r * k + c]) > Math.abs(A[p * k + c])) p = r;
    if (!(Math.abs(A[p * k + c]) > 1e-300)) return false;
    if (p !== c) {
      for (let j = 0; j < k; j++) [A[c * k + j], A[p * k + j]] = [A[p * k + j], A[c * k + j]];
      [b[c], b[p]] = [b[p], b[c]];
    }
    for (let r = c + 1; r < k; r++) {
      const f = A[r * k + c] / A[c * k + c];
      for (let j = c; j < k; j++) A[r * k + j] -= f * A[c * k + j];
      b[r] -= f * b[c];
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    let s = b[r];
    for (let j = r + 1; j < k; j++) s -= A[r * k + j] * b[j];
    b[r] = s / A[r * k + r];
  }
  return b.every(Number.isFinite);
}

/**
 * The `count` best starting points (as theta vectors) from the exponent grid. Constants marked
 * in `fixed` keep their value from `base`.
 */
export function gridStarts(
  cols: Columns,
  base: Float64Array,
  fixed: readonly boolean[],
  count: number,
): Float64Array[] {
  const m = cols.lnY.length;
  const y = cols.lnY.map(Math.exp);
  let meanY = 0;
  for (let i = 0; i < m; i++) meanY += y[i] / m;
  const pick = (index: number, grid: number[]) => (fixed[index] ? [Math.exp(base[index])] : grid);
  const basis = new Float64Array(4 * m);
  const target = new Float64Array(m);
  const found: { sse: number; theta: Float64Array }[] = [];
  for (const alpha of pick(1, ALPHAS)) {
    for (const beta of pick(3, BETAS)) {
      for (const delta of pick(6, DELTAS)) {
        for (const nu of pick(7, NUS)) {
          for (let i = 0; i < m; i++) {
            basis[4 * i] = Math.exp(-alpha * cols.lnN[i]);
            basis[4 * i + 1] = Math.exp(-beta * cols.lnD[i]);
            basis[4 * i + 2] = 1;
            basis[4 * i + 3] = cols.lb[i] *
              Math.exp(
                beta * cols.lnD[i] - alpha * cols.lnN[i] - delta * cols.lnE[i] - nu * cols.lnM[i],
              );
            // Known (fixed) linear terms move to the target.
            let t = y[i];
            for (let j = 0; j < 4; j++) {
              if (fixed[LINEAR[j]]) {
                const v = Math.exp(base[LINEAR[j]]);
                t -= basis[4 * i + j] * (j === 3 ? 1 / v : v);
              }
            }
            target[i] = t;
          }
          const free = [0, 1, 2, 3].filter((j) => !fixed[LINEAR[j]]);
          const fit = nonNegativeFit(basis, target, y, free, m);
          const coef = fit.coef;
          const theta = Float64Array.from(base);
          theta[1] = Math.log(alpha);
          theta[3] = Math.log(beta);
          theta[6] = Math.log(delta);
          theta[7] = Math.log(nu);
          for (const j of free) {
            // A term the linear fit dropped keeps a small share (0.1% of the mean loss at the
            // mean basis value) so Levenberg-Marquardt still sees its gradient.
            let meanBasis = 0;
            for (let i = 0; i < m; i++) meanBasis += basis[4 * i + j] / m;
            const floor = meanBasis > 0 ? 1e-3 * meanY / meanBasis : 1e-12;
            const c = Math.max(coef[j], floor);
            theta[LINEAR[j]] = j === 3 ? -Math.log(c) : Math.log(c);
          }
          if (theta.every(Number.isFinite)) found.push({ sse: fit.sse, theta });
        }
      }
    }
  }
  found.sort((a, b) => a.sse - b.sse);
  return found.slice(0, count).map((f) => f.theta);
}

// Non-negative least squares over the columns `free` of `basis` (rows of 4), relative weights
// 1/y, by trying every subset of active columns (at most 16) and keeping the best feasible one.
function nonNegativeFit(
  basis: Float64Array,
  target: Float64Array,
  y: Float64Array,
  free: number[],
  m: number,
): { coef: number[]; sse: number } {
  const k = free.length;
  const A = new Float64Array(16);
  const g = new Float64Array(4);
  let tt = 0;
  for (let i = 0; i < m; i++) {
    const w2 = 1 / (y[i] * y[i]);
    tt += w2 * target[i] * target[i];
    for (let p = 0; p < k; p++) {
      const bp = basis[4 * i + free[p]];
      g[p] += w2 * bp * target[i];
      for (let q = 0; q < k; q++) A[p * 4 + q] += w2 * bp * basis[4 * i + free[q]];
    }
  }
  let best = { coef: [0, 0, 0, 0], sse: tt };
  for (let mask = 1; mask < 1 << k; mask++) {
    const active = [...Array(k).keys()].filter((p) => mask & (1 << p));
    const n = active.length;
    const As = new Float64Array(n * n);
    const bs = new Float64Array(n);
    active.forEach((p, a) => {
      bs[a] = g[p];
      active.forEach((q, b) => (As[a * n + b] = A[p * 4 + q]));
    });
    if (!solveSmall(As, bs, n) || !bs.every((v) => v > 0)) continue;
    // SSE = t·t − 2 c·g + c·A·c over the active set.
    let sse = tt;
    active.forEach((p, a) => {
      sse -= 2 * bs[a] * g[p];
      active.forEach((q, b) => (sse += bs[a] * A[p * 4 + q] * bs[b]));
    });
    if (sse < best.sse) {
      const coef = [0, 0, 0, 0];
      active.forEach((p, a) => (coef[free[p]] = bs[a]));
      best = { coef, sse };
    }
  }
  return best;
}
