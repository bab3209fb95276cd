import assert from "node:assert/strict";
import {
  createModel,
  forward,
  initialParams,
  nextTokenProbabilities,
  paramLayout,
  PRESETS,
  RECIPES,
  writeParams,
} from "@fp4lab/train";
import { evaluateText } from "./eval.ts";
import { generate } from "./sample.ts";

const config = PRESETS.smoke;
const T = config.contextLength;
// Scaled weights so the model has opinions (at init every byte is about equally likely).
const params = initialParams(paramLayout(config), 4).map((x) => x * 4);
const bytes = new TextEncoder().encode("The jury said the case was closed. ".repeat(12));

Deno.test("eval: mean over non-overlapping windows, each predicting its own next bytes", async () => {
  const r = await evaluateText(config, params, bytes, RECIPES.fp32, 8);
  const windows = Math.floor(bytes.length / T);
  assert.equal(r.tokens, windows * (T - 1));
  // One window at a time through a plain forward pass, summed in f64.
  const one = createModel(config, RECIPES.fp32, 1, { T: T - 1 });
  writeParams(one, params);
  let sum = 0;
  for (let w = 0; w < windows; w++) {
    const win = Int32Array.from(bytes.subarray(w * T, (w + 1) * T));
    sum += await forward(one, win.subarray(0, T - 1), win.subarray(1)) * (T - 1);
  }
  const want = sum / r.tokens;
  assert.ok(Math.abs(r.loss - want) <= 1e-6 * want, `${r.loss} vs ${want}`);
  // Batching (with a short last batch) does not change it.
  const r3 = await evaluateText(config, params, bytes, RECIPES.fp32, 3);
  assert.ok(Math.abs(r3.loss - want) <= 1e-6 * want);
  // The remainder is dropped: bytes after the last whole window change nothing.
  const cut = bytes.subarray(0, windows * T);
  const padded = new Uint8Array(windows * T + T - 1).fill(7);
  padded.set(cut);
  assert.equal(
    (await evaluateText(config, params, padded)).loss,
    (await evaluateText(config, params, cut)).loss,
  );
  // --recipe applies that recipe's rounding: a different (but close) number.
  const q = await evaluateText(config, params, bytes, RECIPES.fp4);
  assert.notEqual(q.loss, r.loss);
  assert.ok(Math.abs(q.loss - r.loss) < 0.5 * r.loss);
  await assert.rejects(() => evaluateText(config, params, bytes.subarray(0, T - 1)), RangeError);
});

Deno.test("sample: greedy is the argmax, sampling is seeded, top-k 1 is greedy", async () => {
  const prompt = new TextEncoder().encode("The jury");
  const g = await generate(config, params, prompt, {
    tokens: 30,
    temperature: 0,
    topK: 0,
    seed: 1,
  });
  // The first greedy byte is the argmax of a plain forward pass on the prompt.
  const m = createModel(config, RECIPES.fp32, 1, { T: prompt.length });
  writeParams(m, params);
  const last = await nextTokenProbabilities(m, Int32Array.from(prompt));
  assert.equal(g[0], last.indexOf(Math.max(...last)));
  // Past the context length the window slides (30 + 8 > 16).
  assert.equal(g.length, 30);
  const k1 = await generate(config, params, prompt, {
    tokens: 30,
    temperature: 1,
    topK: 1,
    seed: 9,
  });
  assert.deepEqual(k1, g);
  const a = await generate(config, params, prompt, {
    tokens: 30,
    temperature: 1,
    topK: 0,
    seed: 2,
  });
  const b = await generate(config, params, prompt, {
    tokens: 30,
    temperature: 1,
    topK: 0,
    seed: 2,
  });
  const c = await generate(config, params, prompt, {
    tokens: 30,
    temperature: 1,
    topK: 0,
    seed: 3,
  });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  await assert.rejects(() =>
    generate(config, params, new Uint8Array(0), {
      tokens: 1,
      temperature: 0,
      topK: 0,
      seed: 1,
    })
  );
});
