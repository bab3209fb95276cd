import assert from "node:assert/strict";
import { paramLayout, PRESETS } from "@fp4lab/train";
import { injectedGains, type OutliersPlan, summarizeOutliers } from "./outliers.ts";
import type { RunResult } from "./sweep.ts";

Deno.test("outliers: the injected channels are the two RMSNorm gains of every block", () => {
  const config = PRESETS.tiny;
  const layout = paramLayout(config);
  const f = injectedGains(config, 24, 2);
  assert.equal(f.length, config.numLayers * 2 * 2);
  const names = new Set(
    f.map((x) =>
      layout.params.find((p) => x.index >= p.offset && x.index < p.offset + p.size)!.name
    ),
  );
  for (let l = 0; l < config.numLayers; l++) {
    assert.ok(names.has(`model.layers.${l}.input_layernorm.weight`));
    assert.ok(names.has(`model.layers.${l}.post_attention_layernorm.weight`));
  }
  assert.equal(names.size, 2 * config.numLayers, "nothing else is frozen");
  // the same channels (32 and 96 of 128) in every block
  assert.deepEqual([...new Set(f.map((x) => (x.index - layout.layers[0].ln1) % 128))], [32, 96]);
  assert.throws(() => injectedGains(config, 8, 0), /channels/);
});

// A synthetic run: loss per seed, crest of the injected inputs.
function run(recipe: string, gain: number, seed: number, loss: number, crest: number): RunResult {
  const layer = { crestMean: crest, crestMax: crest * 1.5, occSparsity: null };
  return {
    id: `${recipe}-g${gain}-s${seed}`,
    recipe,
    meta: { part: "injected", gain },
    model: "tiny",
    seed,
    steps: 10,
    tokens: 0,
    parameters: 1,
    valLoss: loss,
    finalTrainLoss: loss,
    tokensPerSec: 1,
    seconds: 1,
    occSparsity: recipe === "fp4" ? 0.016 : null,
    dgeMeanFactor: null,
    skippedSteps: 0,
    fault: Number.isFinite(loss) ? null : "diverged",
    curve: [],
    statsHistory: [{
      step: 10,
      layers: {
        "model.layers.0.self_attn.qkv_proj": layer,
        "model.layers.0.mlp.gate_up_proj": layer,
      },
    }],
  };
}

Deno.test("outliers: direct W4A4 fails where it is clearly worse than OCC and bf16, or diverges", () => {
  const plan: OutliersPlan = {
    kind: "outliers",
    quick: true,
    preset: "tiny",
    naturalPreset: null,
    steps: 10,
    naturalSteps: 0,
    batch: 4,
    lr: 2e-3,
    naturalLr: 1e-3,
    seeds: [1, 2, 3, 4],
    gains: [1, 12, 48],
    channels: 1,
    recipes: ["bf16", "fp4-direct", "fp4"],
    evalPoints: 1,
    valWindows: 4,
    budgetMinutes: null,
    calibration: null,
  };
  const base = [2.30, 2.35, 2.28, 2.32];
  const results: RunResult[] = [];
  plan.seeds.forEach((s, i) => {
    // gain 1: all alike; gain 12: direct 0.2 worse, OCC holds; gain 48: direct diverges
    results.push(run("bf16", 1, s, base[i], 2.8), run("bf16", 12, s, base[i], 8));
    results.push(run("bf16", 48, s, base[i], 10));
    results.push(run("fp4-direct", 1, s, base[i] + 0.003 * (i - 1.5), 2.8));
    results.push(run("fp4", 1, s, base[i] + 0.002 * (1.5 - i), 2.8));
    results.push(run("fp4-direct", 12, s, base[i] + 0.2 + 0.01 * i, 8.4));
    results.push(run("fp4", 12, s, base[i] + 0.01 - 0.002 * i, 8.4));
    results.push(run("fp4-direct", 48, s, NaN, 11));
    results.push(run("fp4", 48, s, base[i] + 0.02 + 0.001 * i, 11));
  });
  const s = summarizeOutliers(plan, results);
  assert.deepEqual(s.failure.map((f) => f.failed), [false, true, true]);
  assert.equal(s.failure[2].why, "diverged in every seed");
  assert.equal(s.smallestFailingCrest, 8.4);
  assert.equal(s.checks.length, 3, "one OCC-vs-direct line per gain");
  assert.deepEqual(s.checks.map((c) => c.verdict), ["within noise", "agrees", "agrees"]);
  const occ = s.cells.find((c) => c.recipe === "fp4" && c.gain === 12)!;
  assert.ok(Math.abs(occ.crest - 8.4) < 1e-12);
  assert.equal(occ.occSparsity, 0.016);
  // Without the OCC rows nothing can be called a failure (the rule needs the comparison).
  const noOcc = summarizeOutliers(
    { ...plan, recipes: ["bf16", "fp4-direct"] },
    results.filter((r) => r.recipe !== "fp4"),
  );
  assert.deepEqual(noOcc.failure.map((f) => f.failed), [false, false, true]);
});
