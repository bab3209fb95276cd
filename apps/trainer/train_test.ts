import assert from "node:assert/strict";
import { PRESETS, RECIPES } from "@fp4lab/train";
import { markovSource } from "./data.ts";
import { TrainingFault, trainRecipe } from "./train.ts";

const data = markovSource(50_000, { alphabet: 8, fanout: 2, seed: 2 });
const opts = {
  config: PRESETS.smoke,
  steps: 40,
  batch: 4,
  ranks: 1,
  lr: 1e-2,
  seed: 1,
  evalPoints: 2,
  valWindows: 16,
};

Deno.test("train: the smoke model learns a Markov source towards its entropy rate", async () => {
  const r = await trainRecipe(RECIPES.fp4, data, opts);
  assert.ok(r.records[0].loss > 5, "starts near ln 256");
  assert.ok(r.valLoss < 2.5, `val loss ${r.valLoss}`);
  assert.ok(r.valLoss > data.entropyRate! - 0.05, "no model beats the entropy rate");
  assert.equal(r.records.filter((s) => s.valLoss !== null).length, 2);
});

Deno.test("train: two ranks with the FP8 all-reduce track one rank", async () => {
  const one = await trainRecipe(RECIPES.fp32, data, { ...opts, steps: 5 });
  const two = await trainRecipe(RECIPES.fp32, data, { ...opts, steps: 5, ranks: 2 });
  // Step 1 sees the same weights and batch: the mean of the two halves' losses is the loss.
  assert.ok(Math.abs(one.records[0].loss - two.records[0].loss) < 1e-6);
  for (let s = 1; s < 5; s++) {
    assert.ok(Math.abs(one.records[s].loss - two.records[s].loss) < 0.05);
  }
  assert.equal(one.allReduceBytesPerStep, 0);
  // Ring all-reduce over R = 2 ranks: 2(R−1)·n FP8 bytes plus a 4-byte amax per rank pair and
  // tensor (mixed-optim's accounting).
  const tensors = 3 + 9 * PRESETS.smoke.numLayers;
  assert.equal(two.allReduceBytesPerStep, 2 * one.parameters + 8 * tensors);
});

Deno.test("train: a diverging run is a TrainingFault naming step and layer", async () => {
  await assert.rejects(
    () => trainRecipe(RECIPES.fp32, data, { ...opts, steps: 10, lr: 1e30 }),
    (e) => e instanceof TrainingFault && /at step \d+ .*model\./.test(e.message),
  );
});
