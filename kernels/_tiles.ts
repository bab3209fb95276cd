/**
 * Task tiling: the largest tiles (best cache reuse) that still give every thread a few tasks,
 * so that small GEMMs (the trainer's) also spread over the pool.
 *
 * @module
 */

/**
 * Picks tile sizes for an m x n output.
 *
 * @param m rows
 * @param n columns
 * @param threads threads that will share the work
 * @param tm0 largest tile height (a multiple of mr)
 * @param tn0 largest tile width (a multiple of nr)
 * @param mr micro-tile height
 * @param nr micro-tile width
 * @returns [tm, tn]
 */
export function pickTiles(
  m: number,
  n: number,
  threads: number,
  tm0: number,
  tn0: number,
  mr: number,
  nr: number,
): [number, number] {
  let tm = tm0, tn = tn0;
  if (threads <= 1) return [tm, tn];
  const want = 4 * threads;
  while (Math.ceil(m / tm) * Math.ceil(n / tn) < want) {
    if (tn > 4 * nr) tn = Math.max(4 * nr, Math.ceil(tn / 2 / nr) * nr);
    else if (tm > 2 * mr) tm = Math.max(2 * mr, Math.ceil(tm / 2 / mr) * mr);
    else break;
  }
  return [tm, tn];
}

/** What packing one float of A or B costs, in multiply-adds (SIMD packing vs 8 FMA lanes). */
const PACK = 8;
/** Splits tried per side (64 × 64 tiles is plenty for the 64 threads the pool allows). */
const MAX_PARTS = 64;
/** Recent answers: training calls the same few shapes every step. */
const memo = new Map<string, [number, number]>();

/**
 * Tiles of the f32 GEMM's tasks: one task on one thread; else at least `perThread` tasks per
 * thread (so a thread slowed by another process leaves work to the others) in the split that
 * minimises the estimated finishing time, ceil(tasks / threads) · (tm · tn + PACK · (tm + tn))
 * per unit of K: a task packs (tm + tn) · K floats of A and B for tm · tn · K multiply-adds, so
 * squarish tiles pack the least, and a task count that is a multiple of the thread count
 * leaves no thread idle at the end. Sides are multiples of the micro-tile, as even as that
 * allows.
 *
 * @param m rows
 * @param n columns
 * @param threads threads that will share the work
 * @param mr micro-tile height
 * @param nr micro-tile width
 * @param perThread tasks per thread, at least
 * @returns [tm, tn]
 */
export function gemmTiles(
  m: number,
  n: number,
  threads: number,
  mr: number,
  nr: number,
  perThread = 4,
): [number, number] {
  if (threads <= 1) return [Math.max(m, 1), Math.max(n, 1)];
  const key = `${m},${n},${threads},${mr},${nr},${perThread}`;
  const known = memo.get(key);
  if (known) return [known[0], known[1]];
  const side = (len: number, parts: number, unit: number) =>
    Math.max(unit, Math.ceil(len / parts / unit) * unit);
  const microM = Math.ceil(m / mr), microN = Math.ceil(n / nr);
  const want = Math.min(perThread * threads, microM * microN);
  const limit = Math.min(2 * want, MAX_PARTS);
  let best: [number, number] = [side(m, 1, mr), side(n, 1, nr)];
  let bestCost = Infinity;
  for (let pm = 1; pm <= Math.min(microM, limit); pm++) {
    const tm = side(m, pm, mr), tilesM = Math.ceil(m / tm);
    for (let pn = 1; pn <= Math.min(microN, limit); pn++) {
      const tn = side(n, pn, nr), tasks = tilesM * Math.ceil(n / tn);
      if (tasks < want) continue;
      const cost = Math.ceil(tasks / threads) * (tm * tn + PACK * (tm + tn));
      if (cost < bestCost) [best, bestCost] = [[tm, tn], cost];
    }
  }
  if (memo.size >= 256) memo.clear();
  memo.set(key, best);
  return [best[0], best[1]];
}
