import { createRun, openDevice, trainStep } from "../src/train_engine.ts";
const train = await Deno.readFile("apps/web/dist/data/brown-train.txt");
const d = await openDevice("webgpu", { threads: 2, isolated: true });
for (const batch of [1, 4]) {
  const r = createRun({ preset: "tiny", recipe: "fp4", steps: 20, batch, lr: 3e-3, seed: 1 }, d.backend);
  for (let s = 0; s < 3; s++) { const t0 = performance.now(); await trainStep(r, train); console.log(batch, s, ((performance.now() - t0) / 1000).toFixed(2)); }
  const c = (d.backend as any).counters(); console.log(c);
}
