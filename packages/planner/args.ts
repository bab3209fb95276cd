// Argument parsing shared by the commands: numbers with K/M/B/T suffixes, lists, formats,
// blocks, the constants file. Every failure is a UsageError (exit 2, one line).
import {
  CHANNEL_LOG2_BLOCK,
  type Layout,
  resolveBlock,
  resolveFormat,
  type ScalingLawConstants,
  validateConstants,
} from "@fp4lab/scaling-law";

/**
 * Bad input: the CLI prints the message on one line and exits 2; the web page shows it beside
 * the form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMANDS, UsageError } from "@fp4lab/planner";
 * import { PAPER_CONSTANTS } from "@fp4lab/scaling-law";
 * const loss = COMMANDS.find((c) => c.name === "loss")!;
 * assert.throws(() => loss.run({ params: "-1" }, PAPER_CONSTANTS), UsageError);
 * ```
 */
export class UsageError extends Error {
  /** Always "UsageError". */
  override name = "UsageError";
}

const SUFFIX: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9, g: 1e9, t: 1e12, p: 1e15 };

/** A positive number: `1e9`, `7B`, `1.5T`, `300M`. */
export function positive(flag: string, raw: string | undefined): number {
  if (raw === undefined || raw === "") throw new UsageError(`--${flag} is required`);
  const m = /^\s*([0-9.]+(?:e[+-]?\d+)?)\s*([kmbgtp]?)\s*$/i.exec(raw);
  const value = m ? Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()] : 1) : NaN;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new UsageError(
      `--${flag} must be a positive number (e.g. 1e9, 7B, 1.5T), got "${raw}"`,
    );
  }
  return value;
}

/** A comma-separated list of positive numbers. */
export function positiveList(flag: string, raw: string | undefined): number[] {
  if (raw === undefined || raw === "") throw new UsageError(`--${flag} is required`);
  return raw.split(",").map((part) => positive(flag, part.trim()));
}

/** An optional positive number. */
export function optionalPositive(flag: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : positive(flag, raw);
}

/** A format by name, as a UsageError when unknown. */
export function format(raw: string | undefined, flag = "format"): Layout {
  if (raw === undefined || raw === "") {
    throw new UsageError(`--${flag} is required (e.g. E2M1, fp8, bf16)`);
  }
  try {
    return resolveFormat(raw);
  } catch (e) {
    throw new UsageError(`--${flag}: ${(e as Error).message}`);
  }
}

/** A block: the user's spelling (for the output) and log2 B. */
export interface Block {
  readonly label: string | number;
  readonly log2Block: number;
}

export function block(raw: string | undefined, fallback = "128"): Block {
  const text = (raw ?? fallback).trim().toLowerCase();
  try {
    const log2Block = resolveBlock(text);
    const label = text === "channel" || text === "none" ? text : Number(text);
    return { label, log2Block };
  } catch (e) {
    throw new UsageError(`--block: ${(e as Error).message}`);
  }
}

/** How a block reads in a sentence: `B = 128`, `channel-wise (log2 B = 13.1567)`. */
export function describeBlock(b: Block): string {
  if (b.log2Block === CHANNEL_LOG2_BLOCK) return "channel-wise (log2 B = 13.1567)";
  if (b.log2Block === 0) return "B = 1 (no block scaling penalty)";
  return `B = ${b.label}`;
}

/** An integer in a range. */
export function integer(flag: string, raw: string | undefined, lo: number, hi: number): number {
  const value = raw === undefined ? NaN : Number(raw);
  if (!Number.isInteger(value) || value < lo || value > hi || !/^\s*\d+\s*$/.test(raw ?? "")) {
    throw new UsageError(`--${flag} must be an integer in [${lo}, ${hi}], got "${raw}"`);
  }
  return value;
}

/**
 * Constants from JSON text: the output of `plan fit --json` / `--out` (the `constants` key), or a
 * bare `{n, alpha, d, beta, epsilon, gamma, delta, nu}` object.
 *
 * @param text the JSON text
 * @param label what the text is called in messages (the file name)
 * @returns the validated constants
 * @throws {UsageError} when the text is not JSON or the constants are invalid
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PAPER_CONSTANTS } from "@fp4lab/scaling-law";
 * import { parseConstants } from "@fp4lab/planner";
 * const c = parseConstants(JSON.stringify({ constants: PAPER_CONSTANTS }), "fit.json");
 * assert.equal(c.alpha, PAPER_CONSTANTS.alpha);
 * ```
 */
export function parseConstants(text: string, label: string): ScalingLawConstants {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--constants: ${label} is not JSON: ${(e as Error).message}`);
  }
  const obj = parsed as Record<string, unknown> | null;
  const candidate = obj && typeof obj === "object" && "constants" in obj ? obj.constants : obj;
  try {
    return validateConstants(candidate);
  } catch (e) {
    throw new UsageError(`--constants: ${label}: ${(e as Error).message}`);
  }
}
