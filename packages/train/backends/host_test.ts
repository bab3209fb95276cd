import assert from "node:assert/strict";
import { checkConformance } from "./_conformance.ts";
import { createHostCpuBackend, createReferenceBackend } from "./host.ts";
import type { Backend } from "../backend.ts";
import { LLAMA_PRESETS } from "../config.ts";
import { backward, createModel, forward, initialParams, readGrads, writeParams } from "../model.ts";
import { RECIPES } from "../recipe.ts";

Deno.test("cpu backend: every op against the reference backend", async (t) => {
  await checkConformance(t, createHostCpuBackend);
});

// One training forward + backward of the smoke model on a backend.
async function step(be: Backend, recipe: keyof typeof RECIPES) {
  const config = LLAMA_PRESETS.smoke, B = 2, T = config.contextLength;
  const model = createModel(config, RECIPES[recipe], B, { backend: be });
  writeParams(model, initialParams(model.layout, 5).map((x) => x * 3));
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 11) % 256);
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 53 + 5) % 256);
  const loss = await forward(model, tokens, targets, { training: true, step: 3 });
  backward(model, { step: 3, lossScale: 1024 });
  return { loss, grads: await readGrads(model), layout: model.layout };
}

Deno.test("cpu backend: a whole fp32 step equals the reference backend's within 1e-5", async () => {
  const ref = await step(createReferenceBackend(), "fp32");
  const cpu = await step(createHostCpuBackend(), "fp32");
  assert.ok(Math.abs(cpu.loss - ref.loss) <= 1e-5 * ref.loss, `loss ${cpu.loss} vs ${ref.loss}`);
  for (const p of ref.layout.params) {
    let scale = 0;
    for (let i = p.offset; i < p.offset + p.size; i++) {
      scale = Math.max(scale, Math.abs(ref.grads[i]));
    }
    for (let i = p.offset; i < p.offset + p.size; i++) {
      assert.ok(
        Math.abs(cpu.grads[i] - ref.grads[i]) <= 1e-5 * scale,
        `${p.name}[${i - p.offset}]: ${cpu.grads[i]} vs ${ref.grads[i]}`,
      );
    }
  }
});

Deno.test("cpu backend: fp4 and nvfp4 steps track the reference backend", async () => {
  // The FP4 GEMM and every rounding are exact on both; only f32 GEMM summation order differs,
  // and a value that lands next to a rounding boundary may round the other way. The loss must
  // agree closely and the gradients overall.
  for (const recipe of ["fp4", "nvfp4"] as const) {
    const ref = await step(createReferenceBackend(), recipe);
    const cpu = await step(createHostCpuBackend(), recipe);
    assert.ok(
      Math.abs(cpu.loss - ref.loss) <= 1e-4 * ref.loss,
      `${recipe} loss ${cpu.loss} vs ${ref.loss}`,
    );
    let diff = 0, norm = 0;
    for (let i = 0; i < ref.grads.length; i++) {
      diff += (cpu.grads[i] - ref.grads[i]) ** 2;
      norm += ref.grads[i] ** 2;
    }
    assert.ok(
      Math.sqrt(diff / norm) < 1e-2,
      `${recipe} gradient relative error ${Math.sqrt(diff / norm)}`,
    );
  }
});
