// The planner's commands, in the order `plan --help` lists them.
import type { Command } from "./command.ts";
import { budgetCommand } from "./commands/budget.ts";
import { dcritCommand } from "./commands/dcrit.ts";
import { fitCommand } from "./commands/fit.ts";
import { formatCommand } from "./commands/format.ts";
import { lossCommand } from "./commands/loss.ts";
import { tradeoffCommand } from "./commands/tradeoff.ts";

/**
 * Every planner command: `loss`, `dcrit`, `format`, `budget`, `tradeoff`, `fit`. The CLI
 * (`deno task plan`) and the web page run these same objects, so they give the same numbers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMANDS } from "@fp4lab/planner";
 * import { PAPER_CONSTANTS } from "@fp4lab/scaling-law";
 * assert.deepEqual(COMMANDS.map((c) => c.name), ["loss", "dcrit", "format", "budget", "tradeoff", "fit"]);
 * const format = COMMANDS.find((c) => c.name === "format")!;
 * const [best] = format.run({ bits: "4" }, PAPER_CONSTANTS).json as { format: string }[];
 * assert.equal(best.format, "E2M1"); // one object per bit width asked for
 * ```
 */
export const COMMANDS: readonly Command[] = Object.freeze([
  lossCommand,
  dcritCommand,
  formatCommand,
  budgetCommand,
  tradeoffCommand,
  fitCommand,
]);
