/**
 * TEMPORARY STAND-IN for `@fp4lab/dge`'s `dgeFactor` (helper branch `dge`), deleted when that
 * package lands on main.
 *
 * @module
 */
import { codeTable, type FloatFormat } from "@fp4lab/fp4-format";

const grids = new WeakMap<FloatFormat, Float64Array>();

function gridOf(format: FloatFormat): Float64Array {
  let g = grids.get(format);
  if (!g) {
    const vals = new Set<number>();
    for (const v of codeTable(format)) if (Number.isFinite(v)) vals.add(v === 0 ? 0 : v);
    g = Float64Array.from([...vals].sort((a, b) => a - b));
    grids.set(format, g);
  }
  return g;
}

/**
 * DGE correction factor f′(x) = min((1/k)·|2x/δ − 1|^(1/k − 1), cap) on weights in grid units,
 * δ the width of the grid interval holding x (the last interval includes +maxNormal; outside
 * the grid the factor is 0).
 *
 * @param scaled weights in grid units
 * @param format element format
 * @param options k (default 5) and cap (default 3)
 * @param out output buffer
 * @returns `out`
 * @example
 * ```ts
 * import { E2M1 } from "@fp4lab/fp4-format";
 * import { dgeFactor } from "./dge.ts";
 * console.log(dgeFactor(new Float32Array([1, 1.25]), E2M1)); // [0.2, 3]
 * ```
 */
export function dgeFactor(
  scaled: Float32Array,
  format: FloatFormat,
  options: { k?: number; cap?: number } = {},
  out: Float32Array = new Float32Array(scaled.length),
): Float32Array {
  const k = options.k ?? 5, cap = options.cap ?? 3;
  const grid = gridOf(format);
  const last = grid.length - 1;
  const e = 1 / k - 1;
  for (let i = 0; i < scaled.length; i++) {
    const x = scaled[i];
    if (!(x >= grid[0] && x <= grid[last])) {
      out[i] = 0;
      continue;
    }
    // binary search for the interval [grid[lo], grid[lo + 1]) holding x
    let lo = 0, hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (grid[mid] <= x) lo = mid;
      else hi = mid;
    }
    const delta = grid[lo + 1] - grid[lo];
    const u = Math.abs((2 * (x - grid[lo])) / delta - 1);
    const f = u === 0 ? Infinity : Math.pow(u, e) / k;
    out[i] = f > cap ? cap : f;
  }
  return out;
}
