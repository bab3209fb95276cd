/**
 * One seed per rounding: every stochastic rounding and random Hadamard transform of a step draws
 * from a seed that is a function of (step, layer, GEMM, operand) only, so runs are reproducible,
 * resumable at any step, and independent of how the work is scheduled.
 *
 * @module
 */

/** The linear layers of a decoder block (and the LM head). */
export type SeedGemm = "qkv" | "o" | "gate_up" | "down" | "lm_head";

/**
 * The operands a linear layer rounds: the forward's A and W, the output gradient dY of the
 * input-gradient GEMM, the transposed copies requantized for the weight-gradient GEMM, and the
 * random Hadamard signs.
 */
export type SeedOperand = "a" | "w" | "dy" | "w_t" | "dy_t" | "a_t" | "hadamard";

const GEMM_OFFSET: Readonly<Record<SeedGemm, number>> = {
  qkv: 0,
  o: 100,
  gate_up: 200,
  down: 300,
  lm_head: 17,
};

const OPERAND_OFFSET: Readonly<Record<SeedOperand, number>> = {
  a: 0,
  w: 1,
  dy: 2,
  w_t: 3,
  dy_t: 4,
  a_t: 5,
  hadamard: 6,
};

/**
 * The seed of one rounding. `step` counts micro-steps (step · ranks + rank). The values are
 * those the trainer has always used, so existing runs resume bit for bit.
 *
 * @param step micro-step
 * @param layer decoder block index (ignored for the LM head)
 * @param gemm which linear layer
 * @param operand which operand
 * @returns a non-negative integer seed
 * @example
 * ```ts
 * import { seedFor } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * assert.equal(seedFor(0, 0, "qkv", "w"), 1);
 * assert.notEqual(seedFor(1, 0, "qkv", "a"), seedFor(0, 0, "qkv", "a"));
 * ```
 */
export function seedFor(step: number, layer: number, gemm: SeedGemm, operand: SeedOperand): number {
  const base = gemm === "lm_head" ? step * 7919 : (step * 64 + layer * 8) * 7919;
  return base + GEMM_OFFSET[gemm] + OPERAND_OFFSET[operand];
}
