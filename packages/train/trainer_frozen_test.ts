import assert from "node:assert/strict";
import { paramLayout, PRESETS } from "./config.ts";
import { RECIPES } from "./recipe.ts";
import { createTrainer } from "./trainer.ts";

const config = PRESETS.smoke;
const T = config.contextLength;

function batch(n: number, shift: number): { tokens: Int32Array; targets: Int32Array } {
  const tokens = new Int32Array(n * T).map((_, i) => 97 + ((i * 7 + shift) % 23));
  return { tokens, targets: tokens.map((_, i) => 97 + ((i * 7 + shift + 1) % 23)) };
}

for (const ranks of [1, 2]) {
  Deno.test(`trainer: frozen parameters keep their value through training (${ranks} rank)`, async () => {
    const layout = paramLayout(config);
    const ln2 = layout.layers[0].ln2; // post_attention_layernorm gain of block 0
    const frozen = [{ index: ln2 + 3, value: 16 }, { index: ln2 + 9, value: -4 }];
    const trainer = createTrainer({
      config,
      recipe: RECIPES.fp4,
      batch: 2,
      ranks,
      lr: 1e-2,
      steps: 4,
      seed: 1,
      frozen,
    });
    for (let s = 0; s < 4; s++) {
      const b = batch(2, s);
      await trainer.trainStep(b.tokens, b.targets);
    }
    const p = await trainer.params();
    trainer.dispose();
    assert.equal(p[ln2 + 3], 16);
    assert.equal(p[ln2 + 9], -4);
    // the rest of the same gain vector did train (initialised at 1)
    assert.ok(p[ln2 + 4] !== 1 && p[ln2] !== 1, `${p[ln2]} ${p[ln2 + 4]}`);
  });
}

Deno.test("trainer: a frozen gain channel changes the next GEMM's input crest; bad indices refused", async () => {
  const layout = paramLayout(config);
  const crest = async (frozen?: { index: number; value: number }[]) => {
    const trainer = createTrainer({
      config,
      recipe: RECIPES["fp4-direct"],
      batch: 2,
      lr: 1e-3,
      steps: 1,
      seed: 1,
      frozen,
    });
    const b = batch(2, 0);
    await trainer.trainStep(b.tokens, b.targets, { collectStats: true });
    const c = trainer.stats["model.layers.0.mlp.gate_up_proj"].a!.crestMean;
    trainer.dispose();
    return c;
  };
  const plain = await crest();
  const injected = await crest([{ index: layout.layers[0].ln2 + 5, value: 50 }]);
  assert.ok(
    injected > 1.5 * plain && injected <= Math.sqrt(config.hiddenSize),
    `${plain} -> ${injected}`,
  );
  assert.throws(
    () =>
      createTrainer({
        config,
        recipe: RECIPES.bf16,
        batch: 2,
        lr: 1e-3,
        steps: 1,
        seed: 1,
        frozen: [{ index: layout.total, value: 1 }],
      }),
    /frozen index/,
  );
});
