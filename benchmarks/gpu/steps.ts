/**
 * Timed training steps on the webgpu backend, and the GEMM rates the targets name: for
 * each preset and recipe, warm-up steps (pipelines compile) then timed optimizer steps of the
 * engine's trainer (forward, backward, clipping, AdamW; the loss read back each step); then the
 * f32 and FP4 GEMMs at n³. Prints one JSON line.
 *
 * usage: deno run -A benchmarks/gpu/steps.ts [--presets tiny,small,gpt2s] [--recipes
 *   fp32,bf16,fp4] [--steps N] [--gemm 4096]
 */
import { parseArgs } from "node:util";
import {
  createTrainer,
  createWebGpuBackend,
  presetByName,
  RECIPES,
  type Tensor,
} from "@fp4lab/train";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: "tiny,small,gpt2s" },
    recipes: { type: "string", default: "fp32,bf16,fp4" },
    steps: { type: "string", default: "5" },
    gemm: { type: "string", default: "4096" },
  },
});
const BATCH: Record<string, number> = { tiny: 16, small: 8, gpt2s: 8, m350: 4 };
const be = await createWebGpuBackend();
const results: Record<string, unknown>[] = [];
const steps = Number(values.steps);

for (const preset of values.presets.split(",")) {
  const config = presetByName(preset);
  const batch = BATCH[preset] ?? 8;
  const T = config.contextLength;
  const tokens = Int32Array.from({ length: batch * T }, (_, i) => (i * 2654435761) % 256);
  const targets = Int32Array.from({ length: batch * T }, (_, i) => (i * 40503 + 7) % 256);
  for (const recipe of values.recipes.split(",")) {
    const trainer = createTrainer({
      config,
      recipe: RECIPES[recipe],
      batch,
      lr: 1e-4,
      steps: steps + 2,
      seed: 1,
      backend: be,
    });
    try {
      for (let s = 0; s < 2; s++) await trainer.trainStep(tokens, targets);
      await be.sync();
      const t0 = performance.now();
      let loss = 0;
      for (let s = 0; s < steps; s++) loss = (await trainer.trainStep(tokens, targets)).loss;
      await be.sync();
      const stepS = (performance.now() - t0) / 1000 / steps;
      results.push({
        kind: "step",
        preset,
        recipe,
        batch,
        tokens: batch * T,
        parameters: trainer.model.layout.total,
        stepSeconds: stepS,
        tokensPerSec: (batch * T) / stepS,
        loss,
      });
      console.error(`${preset} ${recipe}: ${stepS.toFixed(4)} s/step`);
    } catch (e) {
      results.push({ kind: "step", preset, recipe, error: String(e) });
      console.error(`${preset} ${recipe}: ${e}`);
    } finally {
      trainer.dispose();
    }
  }
}

// GEMMs at n³: the f32 GEMM ("nt", the forward's layout) and the exact FP4 GEMM.
const n = Number(values.gemm);
if (n > 0) {
  const a = be.alloc(n * n), b = be.alloc(n * n), c = be.alloc(n * n);
  const fillRandom = (t: Tensor) => {
    const x = new Float32Array(n * n);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5;
    be.write(t, x);
  };
  fillRandom(a);
  fillRandom(b);
  const time = async (run: () => void, reps: number) => {
    run();
    await be.sync();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    await be.sync();
    return (performance.now() - t0) / 1000 / reps;
  };
  const f32s = await time(() => be.matmul(c, a, b, n, n, n, "nt", false), 10);
  const spec = { format: "E2M1", granularity: "row" } as const;
  const qa = be.quantizeCodes(a, n, n, spec, 1, c);
  const qb = be.quantizeCodes(b, n, n, spec, 2, c);
  const fp4s = await time(() => be.fp4Matmul(c, qa, qb), 10);
  results.push({
    kind: "gemm",
    n,
    format: "f32",
    seconds: f32s,
    tflops: (2 * n ** 3) / f32s / 1e12,
  });
  results.push({
    kind: "gemm",
    n,
    format: "fp4",
    seconds: fp4s,
    tflops: (2 * n ** 3) / fp4s / 1e12,
  });
}

console.log(JSON.stringify({ device: be.device, numerics: be.numerics, results }));
be.dispose();
