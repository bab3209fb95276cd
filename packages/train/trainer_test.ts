import assert from "node:assert/strict";
import { LLAMA_PRESETS } from "./config.ts";
import { RECIPES } from "./recipe.ts";
import { createTrainer, type TrainerOptions } from "./trainer.ts";
import { createReferenceBackend } from "./backends/host.ts";

const config = LLAMA_PRESETS.smoke, T = config.contextLength;
const batchAt = (s: number) => {
  const tokens = Int32Array.from({ length: 4 * T }, (_, i) => 97 + ((i * 7 + s * 3) % 11));
  const targets = tokens.map((_, i) => 97 + ((i * 7 + s * 3 + 7) % 11));
  return { tokens, targets };
};
const base: TrainerOptions = {
  config,
  recipe: RECIPES.nvfp4, // stochastic rounding and Hadamard seeds: resume must restore them
  batch: 4,
  ranks: 2,
  lr: 3e-3,
  steps: 6,
  seed: 3,
};

Deno.test("trainer: a snapshot resumes bit for bit (nvfp4, two ranks)", async () => {
  const straight = createTrainer(base);
  const losses: number[] = [];
  for (let s = 0; s < 6; s++) {
    const { tokens, targets } = batchAt(s);
    losses.push((await straight.trainStep(tokens, targets)).loss);
  }
  const first = createTrainer(base);
  for (let s = 0; s < 3; s++) {
    const { tokens, targets } = batchAt(s);
    await first.trainStep(tokens, targets);
  }
  const snap = structuredClone(await first.snapshot());
  first.dispose();
  const resumed = createTrainer({ ...base, resume: snap });
  assert.equal(resumed.step, 3);
  for (let s = 3; s < 6; s++) {
    const { tokens, targets } = batchAt(s);
    assert.equal((await resumed.trainStep(tokens, targets)).loss, losses[s], `step ${s + 1}`);
  }
  assert.deepEqual(await resumed.params(), await straight.params());
  assert.ok(resumed.allReduceBytesPerStep > 0);
});

Deno.test("trainer: the reference backend learns the same as cpu (fp32, within f32 sums)", async () => {
  const opts = { ...base, recipe: RECIPES.fp32, ranks: 1 };
  const cpu = createTrainer(opts),
    ref = createTrainer({ ...opts, backend: createReferenceBackend() });
  for (let s = 0; s < 4; s++) {
    const { tokens, targets } = batchAt(s);
    const a = await cpu.trainStep(tokens, targets), b = await ref.trainStep(tokens, targets);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * b.loss, `step ${s + 1}: ${a.loss} vs ${b.loss}`);
  }
});

Deno.test("trainer: bad settings and batches are refused by name", async () => {
  assert.throws(() => createTrainer({ ...base, batch: 3 }), /batch 3 is not divisible by ranks 2/);
  assert.throws(() => createTrainer({ ...base, lr: -1 }), /lr must be a positive number, got -1/);
  assert.throws(() => createTrainer({ ...base, steps: 0 }), /steps must be a positive integer/);
  const t = createTrainer(base);
  await assert.rejects(
    () => t.trainStep(new Int32Array(5), new Int32Array(5)),
    /a batch needs 64 tokens and targets, got 5 and 5/,
  );
});

Deno.test("trainer: a diverging run stops with a TrainingFault naming the layer", async () => {
  const t = createTrainer({ ...base, recipe: RECIPES.fp32, ranks: 1, lr: 1e30 });
  await assert.rejects(async () => {
    for (let s = 0; s < 10; s++) {
      const { tokens, targets } = batchAt(s);
      await t.trainStep(tokens, targets);
    }
  }, (e: Error) => e.name === "TrainingFault" && /at step \d+ .*(model\.|lm_head)/.test(e.message));
});

Deno.test("trainer: statistics are collected on asked steps only, and hold only numbers", async () => {
  const t = createTrainer({ ...base, recipe: RECIPES.fp4, ranks: 1 });
  const { tokens, targets } = batchAt(0);
  await t.trainStep(tokens, targets);
  assert.deepEqual(t.stats, {});
  await t.trainStep(tokens, targets, { collectStats: true });
  const down = t.stats["model.layers.1.mlp.down_proj"];
  assert.deepEqual(Object.keys(down).sort(), ["a", "dge", "occSparsity", "w"]);
  const numbers = (o: object): boolean =>
    Object.values(o).every((v) => typeof v === "number" || (typeof v === "object" && numbers(v)));
  assert.ok(numbers(t.stats), JSON.stringify(down).slice(0, 200));
  assert.deepEqual(Object.keys(down.dge!).sort(), ["cappedFraction", "meanFactor"]);
});
