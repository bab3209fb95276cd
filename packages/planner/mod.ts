/**
 * `@fp4lab/planner`: the precision planner's commands as plain functions, shared by the CLI
 * (`deno task plan`) and the web page. Each command takes its flags as strings (`"7B"`,
 * `"e2m1"`, `"channel"`), the scaling-law constants, and (for `fit`) file access, and returns
 * its answer as JSON, as text, as a table and as a Vega-Lite chart spec. Bad input throws a
 * {@link UsageError} whose message names the flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chartSpec, COMMANDS } from "@fp4lab/planner";
 * import { PAPER_CONSTANTS } from "@fp4lab/scaling-law";
 * const dcrit = COMMANDS.find((c) => c.name === "dcrit")!;
 * const r = dcrit.run({ params: "1e9", format: "e4m3", block: "128" }, PAPER_CONSTANTS);
 * const [row] = r.json as { criticalTokens: number }[]; // one object per format
 * assert.ok(Math.abs(row.criticalTokens / 1e12 - 27.33) < 0.01); // 27.3T tokens
 * assert.equal(chartSpec(r.plot!()).layer.length, 3);
 * ```
 *
 * @module
 */
export type { ScalingLawConstants } from "@fp4lab/scaling-law";
export * from "./command.ts";
export * from "./chart.ts";
export * from "./registry.ts";
export { parseConstants, UsageError } from "./args.ts";
export { renderCsv, renderTable, type Table } from "./format.ts";
