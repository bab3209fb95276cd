import assert from "node:assert/strict";
import { PRESETS } from "./config.ts";
import { backward, createModel, firstNonFinite, forward, initParams, type Model } from "./model.ts";
import { RECIPES } from "./recipe.ts";

function batch(B: number, T: number): { tokens: Int32Array; targets: Int32Array } {
  const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    tokens[i] = (i * 37 + 11) % 256;
    targets[i] = (i * 53 + 5) % 256;
  }
  return { tokens, targets };
}

function setup(): { model: Model; tokens: Int32Array; targets: Int32Array } {
  const model = createModel(PRESETS.smoke, RECIPES.fp32, 2, 8);
  initParams(model, 3);
  // Scale weights up from init so the slopes stand well above f32 rounding of the loss.
  for (let i = 0; i < model.params.length; i++) model.params[i] *= 4;
  return { model, ...batch(2, 8) };
}

Deno.test("model: every tensor's gradient matches central finite differences along it", () => {
  const { model, tokens, targets } = setup();
  forward(model, tokens, targets, { training: true });
  model.grads.fill(0);
  backward(model);
  const grads = model.grads.slice();
  const base = model.params.slice();
  for (const p of model.layout.params) {
    // Direction: the tensor's own gradient, normalised. The slope along it must be |g|; a
    // wrong gradient (direction or size) gives a different slope.
    let norm = 0;
    for (let i = p.offset; i < p.offset + p.size; i++) norm += grads[i] * grads[i];
    norm = Math.sqrt(norm);
    assert.ok(norm > 0, `${p.name}: zero gradient`);
    const h = 2e-3;
    const lossAt = (t: number) => {
      for (let i = p.offset; i < p.offset + p.size; i++) {
        model.params[i] = base[i] + t * grads[i] / norm;
      }
      return forward(model, tokens, targets);
    };
    const slope = (lossAt(h) - lossAt(-h)) / (2 * h);
    model.params.set(base);
    const rel = Math.abs(slope - norm) / norm;
    assert.ok(rel < 2e-2, `${p.name}: finite-difference slope ${slope} vs |g| ${norm}`);
  }
});

Deno.test("model: a random direction over all parameters agrees with g·v", () => {
  const { model, tokens, targets } = setup();
  forward(model, tokens, targets, { training: true });
  model.grads.fill(0);
  backward(model);
  const base = model.params.slice();
  const v = new Float32Array(base.length);
  let dot = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = Math.sin(i * 12.9898) > 0 ? 1e-2 : -1e-2;
    dot += v[i] * model.grads[i];
  }
  const lossAt = (t: number) => {
    for (let i = 0; i < v.length; i++) model.params[i] = base[i] + t * v[i];
    return forward(model, tokens, targets);
  };
  const h = 0.01;
  const slope = (lossAt(h) - lossAt(-h)) / (2 * h);
  assert.ok(Math.abs(slope - dot) <= 2e-2 * Math.abs(dot), `slope ${slope} vs g·v ${dot}`);
});

Deno.test("model: backward accumulates (two passes give twice the gradient)", () => {
  const { model, tokens, targets } = setup();
  model.grads.fill(0);
  forward(model, tokens, targets, { training: true });
  backward(model);
  const once = model.grads.slice();
  forward(model, tokens, targets, { training: true });
  backward(model);
  // Sums restart from g instead of 0, so allow f32 rounding relative to the tensor's scale.
  let scale = 0;
  for (const g of once) scale = Math.max(scale, Math.abs(g));
  for (let i = 0; i < once.length; i++) {
    assert.ok(Math.abs(model.grads[i] - 2 * once[i]) <= 1e-5 * scale, `gradient ${i}`);
  }
});

Deno.test("model: firstNonFinite names the first block that saw a NaN", () => {
  const { model, tokens, targets } = setup();
  const o = model.layout.layers[1];
  model.params[o.gateUp + 5] = NaN;
  const loss = forward(model, tokens, targets);
  assert.ok(Number.isNaN(loss));
  assert.equal(firstNonFinite(model), "model.layers.1.mlp.gate_up_proj output");
});

Deno.test("model: bad batch shapes are refused", () => {
  assert.throws(() => createModel(PRESETS.smoke, RECIPES.fp32, 0), RangeError);
  assert.throws(() => createModel(PRESETS.smoke, RECIPES.fp32, 1, 17), RangeError);
});
