import assert from "node:assert/strict";
import { quantizeOperand } from "./operand.ts";
import { parseRecipe, RECIPES } from "./recipe.ts";

Deno.test("recipes: bf16-f32 is bf16 with f32 AdamW moments, nothing else", () => {
  const { name: _a, description: _b, optimizer, ...rest } = RECIPES["bf16-f32"];
  const { name: _c, description: _d, optimizer: paper, ...bf16 } = RECIPES.bf16;
  assert.deepEqual(rest, bf16);
  assert.deepEqual(optimizer, { m1: "f32", m2: "f32" });
  assert.deepEqual(paper, { m1: "E4M3", m2: "FP16" }, "bf16 keeps the paper's moments");
});

Deno.test("recipes: fp4-paper-exact rounds E2M1 ties upward where fp4 rounds them to even", () => {
  const exact = RECIPES["fp4-paper-exact"], fp4 = RECIPES.fp4;
  assert.deepEqual(parseRecipe(JSON.stringify(exact)), exact);
  assert.equal(exact.linear.forward.a.rounding, "nearest-up");
  assert.equal(exact.linear.forward.w.rounding, "nearest-up");
  assert.deepEqual(
    { ...exact.linear, forward: fp4.linear.forward },
    fp4.linear,
    "DGE, OCC and the backward GEMMs are fp4's",
  );
  // A row with absmax 6 has scale 1: 2.5 and 5 sit halfway between E2M1 neighbours (2|3, 4|6).
  const row = new Float32Array([2.5, -2.5, 5, 6, 0.25, 1]);
  const up = quantizeOperand(row, 1, 6, exact.linear.forward.a, new Float32Array(6), 0);
  const even = quantizeOperand(row, 1, 6, fp4.linear.forward.a, new Float32Array(6), 0);
  assert.deepEqual([...up], [3, -2, 6, 6, 0.5, 1]);
  assert.deepEqual([...even], [2, -2, 4, 6, 0, 1]);
});
