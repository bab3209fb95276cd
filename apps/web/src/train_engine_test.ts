import assert from "node:assert/strict";
import { unzipSync, zipSync } from "fflate";
import { readSafetensors } from "@fp4lab/quant-granularity";
import {
  checkpointFiles,
  createRun,
  sampleWindows,
  setEngineThreads,
  trainStep,
  validate,
} from "./train_engine.ts";

const text = new TextEncoder().encode(
  "It was the best of times, it was the worst of times, it was the age of wisdom. ".repeat(200),
);
const smoke = { preset: "smoke", steps: 4, batch: 2, lr: 3e-3, seed: 1 };

Deno.test("train engine: a few steps lower the loss, the same with 1 or 2 threads", async () => {
  const losses = async (threads: number) => {
    setEngineThreads(threads);
    const run = createRun({ ...smoke, recipe: "fp4" });
    const out: number[] = [];
    for (let s = 0; s < 4; s++) out.push((await trainStep(run, text)).loss);
    return out;
  };
  const one = await losses(1), two = await losses(2);
  setEngineThreads(navigator.hardwareConcurrency);
  assert.deepEqual(one, two, "thread count must not change the numbers");
  assert.ok(one[3] < one[0], `loss ${one[0]} -> ${one[3]}`);
  assert.throws(() => createRun({ ...smoke, recipe: "nope" }), /unknown recipe "nope"/);
  assert.throws(() => createRun({ ...smoke, recipe: "fp4", batch: 0 }), /batch must be/);
});

Deno.test("train engine: windows are the CLI's sampleBatch positions", () => {
  const tokens = new Int32Array(2 * 8), targets = new Int32Array(2 * 8);
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
  sampleWindows(bytes, 2, 8, 1, 0, tokens, targets);
  for (let i = 0; i < tokens.length; i++) {
    if (i % 8 !== 7) assert.equal(tokens[i + 1], targets[i]);
    assert.equal(targets[i], tokens[i] + 1);
  }
});

Deno.test("train engine: the checkpoint is a Hugging Face LLaMA folder", async () => {
  const run = createRun({ ...smoke, recipe: "bf16", steps: 2 });
  await trainStep(run, text);
  await trainStep(run, text);
  const val = await validate(run, text, 4);
  assert.ok(Number.isFinite(val) && run.records[1].valLoss === val);
  await assert.rejects(() => trainStep(run, text), /done its 2 steps/);
  const files = await checkpointFiles(run);
  const zip = unzipSync(zipSync(Object.fromEntries(
    Object.entries(files).map(([k, v]) => [`ckpt/${k}`, v]),
  )));
  const st = readSafetensors(zip["ckpt/model.safetensors"]);
  const names = Object.keys(st.tensors);
  assert.ok(names.includes("model.embed_tokens.weight"));
  assert.ok(names.includes("model.layers.1.self_attn.q_proj.weight"));
  assert.ok(names.includes("lm_head.weight"));
  const config = JSON.parse(new TextDecoder().decode(zip["ckpt/config.json"]));
  assert.deepEqual(config.architectures, ["LlamaForCausalLM"]);
  const state = JSON.parse(new TextDecoder().decode(zip["ckpt/trainer_state.json"]));
  assert.equal(state.step, 2);
  assert.equal(state.records.length, 2);
});
