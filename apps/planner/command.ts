// What every command returns, and the flags they share.
import type { Table } from "./format.ts";
import type { VegaLiteSpec } from "./plot.ts";
import type { ScalingLawConstants } from "@fp4lab/scaling-law";

/** One command's answer in every output form. */
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

/** Parsed flag values: strings, or booleans for the switches. */
export type Values = Record<string, string | boolean | undefined>;

/** A subcommand of `plan`. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** The command's own string flags (the shared ones are added by main.ts). */
  readonly flags: readonly string[];
  run(values: Values, constants: ScalingLawConstants): CommandResult;
}

/** A string flag value (undefined when absent). */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
