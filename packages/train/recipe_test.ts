import assert from "node:assert/strict";
import { parseRecipe, RecipeError, RECIPES } from "./recipe.ts";

Deno.test("parseRecipe: every built-in recipe round-trips through JSON", () => {
  for (const recipe of Object.values(RECIPES)) {
    assert.deepEqual(parseRecipe(JSON.stringify(recipe)), recipe, recipe.name);
    assert.deepEqual(parseRecipe(structuredClone(recipe)), recipe, recipe.name);
  }
});

// deno-lint-ignore no-explicit-any
type Loose = any; // a recipe being broken on purpose

// Each malformed recipe: a change to fp4 and the one line it must be refused with.
const BAD: [string, (r: Loose) => void, RegExp][] = [
  [
    "unknown format",
    (r) => r.linear.forward.a.format = "E9M9",
    /^linear\.forward\.a\.format: unknown format "E9M9"/,
  ],
  [
    "format not a string",
    (r) => r.lmHead.forward.w.format = 4,
    /^lmHead\.forward\.w\.format: expected a string, got 4$/,
  ],
  [
    "granularity",
    (r) => r.linear.forward.w.granularity = "column",
    /^linear\.forward\.w\.granularity: expected one of/,
  ],
  [
    "block size",
    (r) => Object.assign(r.linear.forward.a, { granularity: "block", blockSize: 0 }),
    /^linear\.forward\.a\.blockSize: expected an integer/,
  ],
  [
    "scale rule",
    (r) => Object.assign(r.linear.forward.a, { granularity: "block", scaleRule: "e8m0" }),
    /^linear\.forward\.a\.scaleRule: expected one of/,
  ],
  [
    "rounding",
    (r) => r.linear.inputGrad.dy.rounding = "up",
    /^linear\.inputGrad\.dy\.rounding: expected one of/,
  ],
  [
    "reuse in the forward",
    (r) => r.linear.forward.a = "reuse",
    /^linear\.forward\.a: expected an object, got "reuse"$/,
  ],
  [
    "unknown field",
    (r) => r.linear.forward.a.scale = 2,
    /^linear\.forward\.a: unknown field "scale"/,
  ],
  [
    "hadamard size",
    (r) => r.linear.weightGrad.hadamard = 8,
    /^linear\.weightGrad\.hadamard: expected one of 16, 32, got 8$/,
  ],
  [
    "dge k",
    (r) => r.linear.dge.k = -1,
    /^linear\.dge\.k: expected a number in \(0, 100\], got -1$/,
  ],
  [
    "dge on an f32 weight",
    (r) => r.linear.forward.w = { format: "fp32" },
    /^linear\.dge: DGE needs a scaled forward weight format/,
  ],
  ["dge missing", (r) => delete r.linear.dge, /^linear\.dge: missing \(null turns DGE off\)$/],
  [
    "occ alpha",
    (r) => r.linear.occ.alpha = 1.5,
    /^linear\.occ\.alpha: expected a number in \(0\.5, 1\), got 1\.5$/,
  ],
  [
    "occ scope",
    (r) => r.linear.occ.scope = "column",
    /^linear\.occ\.scope: expected one of "row", "tensor"/,
  ],
  [
    "occ residual",
    (r) => r.linear.occ.residual = "E5M2",
    /^linear\.occ\.residual: expected one of "f32", "E4M3"/,
  ],
  [
    "attention",
    (r) => r.attention = "E4M3",
    /^attention: expected one of "fp32", "BF16", got "E4M3"$/,
  ],
  [
    "moment format",
    (r) => r.optimizer.m2 = "E5M2",
    /^optimizer\.m2: expected one of "f32", "FP16", "BF16", "E4M3", got "E5M2"$/,
  ],
  ["name", (r) => r.name = "../x", /^name: expected 1-64 letters/],
  [
    "scaled fp32",
    (r) => r.lmHead.forward.a = { format: "fp32", granularity: "row" },
    /^lmHead\.forward\.a\.granularity: fp32 operands are not scaled/,
  ],
  [
    "block size without blocks",
    (r) => {
      r.linear.forward.a.blockSize = 32;
      delete r.linear.forward.a.granularity;
    },
    /^linear\.forward\.a: blockSize and scaleRule need a scaled granularity/,
  ],
  ["top-level field", (r) => r.lr = 3, /^recipe: unknown field "lr"/],
];

Deno.test("parseRecipe: malformed recipes are refused with one line naming the field", () => {
  for (const [what, mutate, message] of BAD) {
    const r = JSON.parse(JSON.stringify(RECIPES.fp4)) as Loose;
    mutate(r);
    assert.throws(() => parseRecipe(r), (e: Error) => {
      assert.ok(e instanceof RecipeError, what);
      assert.match(e.message, message, what);
      assert.ok(!e.message.includes("\n"), `${what}: one line`);
      return true;
    });
  }
  assert.throws(() => parseRecipe("{"), /^RecipeError: not JSON/);
  assert.throws(() => parseRecipe("[]"), /^RecipeError: recipe: expected an object/);
});

Deno.test("parseRecipe: the result is a frozen copy", () => {
  const input = structuredClone(RECIPES.fp4) as Loose;
  const r = parseRecipe(input);
  input.linear.forward.a.format = "BF16";
  assert.equal(r.linear.forward.a.format, "E2M1");
  assert.ok(Object.isFrozen(r.linear.forward.a));
});
