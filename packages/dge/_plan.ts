// Per-format interval tables and option checks shared by the factor, surrogate and apply code.
import type { FloatFormat } from "@fp4lab/fp4-format";
import { gridPoints } from "./grid.ts";

/** Everything the hot loops need about a grid, precomputed once per format. */
export interface IntervalPlan {
  /** Grid points g_0 < g_1 < … < g_n. */
  readonly grid: Float64Array;
  /** Midpoint of interval i, (g_i + g_{i+1}) / 2. */
  readonly mid: Float64Array;
  /** Half width of interval i, δ_i / 2. */
  readonly half: Float64Array;
  /** 2 / δ_i, so that u = |x − mid_i| · invHalf_i. */
  readonly invHalf: Float64Array;
  /** Smallest and largest grid point. */
  readonly lo: number;
  readonly hi: number;
  /**
   * The ends widened by a relative 2^-20: W / scale of a channel's absmax element can land a few
   * f32 ulps past ±maxNormal, and that element is on the grid's end point, not clipped.
   */
  readonly loTolerant: number;
  readonly hiTolerant: number;
  /**
   * Interval index per cell of width `1 / invCell` starting at `lo`, when the grid is made of
   * whole cells and there are at most 8192 of them (E2M1: 24, E2M3: 120, E3M2: 896); null
   * otherwise (then a binary search runs). Replaces unpredictable search branches by one load.
   */
  readonly cells: Int32Array | null;
  readonly invCell: number;
}

const plans = new WeakMap<FloatFormat, IntervalPlan>();

/** The interval plan of `format` (cached). */
export function intervalPlan(format: FloatFormat): IntervalPlan {
  let plan = plans.get(format);
  if (plan) return plan;
  const grid = gridPoints(format);
  const n = grid.length - 1;
  const mid = new Float64Array(n);
  const half = new Float64Array(n);
  const invHalf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    mid[i] = (grid[i] + grid[i + 1]) / 2;
    half[i] = (grid[i + 1] - grid[i]) / 2;
    invHalf[i] = 1 / half[i];
  }
  const lo = grid[0];
  const hi = grid[n];
  const slack = 2 ** -20;
  let cell = Infinity;
  for (let i = 0; i < n; i++) cell = Math.min(cell, grid[i + 1] - grid[i]);
  let cells: Int32Array | null = null;
  const cellCount = (hi - lo) / cell;
  if (cellCount <= 8192 && grid.every((g) => Number.isInteger((g - lo) / cell))) {
    cells = new Int32Array(cellCount);
    for (let i = 0; i < n; i++) cells.fill(i, (grid[i] - lo) / cell, (grid[i + 1] - lo) / cell);
  }
  plan = {
    grid,
    mid,
    half,
    invHalf,
    lo,
    hi,
    loTolerant: lo - Math.abs(lo) * slack,
    hiTolerant: hi + Math.abs(hi) * slack,
    cells,
    invCell: 1 / cell,
  };
  plans.set(format, plan);
  return plan;
}

/**
 * Index i of the interval [g_i, g_{i+1}) holding x (the last interval also holds its right end;
 * values within the rounding slack past either end belong to the end interval), or −1 when x
 * lies outside the grid (or is NaN). Binary search: 4 steps for E2M1, 8 for E4M3.
 */
export function intervalOf(plan: IntervalPlan, x: number): number {
  const grid = plan.grid;
  if (!(x >= plan.loTolerant && x <= plan.hiTolerant)) return -1;
  const cells = plan.cells;
  if (cells !== null) {
    // Cells are whole fractions of the grid, so a cell never straddles two intervals; the
    // clamps catch x = hi (one past the last cell) and the rounding slack at both ends.
    const c = Math.floor((x - plan.lo) * plan.invCell);
    return cells[c < 0 ? 0 : c >= cells.length ? cells.length - 1 : c];
  }
  let lo = 0;
  let hi = grid.length - 1;
  // Invariant: grid[lo] <= x < grid[hi], or x === grid[hi] at the very end.
  while (hi - lo > 1) {
    const m = (lo + hi) >>> 1;
    if (x >= grid[m]) lo = m;
    else hi = m;
  }
  return lo;
}

/** Options shared by the factor functions. */
export interface FactorOptions {
  /** Sharpness of the surrogate, k > 1; the paper's (and default) k = 5. */
  k?: number;
  /** Upper bound on the factor, > 0 (Infinity turns the cap off); default 3.0. */
  cap?: number;
}

/** Validates k and cap, naming the option and the allowed range. */
export function checkFactorOptions(options: FactorOptions): { k: number; cap: number } {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `options must be an object, got ${options === null ? "null" : typeof options}`,
    );
  }
  const k = options.k ?? 5;
  const cap = options.cap ?? 3;
  if (typeof k !== "number" || !Number.isFinite(k) || !(k > 1)) {
    throw new RangeError(`options.k must be a finite number greater than 1, got ${k}`);
  }
  if (typeof cap !== "number" || Number.isNaN(cap) || !(cap > 0)) {
    throw new RangeError(
      `options.cap must be a number greater than 0 (Infinity: no cap), got ${cap}`,
    );
  }
  return { k, cap };
}

/** A Float32Array or Float64Array. */
export type FloatArray = Float32Array | Float64Array;

/** Throws a TypeError unless `values` is a Float32Array or Float64Array. */
export function checkFloatArray(name: string, values: unknown): asserts values is FloatArray {
  if (!(values instanceof Float32Array) && !(values instanceof Float64Array)) {
    const what = values === null
      ? "null"
      : typeof values === "object"
      ? (values.constructor?.name ?? "object")
      : typeof values;
    throw new TypeError(`${name} must be a Float32Array or Float64Array, got ${what}`);
  }
}

/** Returns `out` after checking its type and length, or a new array like `values`. */
export function outputFor(
  values: FloatArray,
  out: FloatArray | undefined,
  name = "out",
): FloatArray {
  if (out === undefined) {
    return values instanceof Float64Array
      ? new Float64Array(values.length)
      : new Float32Array(values.length);
  }
  checkFloatArray(name, out);
  if (out.length !== values.length) {
    throw new RangeError(`${name} must have length ${values.length}, got ${out.length}`);
  }
  return out;
}

/** RangeError naming the first NaN element. */
export function nanError(name: string, index: number): RangeError {
  return new RangeError(`${name}[${index}] is NaN: scaled weights must not be NaN`);
}
