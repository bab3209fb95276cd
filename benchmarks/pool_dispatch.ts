/**
 * What handing a job to the kernels' worker pool costs, and from which GEMM size a second
 * thread pays: the measurement behind `PARALLEL_MIN_MACS` in kernels/matmul.ts.
 *
 * 1. An empty job (two tasks that each fill 16 floats) on the pool against the same job on the
 *    calling thread: the fixed cost of posting a job, waking the worker and waiting for it.
 * 2. A job of two equal compute-bound tasks of duration D (two 48 × 256 × 256 GEMM tiles): on
 *    one thread it takes 2D; on two, D plus however late the worker joins and however long the
 *    caller then takes to notice it left. The difference, 2-thread time minus D, is the
 *    latency the threshold has to pay for.
 * 3. f32 GEMMs of growing size on one thread (one task) and on two (the pool's tiles), in
 *    interleaved rounds: the 2-thread / 1-thread speed by multiply-add count.
 *
 * Figures are medians over rounds, and the best round: on a shared machine the worker often
 * waits for a core (a scheduling delay, not a cost of the pool), so the best round is the
 * closest to what a quiet machine gives. `uptime` is printed with them.
 *
 * Run: `deno run -A benchmarks/pool_dispatch.ts [--rounds N]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { heapAlloc, kernelExports, runTasks, setThreads } from "../kernels/runtime.ts";
import { gemmTiles } from "../kernels/_tiles.ts";

const args = parseArgs({
  options: { rounds: { type: "string", default: "15" }, help: { type: "boolean" } },
});
if (args.values.help) {
  console.log("usage: deno run -A benchmarks/pool_dispatch.ts [--rounds N]");
  Deno.exit(0);
}
const ROUNDS = Number(args.values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error("--rounds must be >= 1");

const uptime = () => execFileSync("uptime").toString().trim();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Microseconds per call of f, over enough calls for ~20 ms. */
function usPerCall(f: () => void, calls: number): number {
  f();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) f();
  return ((performance.now() - t0) / calls) * 1000;
}

console.log(`Deno ${Deno.version.deno}; ${ROUNDS} rounds; uptime before: ${uptime()}`);
setThreads(2);
const buf = heapAlloc(64 * 4);
const fill = (n: number, parallel: boolean) => () =>
  runTasks("fillTask", [buf, 2 * n, 1, n], 2, parallel);

// 1 and 2: dispatch cost and wake-up latency.
const empty: [number[], number[]] = [[], []];
const big: [number[], number[]] = [[], []];
const ex = kernelExports();
const [ga, gb, gc] = [96 * 256, 256 * 256, 96 * 256].map((n) => heapAlloc(n * 4));
const twoTiles = (parallel: boolean) => () =>
  runTasks("gemmF32Task", [0, ga, gb, gc, 96, 256, 256, 0, 48, 256], 2, parallel);
for (let r = 0; r < ROUNDS; r++) {
  empty[0].push(usPerCall(fill(16, false), 2000));
  empty[1].push(usPerCall(fill(16, true), 2000));
  big[0].push(usPerCall(twoTiles(false), 40));
  big[1].push(usPerCall(twoTiles(true), 40));
}
const best = (xs: number[]) => Math.min(...xs);
for (const [what, f] of [["median", median], ["best", best]] as const) {
  const [e1, e2] = empty.map(f), [b1, b2] = big.map(f);
  console.log(
    `${what}: empty job ${e1.toFixed(2)} µs on the calling thread, ${e2.toFixed(2)} µs ` +
      `through the pool (dispatch ≈ ${(e2 - e1).toFixed(1)} µs); two ${(b1 / 2).toFixed(0)} µs ` +
      `tasks: ${b1.toFixed(0)} µs on one thread, ${b2.toFixed(0)} µs on two (latency ≈ ` +
      `${(b2 - b1 / 2).toFixed(0)} µs)`,
  );
}

// 3: GEMM crossover.
const SIZES: [number, number, number][] = [
  [32, 32, 32],
  [48, 48, 48],
  [64, 64, 64],
  [96, 96, 96],
  [128, 128, 128],
  [160, 160, 160],
  [192, 192, 192],
  [256, 256, 256],
  [2048, 16, 32],
  [16, 32, 2048],
];
const ops = SIZES.map(([m, n, k]) => {
  const a = heapAlloc(m * k * 4), b = heapAlloc(k * n * 4), c = heapAlloc(m * n * 4);
  const run = (threads: number) => () => {
    const [tm, tn] = gemmTiles(m, n, threads, 6, 8);
    const total = ex.gemmF32Tasks(m, n, tm, tn) as number;
    runTasks("gemmF32Task", [0, a, b, c, m, n, k, 0, tm, tn], total, threads > 1);
  };
  return { m, n, k, one: run(1), two: run(2), t1: [] as number[], t2: [] as number[] };
});
for (let r = 0; r < ROUNDS; r++) {
  for (const o of ops) {
    const calls = Math.max(5, Math.round(4e6 / (o.m * o.n * o.k)));
    o.t1.push(usPerCall(o.one, calls));
    o.t2.push(usPerCall(o.two, calls));
  }
}
console.log(
  "| M×N×K | MACs | 1 thread µs | 2 threads µs | 2T/1T speed | best 1T µs | best 2T µs | " +
    "best 2T/1T |\n| --- | --: | --: | --: | --: | --: | --: | --: |",
);
for (const o of ops) {
  const t1 = median(o.t1), t2 = median(o.t2);
  const ratio = median(o.t1.map((x, i) => x / o.t2[i]));
  console.log(
    `| ${o.m}×${o.n}×${o.k} | ${(o.m * o.n * o.k / 1e6).toFixed(2)} M | ${t1.toFixed(1)} | ` +
      `${t2.toFixed(1)} | ${ratio.toFixed(2)} | ${best(o.t1).toFixed(1)} | ` +
      `${best(o.t2).toFixed(1)} | ${(best(o.t1) / best(o.t2)).toFixed(2)} |`,
  );
}
console.log(`uptime after: ${uptime()}`);
