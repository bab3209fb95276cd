// A slow, obviously-correct rounding used only by the tests: enumerate the format's grid from
// the OCP field definitions, binary-search the neighbours of |x|, and break exact ties by the
// parity of the code. Written independently of quantize.ts (no magic constants, no f32 bit
// tricks).
import type { FloatFormat } from "./format.ts";

/** The non-negative finite values of `format`, ascending; index = magnitude code. */
export function referenceGrid(format: FloatFormat): number[] {
  const e = format.exponentBits;
  const m = format.mantissaBits;
  const grid: number[] = [];
  for (let ef = 0; ef < 2 ** e || (e === 0 && ef === 0); ef++) {
    for (let mf = 0; mf < 2 ** m; mf++) {
      const isTop = e > 0 && ef === 2 ** e - 1;
      if (format.specials === "ieee" && isTop) continue;
      if (format.specials === "nan-only" && ef === Math.max(2 ** e - 1, 0) && mf === 2 ** m - 1) {
        continue;
      }
      const value = ef === 0
        ? (mf / 2 ** m) * 2 ** (1 - format.bias)
        : (1 + mf / 2 ** m) * 2 ** (ef - format.bias);
      grid.push(value);
    }
  }
  return grid;
}

/** Round-to-nearest-even onto `grid` (from referenceGrid), saturating or overflowing. */
export function referenceRound(
  x: number,
  format: FloatFormat,
  grid: number[],
  saturate = true,
): number {
  if (Number.isNaN(x)) return NaN;
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const max = grid[grid.length - 1];
  let r: number;
  if (a >= max) {
    const halfStep = (max - grid[grid.length - 2]) / 2;
    if (saturate || format.specials === "none" || a < max + halfStep) r = max;
    else r = format.hasInf ? Infinity : NaN;
  } else {
    // grid[lo] <= a < grid[lo + 1]
    let lo = 0;
    let hi = grid.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (grid[mid] <= a) lo = mid;
      else hi = mid;
    }
    const down = a - grid[lo];
    const up = grid[hi] - a;
    if (down < up) r = grid[lo];
    else if (up < down) r = grid[hi];
    else r = lo % 2 === 0 ? grid[lo] : grid[hi];
  }
  return negative ? -r : r;
}
