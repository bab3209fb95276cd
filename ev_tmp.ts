import { createCpuBackend, createTrainer, PRESETS, RECIPES } from "@fp4lab/train";
import { createWasmBackend } from "./packages/train/backends/wasm.ts";
import { markovSource, sampleBatch } from "./apps/trainer/data.ts";
const data = markovSource(200_000, { seed: 1 });
const recipe = RECIPES[Deno.args[0] ?? "bf16"];
const N = Number(Deno.args[1] ?? 6);
const out: number[][] = [];
for (const mk of [createCpuBackend, () => createWasmBackend()]) {
  const be = mk();
  const B = 4, T = 128;
  const trainer = createTrainer({ config: PRESETS.tiny, recipe, batch: B, lr: 3e-3, steps: N, seed: 1, backend: be });
  const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
  const l: number[] = [];
  for (let s = 0; s < N; s++) {
    sampleBatch(data.train, B, T, 1, s, tokens, targets);
    l.push((await trainer.trainStep(tokens, targets)).loss);
  }
  out.push(l);
}
for (let s = 0; s < N; s++) console.log(s, out[0][s].toFixed(9), out[1][s].toFixed(9), ((out[1][s] - out[0][s]) / out[0][s]).toExponential(2));
