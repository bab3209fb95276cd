import { createRun, openDevice, trainStep } from "/work/wt-web21/apps/web/src/train_engine.ts";
const train = await Deno.readFile("/work/wt-web21/apps/web/dist/data/brown-train.txt");
for (const choice of Deno.args) {
  const d = await openDevice(choice as "cpu", { threads: 2, isolated: true });
  console.log(d.description, d.notice);
  const runs = ["fp4", "bf16"].map((recipe) => createRun({ preset: "tiny", recipe, steps: 20, batch: 4, lr: 3e-3, seed: 1 }, d.backend));
  const t0 = performance.now();
  for (let s = 0; s < 20; s++) for (const r of runs) await trainStep(r, train);
  console.log(choice, ((performance.now() - t0) / 1000).toFixed(1), "s");
  for (const r of runs) console.log(r.settings.recipe, r.records.map((x) => x.loss.toFixed(6)).join(" "), (20 * r.tokensPerStep / r.trainSeconds).toFixed(0), "tok/s");
}
