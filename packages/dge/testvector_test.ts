// The released kernel's test vector (spec/fp4-training.md §11): DGE factors of 20 evenly spaced
// BF16 points in [−6, 6], k = 5, cap 3. What reproduces the published 4-digit values:
//   1. x_i = −6 + 12·i/19 (i = 0…19) rounded to BF16, round-to-nearest-even;
//   2. the factor computed in f32 or wider from those BF16 inputs;
//   3. the factor rounded to BF16 (nearest-even) on output.
// Both roundings matter: without step 1 the second value would be 0.4453, not 0.4375.
import assert from "node:assert/strict";
import { BF16, E2M1, quantize } from "@fp4lab/fp4-format";
import { dgeFactor } from "./factor.ts";

function testVector(roundInputs: boolean): Float32Array {
  const x = new Float32Array(20);
  for (let i = 0; i < 20; i++) x[i] = -6 + (12 * i) / 19;
  const inputs = roundInputs ? quantize(x, BF16) : x;
  const factor = dgeFactor(inputs, E2M1, { k: 5, cap: 3 }) as Float32Array;
  return quantize(factor, BF16);
}

Deno.test("DGE test vector of 20 BF16 points in [-6, 6] (k = 5, cap 3) reproduces", () => {
  const got = testVector(true);
  // The spec's values, printed to 4 digits, and the BF16 numbers they are.
  const published = [0.2002, 0.4375, 0.6055, 0.2168, 1.8359];
  const bf16 = [0.2001953125, 0.4375, 0.60546875, 0.216796875, 1.8359375];
  for (let i = 0; i < published.length; i++) {
    assert.equal(got[i].toFixed(4), published[i].toFixed(4), `value ${i}`);
    assert.equal(got[i], bf16[i], `value ${i} as BF16`);
  }
  // "symmetric about 0"
  for (let i = 0; i < 20; i++) assert.equal(got[i], got[19 - i], `symmetry at ${i}`);
  // Every factor lies in [1/k, cap] and is a BF16 number.
  for (const v of got) {
    assert.ok(v >= 0.2 && v <= 3 && quantize(new Float32Array([v]), BF16)[0] === v);
  }
});

Deno.test("DGE test vector: the BF16 rounding of the inputs is what the published values imply", () => {
  const unrounded = testVector(false);
  assert.equal(unrounded[1].toFixed(4), "0.4453");
  assert.notEqual(unrounded[1], 0.4375);
});
