/**
 * Writes a runs CSV drawn from the law itself (the paper's 352-run grid, 0.5% log-normal noise)
 * to stdout, so `plan fit` can be tried without a sweep:
 *
 *   deno run apps/planner/examples/synthetic_runs.ts > runs.csv
 *   deno task plan fit --runs runs.csv
 *
 * Optional arguments: noise (default 0.005) and seed (default 1).
 *
 * @module
 */
import { formatRunsCsv, paperGrid, simulateRuns } from "@fp4lab/scaling-law";

const noise = Number(Deno.args[0] ?? "0.005");
const seed = Number(Deno.args[1] ?? "1");
console.log(formatRunsCsv(simulateRuns(paperGrid(), { noise, seed })).trimEnd());
