/**
 * A plain numeric minimiser, used to cross-check the paper's closed forms and to plan with an
 * integer format where no closed form exists.
 *
 * @module
 */

const INV_PHI = (Math.sqrt(5) - 1) / 2;

/**
 * Minimises a unimodal function on an interval by golden-section search. Slow (one evaluation
 * per step, the interval shrinking by 0.618) but obviously correct, which is what a cross-check
 * needs.
 *
 * @param f The function to minimise.
 * @param lo Lower end of the interval.
 * @param hi Upper end of the interval (> lo).
 * @param tolerance Stop when the interval is narrower than this (absolute, in x); default 1e-10.
 * @returns The minimiser `x` and the value `f(x)` there.
 *
 * @example
 * ```ts
 * import { minimizeScalar } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * const { x } = minimizeScalar((t) => (t - 2) ** 2, 0, 10);
 * assert.equal(x.toFixed(6), "2.000000");
 * ```
 */
export function minimizeScalar(
  f: (x: number) => number,
  lo: number,
  hi: number,
  tolerance = 1e-10,
): { x: number; value: number } {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new RangeError(`minimizeScalar needs finite lo < hi, got [${lo}, ${hi}]`);
  }
  if (!(tolerance > 0)) throw new RangeError(`tolerance must be > 0, got ${tolerance}`);
  let a = lo;
  let b = hi;
  let c = b - INV_PHI * (b - a);
  let d = a + INV_PHI * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tolerance) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - INV_PHI * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + INV_PHI * (b - a);
      fd = f(d);
    }
    // Stop once the interval no longer shrinks in floating point.
    if (c === d) break;
  }
  const x = (a + b) / 2;
  return { x, value: f(x) };
}
