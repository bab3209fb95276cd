import assert from "node:assert/strict";
import { PRESETS } from "@fp4lab/train";
import { markovSource } from "../data.ts";
import { exmyRecipe, fp4Variants } from "./variants.ts";
import { fp4Estimate, fp4Plan, fp4Specs } from "./fp4.ts";
import {
  isHeldOut,
  nonEmbeddingParams,
  type ScalingPlan,
  scalingPlan,
  scalingSpecs,
  signatureTest,
} from "./scaling.ts";
import type { RunResult } from "./sweep.ts";

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
  // designed for power: the largest-penalty formats, the largest blocks, long D, several seeds
  assert.ok(new Set(plan.models.map(nonEmbeddingParams)).size >= 2);
  assert.ok(new Set(plan.steps).size >= 5);
  assert.equal(Math.max(...plan.steps) / Math.min(...plan.steps), 16);
  const formats = new Set(plan.quant.filter((q) => q.block !== null).map((q) => `E${q.e}M${q.m}`));
  assert.deepEqual([...formats].sort(), ["E1M1", "E1M2", "E2M1"]);
  assert.ok(plan.quant.some((q) => q.channel && q.e === 1 && q.m === 1), "E1M1 one scale per row");
  assert.ok(new Set(plan.quant.map((q) => q.block).filter((b) => b !== null)).size >= 3);
  assert.deepEqual(plan.seeds, [1, 2, 3]);
  assert.equal(specs.length, 2 * 5 * 7 * 3);
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

Deno.test("scaling: the signature test recovers a D^0.5 penalty and says when it cannot", async () => {
  const data = markovSource(40_000, { seed: 3 });
  const plan: ScalingPlan = await scalingPlan({ quick: true, budgetMinutes: null, steps: 4 }, data);
  const wide = { ...plan, steps: [4, 8, 16, 32] };
  // synthetic losses: bf16 = 3 − 0.1·log2(steps) (+ seed offset), E1M1-Bch adds c·D^0.5 per model
  const results = scalingSpecs(wide).map((s, i) => {
    const c = s.config.hiddenSize === 16 ? 2e-4 : 1e-4;
    const tokens = s.steps * s.batch * s.config.contextLength;
    const penalty = s.meta.label === "E1M1-Bch" ? c * Math.sqrt(tokens) : 0;
    return {
      id: s.id,
      recipe: s.recipe.name,
      meta: s.meta,
      model: s.config.name,
      seed: s.seed,
      steps: s.steps,
      tokens,
      valLoss: 3 - 0.1 * Math.log2(s.steps) + 0.01 * s.seed + penalty + 1e-9 * (i % 3),
      fault: null,
    } as unknown as RunResult;
  });
  const sig = signatureTest(wide, results)!;
  assert.equal(sig.label, "E1M1-Bch", "the fewest bits at the largest block");
  assert.equal(sig.points.length, 2 * 4);
  assert.ok(Math.abs(sig.exponent! - 0.5) < 1e-4, String(sig.exponent));
  assert.ok(sig.ci![0] < 0.5 && sig.ci![1] > 0.5 && sig.ci![1] - sig.ci![0] < 1e-3);
  // no penalty at all: nothing positive to take the logarithm of, no exponent
  const flat = results.map((r) => ({ ...r, valLoss: 3 - 0.1 * Math.log2(r.steps) }));
  const none = signatureTest(wide, flat)!;
  assert.equal(none.exponent, null);
  assert.equal(none.dropped, 8);
});
