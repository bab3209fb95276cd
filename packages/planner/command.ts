// What every command returns, the flags they share, and the file access they are given.
import type { Table } from "./format.ts";
import type { VegaLiteSpec } from "./chart.ts";
import type { ScalingLawConstants } from "@fp4lab/scaling-law";

/**
 * One command's answer in every output form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CommandResult, COMMANDS } from "@fp4lab/planner";
 * import { PAPER_CONSTANTS } from "@fp4lab/scaling-law";
 * const dcrit = COMMANDS.find((c) => c.name === "dcrit")!;
 * const r: CommandResult = dcrit.run({ params: "1e9", format: "e2m1" }, PAPER_CONSTANTS);
 * assert.equal(typeof r.human, "string");
 * assert.notEqual(r.plot, undefined);
 * ```
 */
export interface CommandResult {
  /** The `--json` value. */
  readonly json: unknown;
  /** The default human-readable text. */
  readonly human: string;
  /** The `--csv` table; absent where the result is not tabular. */
  readonly table?: Table;
  /** Builds the `--svg` picture as a Vega-Lite spec (only when asked for). */
  readonly plot?: () => VegaLiteSpec;
}

/**
 * Parsed flag values by flag name without the dashes: strings, or booleans for the switches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Values } from "@fp4lab/planner";
 * const values: Values = { params: "7B", tokens: "1.5T", format: "fp4" };
 * assert.equal(Object.keys(values).length, 3);
 * ```
 */
export type Values = Record<string, string | boolean | undefined>;

/**
 * The file access a command may need (`fit` reads `--runs` and writes `--out`): the CLI passes
 * the file system, the web page the text pasted into the form. Throwing is how a read fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PlannerFiles } from "@fp4lab/planner";
 * const pasted = new Map([["runs.csv", "params,tokens,exponent_bits,mantissa_bits,block,loss\n"]]);
 * const files: PlannerFiles = {
 *   readText: (path) => {
 *     const text = pasted.get(path);
 *     if (text === undefined) throw new Error("no such file");
 *     return text;
 *   },
 *   writeText: (path, text) => void pasted.set(path, text),
 * };
 * assert.ok(files.readText("runs.csv").startsWith("params"));
 * ```
 */
export interface PlannerFiles {
  /** The whole text of the file at `path`. */
  readText(path: string): string;
  /** Writes `text` to `path`, replacing it. */
  writeText(path: string, text: string): void;
}

/**
 * No file access: the default for {@link Command.run}; only `fit` needs files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NO_FILES } from "@fp4lab/planner";
 * assert.throws(() => NO_FILES.readText("runs.csv"), {
 *   message: "no file access here (wanted runs.csv)",
 * });
 * ```
 */
export const NO_FILES: PlannerFiles = {
  readText: (path) => {
    throw new Error(`no file access here (wanted ${path})`);
  },
  writeText: (path) => {
    throw new Error(`no file access here (wanted to write ${path})`);
  },
};

/**
 * A subcommand of `plan`: its name, help text, flags and the function computing its answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMANDS } from "@fp4lab/planner";
 * import { PAPER_CONSTANTS } from "@fp4lab/scaling-law";
 * const loss = COMMANDS.find((c) => c.name === "loss")!;
 * assert.deepEqual(loss.flags, ["params", "tokens", "format", "block"]);
 * const r = loss.run({ params: "1e9", tokens: "1e12", format: "bf16" }, PAPER_CONSTANTS);
 * assert.ok((r.json as { loss: number }).loss > 2);
 * ```
 */
export interface Command {
  /** The name after `plan` on the command line. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The `--help` text. */
  readonly usage: string;
  /** The command's own string flags (the shared ones are added by the CLI). */
  readonly flags: readonly string[];
  /**
   * Computes the answer.
   *
   * @throws {UsageError} on bad input, with a one-line message naming the flag
   */
  run(values: Values, constants: ScalingLawConstants, files?: PlannerFiles): CommandResult;
}

/**
 * A string flag value (undefined when absent or a switch).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { str } from "./command.ts";
 * assert.equal(str({ params: "7B", json: true }, "params"), "7B");
 * assert.equal(str({ json: true }, "json"), undefined); // a switch has no string value
 * ```
 */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
