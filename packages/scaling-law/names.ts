/**
 * Formats and block sizes by name, as a user types them: `E2M1`, `fp8`, `bf16`; `128`,
 * `channel`, `none`.
 *
 * @module
 */
import { CHANNEL_LOG2_BLOCK } from "./constants.ts";

/** An ExMy layout: exponent and mantissa bits (sign bit not counted). */
export interface Layout {
  /** The canonical name, `E{E}M{M}`. */
  readonly name: string;
  /** E, exponent bits. */
  readonly exponentBits: number;
  /** M, mantissa bits. */
  readonly mantissaBits: number;
}

/** Alias names and the layouts they stand for (fp4 and fp8 as the paper's optimal splits). */
export const FORMAT_ALIASES: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  fp4: [2, 1],
  fp8: [4, 3],
  bf16: [8, 7],
  fp16: [5, 10],
  fp32: [8, 23],
});

/**
 * Resolves a format name: `ExMy` in any case (`E2M1`, `e4m3`) or an alias (`fp4` = E2M1,
 * `fp8` = E4M3, `bf16` = E8M7, `fp16` = E5M10, `fp32` = E8M23).
 *
 * @param name The name as typed.
 * @returns The layout, with the canonical `E{E}M{M}` name.
 * @throws {RangeError} For an unknown name, listing what is accepted.
 *
 * @example
 * ```ts
 * import { resolveFormat } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveFormat("bf16"), { name: "E8M7", exponentBits: 8, mantissaBits: 7 });
 * ```
 */
export function resolveFormat(name: string): Layout {
  const key = String(name).trim().toLowerCase();
  const alias = FORMAT_ALIASES[key];
  if (alias) return layout(alias[0], alias[1]);
  const match = /^e(\d{1,2})m(\d{1,2})$/.exec(key);
  if (match) return layout(Number(match[1]), Number(match[2]));
  throw new RangeError(
    `unknown format "${name}": use ExMy (e.g. E2M1, e4m3) or one of ${
      Object.keys(FORMAT_ALIASES).join(", ")
    }`,
  );
}

/**
 * Builds a layout from its bit counts.
 *
 * @param exponentBits E (integer >= 0).
 * @param mantissaBits M (integer >= 0).
 * @returns The layout named `E{E}M{M}`.
 * @throws {RangeError} When a count is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { layout } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(layout(4, 3).name, "E4M3");
 * ```
 */
export function layout(exponentBits: number, mantissaBits: number): Layout {
  for (
    const [label, v] of [["exponentBits", exponentBits], ["mantissaBits", mantissaBits]] as const
  ) {
    if (!Number.isInteger(v) || v < 0 || v > 99) {
      throw new RangeError(`${label} must be an integer in [0, 99], got ${v}`);
    }
  }
  return { name: `E${exponentBits}M${mantissaBits}`, exponentBits, mantissaBits };
}

/**
 * Resolves a block size to the law's log2 B: a positive integer B, `channel` (the paper's
 * equivalent log2 B = 13.1567) or `none` (B = 1: no penalty). Tensor-wise scaling has no
 * published constants and is refused.
 *
 * @param block A number, or a string such as `"128"`, `"channel"`, `"none"`.
 * @returns log2 B.
 * @throws {RangeError} For anything else.
 *
 * @example
 * ```ts
 * import { resolveBlock } from "@fp4lab/scaling-law";
 * import assert from "node:assert/strict";
 * assert.equal(resolveBlock(128), 7); // log2 of the block size
 * assert.equal(resolveBlock("channel"), 13.1567);
 * assert.equal(resolveBlock("none"), 0);
 * ```
 */
export function resolveBlock(block: number | string): number {
  const text = String(block).trim().toLowerCase();
  if (text === "channel") return CHANNEL_LOG2_BLOCK;
  if (text === "none") return 0;
  if (text === "tensor") {
    throw new RangeError(
      "block tensor is not supported: the paper publishes no constants for tensor-wise scaling; use a number, channel or none",
    );
  }
  const value = typeof block === "number" ? block : (/^\d+$/.test(text) ? Number(text) : NaN);
  if (!Number.isInteger(value) || value < 1 || !Number.isFinite(value)) {
    throw new RangeError(
      `block must be an integer >= 1, channel or none, got ${JSON.stringify(block)}`,
    );
  }
  return Math.log2(value);
}
