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
