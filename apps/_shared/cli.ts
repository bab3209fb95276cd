/**
 * The command-line conventions every app shares (train, eval, sample, reproduce, plan): flags
 * parsed by node:util's parseArgs with negative numbers handled, one {@link UsageError} for bad
 * input, and one exit-status rule ({@link failureStatus}): 2 with one line for bad input, 1 with
 * the stack for an internal failure.
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Bad command-line input: the CLI prints `program: message` (one line) and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * The exit status of a CLI whose work threw `error`: bad input (a {@link UsageError}, or what
 * `isBadInput` accepts) prints one line `program: message` and gives 2; anything else prints the
 * stack as an internal error and gives 1.
 *
 * @param program the name printed before the message (`train`, `plan budget`)
 * @param error what was thrown
 * @param isBadInput also treat these errors as bad input
 * @param print where the line goes (default stderr)
 * @returns 2 or 1
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { failureStatus, UsageError } from "./cli.ts";
 * const lines: string[] = [];
 * assert.equal(failureStatus("x", new UsageError("--n must be 1"), undefined, (l) => lines.push(l)), 2);
 * assert.deepEqual(lines, ["x: --n must be 1"]);
 * ```
 */
export function failureStatus(
  program: string,
  error: unknown,
  isBadInput: (error: unknown) => boolean = () => false,
  print: (line: string) => void = (line) => console.error(line),
): number {
  if (error instanceof UsageError || isBadInput(error)) {
    print(`${program}: ${(error as Error).message.replaceAll("\n", " ")}`);
    return 2;
  }
  print(`${program}: internal error: ${error instanceof Error ? error.stack : error}`);
  return 1;
}

/**
 * Glues a value that starts with `-` followed by a digit or a dot to its string flag
 * (`--lr -1` becomes `--lr=-1`): node:util's parseArgs reads "-1" as an option otherwise and
 * says "argument is ambiguous" instead of letting the app say what is wrong with the value.
 *
 * @param args command-line arguments
 * @param stringFlags names of the flags that take a value (without `--`)
 * @returns the arguments with such values glued on
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { glueNegativeValues } from "./cli.ts";
 * assert.deepEqual(glueNegativeValues(["--lr", "-1", "--json"], new Set(["lr"])), ["--lr=-1", "--json"]);
 * ```
 */
export function glueNegativeValues(args: readonly string[], stringFlags: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i].startsWith("--") ? args[i].slice(2) : "";
    if (stringFlags.has(flag) && /^-[\d.]/.test(args[i + 1] ?? "")) {
      out.push(`${args[i]}=${args[i + 1]}`);
      i++;
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

/** A flag definition as parseArgs takes it. */
export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/**
 * Parses flags strictly (unknown flags and, unless allowed, positionals are errors), after
 * {@link glueNegativeValues}; a parse failure is a one-line {@link UsageError} ending in
 * "(see --help)".
 *
 * @param args command-line arguments
 * @param options the flags
 * @param allowPositionals accept positional arguments
 * @returns the values and positionals
 * @throws {UsageError} for an unknown flag, a missing value or an unexpected positional
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./cli.ts";
 * const { values } = parseFlags(["--steps", "-5"], { steps: { type: "string" } });
 * assert.equal(values.steps, "-5");
 * ```
 */
export function parseFlags(
  args: readonly string[],
  options: FlagSpec,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const stringFlags = new Set(Object.keys(options).filter((k) => options[k].type === "string"));
  try {
    const r = parseArgs({
      args: glueNegativeValues(args, stringFlags),
      options,
      strict: true,
      allowPositionals,
    });
    return {
      values: r.values as Record<string, string | boolean | undefined>,
      positionals: r.positionals,
    };
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0]
      .replace(/\.?\s*To specify.*$/, "");
    throw new UsageError(`${msg} (see --help)`);
  }
}

/** How a flag's value reads in a message: bare, or quoted when empty or holding spaces. */
function shown(text: string): string {
  return text === "" || /\s/.test(text) ? JSON.stringify(text) : text;
}

/**
 * A positive integer flag (`--steps 100`), at most `max`.
 *
 * @param flag the flag with its dashes, for the message
 * @param text its value, or undefined when absent
 * @param fallback the value when absent
 * @param max the largest value accepted (default 2^53 − 1)
 * @returns the integer
 * @throws {UsageError} `--steps must be a positive integer, got -5`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positiveIntFlag } from "./cli.ts";
 * assert.equal(positiveIntFlag("--steps", "20", 1), 20);
 * assert.throws(() => positiveIntFlag("--steps", "-5", 1), /--steps must be a positive integer, got -5/);
 * ```
 */
export function positiveIntFlag(
  flag: string,
  text: string | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\s*\+?\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${flag} must be a positive integer, got ${shown(text)}`);
  }
  if (n > max) throw new UsageError(`${flag} must be at most ${max}, got ${shown(text)}`);
  return n;
}

/**
 * A non-negative integer flag (`--top-k 0`), at most `max`.
 *
 * @param flag the flag with its dashes
 * @param text its value, or undefined when absent
 * @param fallback the value when absent
 * @param max the largest value accepted
 * @returns the integer
 * @throws {UsageError} naming the flag and the value
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nonNegativeIntFlag } from "./cli.ts";
 * assert.equal(nonNegativeIntFlag("--top-k", "0", 40), 0);
 * ```
 */
export function nonNegativeIntFlag(
  flag: string,
  text: string | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\s*\+?\d+\s*$/.test(text) || !Number.isSafeInteger(n)) {
    throw new UsageError(`${flag} must be a non-negative integer, got ${shown(text)}`);
  }
  if (n > max) throw new UsageError(`${flag} must be at most ${max}, got ${shown(text)}`);
  return n;
}

/**
 * A finite number flag greater than 0 (or at least 0 with `allowZero`).
 *
 * @param flag the flag with its dashes
 * @param text its value, or undefined when absent
 * @param fallback the value when absent
 * @param allowZero accept 0 (`--temperature 0`)
 * @returns the number
 * @throws {UsageError} `--lr must be a positive number, got -1`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positiveNumberFlag } from "./cli.ts";
 * assert.equal(positiveNumberFlag("--lr", "3e-3", 1), 0.003);
 * assert.throws(() => positiveNumberFlag("--lr", "-1", 1), /--lr must be a positive number, got -1/);
 * ```
 */
export function positiveNumberFlag(
  flag: string,
  text: string | undefined,
  fallback: number,
  allowZero = false,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new UsageError(
      `${flag} must be a ${allowZero ? "non-negative" : "positive"} number, got ${shown(text)}`,
    );
  }
  return n;
}

/** The seeds every app accepts: integers in [-2^31, 2^31 − 1] (distinct streams, sign allowed). */
export const SEED_RANGE = [-(2 ** 31), 2 ** 31 - 1] as const;

/**
 * A seed flag: any integer in {@link SEED_RANGE}, negative ones included, the same in every app
 * (the random streams take a seed modulo 2^32, so a wider range would alias).
 *
 * @param flag the flag with its dashes
 * @param text its value, or undefined when absent
 * @param fallback the value when absent
 * @returns the seed
 * @throws {UsageError} naming the range
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedFlag } from "./cli.ts";
 * assert.equal(seedFlag("--seed", "-3", 1), -3);
 * ```
 */
export function seedFlag(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\s*[-+]?\d+\s*$/.test(text) || n < SEED_RANGE[0] || n > SEED_RANGE[1]) {
    throw new UsageError(
      `${flag} must be an integer from ${SEED_RANGE[0]} to ${SEED_RANGE[1]}, got ${shown(text)}`,
    );
  }
  return n;
}
