import assert from "node:assert/strict";
import { unzipSync, zipSync } from "fflate";
import { readSafetensors } from "@fp4lab/quant-granularity";
import {
  checkpointFiles,
  createRun,
  openDevice,
  openWebGpu,
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

// A navigator.gpu whose requestAdapter never answers (what a wrong browser flag does).
async function withHangingGpu<T>(fn: () => Promise<T>): Promise<T> {
  const hang = { requestAdapter: () => new Promise(() => {}) };
  Object.defineProperty(navigator, "gpu", { value: hang, configurable: true });
  try {
    return await fn();
  } finally {
    delete (navigator as unknown as { gpu?: unknown }).gpu;
  }
}

Deno.test("train engine: a hanging requestAdapter times out and auto falls back to the CPU", async () => {
  await withHangingGpu(async () => {
    await assert.rejects(
      () => openWebGpu(50),
      /navigator\.gpu\.requestAdapter\(\) gave no answer within 0\.05 s/,
    );
    const d = await openDevice("auto", { threads: 1, isolated: true, timeoutMs: 50 });
    assert.equal(d.kind, "cpu");
    assert.equal(d.backend, undefined);
    assert.match(d.description, /^CPU: WebAssembly SIMD.*, 1 thread$/);
    assert.match(
      d.notice,
      /^WebGPU is not available here \(.*gave no answer.*\): training on the CPU/,
    );
    const w = await openDevice("webgpu", { threads: 1, isolated: true, timeoutMs: 50 });
    assert.match(w.notice, /^WebGPU was chosen but is not available here/);
    // Without SharedArrayBuffer the CPU backend is no way out: one error naming both problems.
    await assert.rejects(
      () => openDevice("auto", { threads: 1, isolated: false, timeoutMs: 50 }),
      /WebGPU: .*gave no answer.*The CPU backend needs SharedArrayBuffer/,
    );
  });
  setEngineThreads(navigator.hardwareConcurrency);
  const cpu = await openDevice("cpu", { threads: 2, isolated: true });
  assert.deepEqual([cpu.kind, cpu.notice], ["cpu", ""]);
  assert.match(cpu.description, /2 threads$/);
  setEngineThreads(navigator.hardwareConcurrency);
});

const hasAdapter = await navigator.gpu?.requestAdapter().then((a) => a !== null, () => false);
Deno.test({
  name: "train engine: on WebGPU (Deno's adapter) a run trains and says which adapter",
  ignore: !hasAdapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const d = await openDevice("auto", { threads: 1, isolated: true });
    assert.equal(d.kind, "webgpu");
    assert.match(d.description, /^WebGPU: .+; subnormal results (kept|flushed)/);
    try {
      const runs = ["fp4", "bf16"].map((recipe) => createRun({ ...smoke, recipe }, d.backend));
      const cpu = createRun({ ...smoke, recipe: "fp4" });
      for (let s = 0; s < 2; s++) for (const r of [...runs, cpu]) await trainStep(r, text);
      // One backend for both recipes; the GPU run tracks the CPU run (the CLI's e2e rule, 5e-3).
      for (let s = 0; s < 2; s++) {
        const g = runs[0].records[s].loss, c = cpu.records[s].loss;
        assert.ok(Math.abs(g - c) <= 5e-3 * c, `step ${s + 1}: webgpu ${g}, cpu ${c}`);
      }
      const files = await checkpointFiles(runs[0]);
      assert.ok(readSafetensors(files["model.safetensors"]).tensors["lm_head.weight"]);
      for (const r of runs) r.trainer.dispose();
    } finally {
      d.backend!.dispose();
    }
  },
});
