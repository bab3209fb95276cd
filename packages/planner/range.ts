// The law's meaningful range: an answer with fewer than 1 bit of precision, fewer than one
// parameter or less than one token is arithmetic, not a plan. Commands check their answers here
// and refuse them by name (exit 2) instead of printing them or failing inside the library.
import { UsageError } from "./args.ts";
import { short } from "./format.ts";

/** One answer of the law: precision in bits, parameters, tokens. */
export interface LawAnswer {
  readonly precision: number;
  readonly params: number;
  readonly tokens: number;
}

/**
 * Refuses an answer outside the law's meaningful range (P >= 1 bit, N >= 1, D >= 1, all finite).
 *
 * @param where the input that led to it, e.g. `at --compute 1e5 FLOPs`
 * @param answer the law's answer
 * @param hint what to change, e.g. `give a larger --compute`
 * @throws {UsageError} naming the input, the value out of range and the hint
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLawAnswer } from "./range.ts";
 * assert.throws(
 *   () => checkLawAnswer("at --compute 1e5", { precision: 1.6, params: 0.16, tokens: 1e6 }, "give more"),
 *   /N = 0\.16.*N < 1 parameter/,
 * );
 * ```
 */
export function checkLawAnswer(where: string, answer: LawAnswer, hint: string): void {
  const { precision: p, params: n, tokens: d } = answer;
  const shown = `P = ${p.toPrecision(3)} bits, N = ${short(n)}, D = ${short(d)} tokens`;
  if (![p, n, d].every(Number.isFinite) || n * d === 0) {
    throw new UsageError(
      `${where} the law's arithmetic overflows (${shown}): beyond what it can answer; ${hint}`,
    );
  }
  const out = [p < 1 ? "P < 1 bit" : "", n < 1 ? "N < 1 parameter" : "", d < 1 ? "D < 1 token" : ""]
    .filter((x) => x);
  if (out.length > 0) {
    throw new UsageError(
      `${where} the law's optimum (${shown}) is outside its meaningful range (${
        out.join(", ")
      }); ${hint}`,
    );
  }
}
