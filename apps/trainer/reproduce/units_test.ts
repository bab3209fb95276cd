import assert from "node:assert/strict";
import { PRESETS } from "@fp4lab/train";
import { markovSource } from "../data.ts";
import { exmyRecipe, fp4Variants } from "./variants.ts";
import { fp4Estimate, fp4Plan, fp4Specs } from "./fp4.ts";
import { isHeldOut, nonEmbeddingParams, scalingPlan, scalingSpecs } from "./scaling.ts";

Deno.test("variants: the ablations quantize what their names say", () => {
  const v = Object.fromEntries(fp4Variants().map((x) => [x.recipe.name, x.recipe]));
  assert.equal(Object.keys(v).length, 19, "names are unique");
  assert.equal(v["w4a8-direct"].linear.forward.w.format, "E2M1");
  assert.equal(v["w4a8-direct"].linear.forward.a.format, "E4M3");
  assert.deepEqual(v["w4a8-dge-k10"].linear.dge, { k: 10, cap: 3 });
  assert.equal(v["w8a4-direct"].linear.forward.a.format, "E2M1");
  assert.equal(v["w8a4-direct"].linear.forward.w.format, "E4M3");
  assert.equal(v["w8a4-occ-0.97"].linear.occ?.alpha, 0.97);
  assert.equal(v["w-tensor-a-token"].linear.forward.w.granularity, "tensor");
  assert.equal(v["w-tensor-a-token"].linear.forward.a.granularity, "row");
  assert.equal(v["w-channel-a-tensor"].linear.forward.a.granularity, "tensor");
  for (const r of Object.values(v)) assert.equal(r.lmHead.forward.w.format, "BF16");
});

Deno.test("variants: the scaling-law recipe quantizes P2, P4, P6 only", () => {
  const r = exmyRecipe(3, 2, 8);
  const q = { format: "E3M2", granularity: "block", blockSize: 8, scaleRule: "absmax" };
  assert.deepEqual(r.linear.forward.w, q);
  assert.deepEqual(r.linear.inputGrad.w, q);
  assert.deepEqual(r.linear.weightGrad.a, q);
  assert.equal(r.linear.forward.a.format, "BF16");
  assert.equal(r.linear.inputGrad.dy.format, "BF16");
  assert.equal(exmyRecipe(2, 1, "channel").linear.forward.w.granularity, "row");
  assert.throws(() => exmyRecipe(2, 1, 0), /block/);
});

Deno.test("plans: --budget-minutes scales the steps, and the grids meet the issue's minimums", async () => {
  const data = markovSource(40_000, { seed: 3 });
  const small = await fp4Plan({ quick: false, budgetMinutes: 1, preset: "smoke" }, data);
  assert.ok(small.calibration && small.calibration.bf16 > 0, "measured when not given");
  // The scaling itself, on a fixed calibration (timings on a shared machine vary run to run).
  const calibration = { bf16: 0.01, fp4: 0.02 };
  const one = await fp4Plan({ quick: false, budgetMinutes: 4, preset: "smoke", calibration }, data);
  const four = await fp4Plan(
    { quick: false, budgetMinutes: 16, preset: "smoke", calibration },
    data,
  );
  assert.ok(four.steps > 2 * one.steps, `${one.steps} -> ${four.steps}`);
  // The plan's own estimate of the sweep fits the budget.
  const est = fp4Estimate(one);
  const total = fp4Specs(one).reduce((a, s) => a + est(s), 0);
  assert.ok(total <= 240, `estimated ${total} s for a 4-minute budget`);
  // the default plan: 19 recipes x the short lr grid x 3 seeds, fp4 rows on 4 ranks
  assert.deepEqual(one.lrs, [1e-3, 2e-3, 4e-3]);
  assert.equal(fp4Specs(one).length, 19 * 3 * 3);
  assert.deepEqual(
    [...new Set(fp4Specs(one).filter((s) => (s.ranks ?? 1) > 1).map((s) => s.recipe.name))],
    ["fp4", "fp4-paper-exact", "fp4-direct"],
  );
  // a longer grid costs steps: the same budget over twice the rates trains about half as long
  const wide = await fp4Plan(
    {
      quick: false,
      budgetMinutes: 16,
      preset: "smoke",
      calibration,
      lrs: [1, 2, 3, 4, 5, 6].map((x) => x * 1e-3),
    },
    data,
  );
  assert.ok(wide.steps < 0.6 * four.steps, `${four.steps} -> ${wide.steps}`);

  const plan = await scalingPlan({ quick: false, budgetMinutes: null }, data);
  const specs = scalingSpecs(plan);
  assert.ok(new Set(plan.models.map(nonEmbeddingParams)).size >= 4);
  assert.ok(new Set(plan.steps).size >= 4);
  const formats = new Set(plan.quant.filter((q) => q.block !== null).map((q) => `E${q.e}M${q.m}`));
  assert.ok(formats.size >= 6);
  assert.ok(new Set(plan.quant.map((q) => q.block).filter((b) => b !== null)).size >= 3);
  assert.equal(new Set(specs.map((s) => s.id)).size, specs.length, "ids are unique");
  assert.equal(nonEmbeddingParams(PRESETS.tiny), 4 * (4 * 128 * 128 + 3 * 128 * 384));
  assert.equal(specs.filter((_s, i) => isHeldOut(i)).length, Math.round(specs.length / 5));
});

Deno.test("plans: --recipes keeps a subset in report order", async () => {
  const data = markovSource(40_000, { seed: 3 });
  const plan = await fp4Plan({ quick: true, budgetMinutes: null, recipes: ["fp4", "bf16"] }, data);
  assert.deepEqual(fp4Specs(plan).map((s) => s.id), ["bf16-s1", "fp4-s1", "bf16-s2", "fp4-s2"]);
  const grid = await fp4Plan(
    { quick: true, budgetMinutes: null, recipes: ["fp4"], seeds: 1, lrs: [4.5e-3, 1e-3] },
    data,
  );
  assert.deepEqual(fp4Specs(grid).map((s) => s.id), ["fp4-lr1e-3-s1", "fp4-lr4.5e-3-s1"]);
  await assert.rejects(
    () => fp4Plan({ quick: true, budgetMinutes: null, ranks: 3 }, data),
    /--ranks 3 must be a positive integer dividing the batch 4/,
  );
  await assert.rejects(
    () => fp4Plan({ quick: true, budgetMinutes: null, recipes: ["x"] }, data),
    /"x"/,
  );
});
