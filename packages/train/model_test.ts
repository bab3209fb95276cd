import assert from "node:assert/strict";
import { PRESETS } from "./config.ts";
import { backward, createModel, firstNonFinite, forward, initParams, type Model } from "./model.ts";
import { RECIPES } from "./recipe.ts";
import { createReferenceBackend } from "./backends/host.ts";

function batch(B: number, T: number): { tokens: Int32Array; targets: Int32Array } {
  const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    tokens[i] = (i * 37 + 11) % 256;
    targets[i] = (i * 53 + 5) % 256;
  }
  return { tokens, targets };
}

interface Setup {
  model: Model;
  tokens: Int32Array;
  targets: Int32Array;
  /** live host views of the parameters and gradients (the reference backend's memory) */
  params: Float32Array;
  grads: Float32Array;
}

function setup(): Setup {
  const model = createModel(PRESETS.smoke, RECIPES.fp32, 2, {
    T: 8,
    backend: createReferenceBackend(),
  });
  initParams(model, 3);
  const params = model.backend.view!(model.params) as Float32Array;
  const grads = model.backend.view!(model.grads) as Float32Array;
  // Scale weights up from init so the slopes stand well above f32 rounding of the loss.
  for (let i = 0; i < params.length; i++) params[i] *= 4;
  return { model, ...batch(2, 8), params, grads };
}

Deno.test("model: every tensor's gradient matches central finite differences along it", async () => {
  const { model, tokens, targets, params, grads: G } = setup();
  await forward(model, tokens, targets, { training: true });
  G.fill(0);
  backward(model);
  const grads = G.slice();
  const base = params.slice();
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
        params[i] = base[i] + t * grads[i] / norm;
      }
      return forward(model, tokens, targets);
    };
    const slope = (await lossAt(h) - await lossAt(-h)) / (2 * h);
    params.set(base);
    const rel = Math.abs(slope - norm) / norm;
    assert.ok(rel < 2e-2, `${p.name}: finite-difference slope ${slope} vs |g| ${norm}`);
  }
});

Deno.test("model: a random direction over all parameters agrees with g·v", async () => {
  const { model, tokens, targets, params, grads: G } = setup();
  await forward(model, tokens, targets, { training: true });
  G.fill(0);
  backward(model);
  const base = params.slice();
  const v = new Float32Array(base.length);
  let dot = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = Math.sin(i * 12.9898) > 0 ? 1e-2 : -1e-2;
    dot += v[i] * G[i];
  }
  const lossAt = (t: number) => {
    for (let i = 0; i < v.length; i++) params[i] = base[i] + t * v[i];
    return forward(model, tokens, targets);
  };
  const h = 0.01;
  const slope = (await lossAt(h) - await lossAt(-h)) / (2 * h);
  assert.ok(Math.abs(slope - dot) <= 2e-2 * Math.abs(dot), `slope ${slope} vs g·v ${dot}`);
});

Deno.test("model: backward accumulates (two passes give twice the gradient)", async () => {
  const { model, tokens, targets, grads: G } = setup();
  G.fill(0);
  await forward(model, tokens, targets, { training: true });
  backward(model);
  const once = G.slice();
  await forward(model, tokens, targets, { training: true });
  backward(model);
  // Sums restart from g instead of 0, so allow f32 rounding relative to the tensor's scale.
  let scale = 0;
  for (const g of once) scale = Math.max(scale, Math.abs(g));
  for (let i = 0; i < once.length; i++) {
    assert.ok(Math.abs(G[i] - 2 * once[i]) <= 1e-5 * scale, `gradient ${i}`);
  }
});

Deno.test("model: firstNonFinite names the first block that saw a NaN", async () => {
  const { model, tokens, targets, params } = setup();
  const o = model.layout.layers[1];
  params[o.gateUp + 5] = NaN;
  const loss = await forward(model, tokens, targets);
  assert.ok(Number.isNaN(loss));
  assert.equal(await firstNonFinite(model), "model.layers.1.mlp.gate_up_proj output");
});

Deno.test("model: bad batch shapes are refused", () => {
  assert.throws(() => createModel(PRESETS.smoke, RECIPES.fp32, 0), RangeError);
  assert.throws(() => createModel(PRESETS.smoke, RECIPES.fp32, 1, { T: 17 }), RangeError);
});
