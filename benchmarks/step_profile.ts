/**
 * Where one training step's time goes, per Backend operation: the trainer's step (forward,
 * backward, clipping, AdamW) on a backend wrapped so that every call is timed (synchronous
 * backends: the call's wall time is its work). Prints milliseconds per step for each operation,
 * largest first, and the share of the step they cover, beside the step's wall and process CPU
 * time.
 *
 * usage: deno run -A benchmarks/step_profile.ts [--preset tiny] [--recipe fp4] [--steps 4]
 *   [--batch 16] [--threads N] [--backend resident|host]
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import process from "node:process";
import {
  type Backend,
  createHostCpuBackend,
  createTrainer,
  createWasmBackend,
  presetByName,
  RECIPES,
  setThreads,
} from "@fp4lab/train";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    preset: { type: "string", default: "tiny" },
    recipe: { type: "string", default: "fp4" },
    steps: { type: "string", default: "4" },
    batch: { type: "string", default: "16" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    backend: { type: "string", default: "resident" },
  },
});
const steps = Number(values.steps), batch = Number(values.batch);
setThreads(Number(values.threads));
const config = presetByName(values.preset!);
const recipe = RECIPES[values.recipe!];
if (!recipe) {
  console.error(`step_profile: unknown recipe ${values.recipe}`);
  Deno.exit(2);
}
const inner = values.backend === "host" ? createHostCpuBackend() : createWasmBackend();
const totals = new Map<string, { ms: number; calls: number }>();
let timing = false;
const timed: Backend = Object.create(inner);
for (const key of Object.keys(inner) as (keyof Backend)[]) {
  const f = inner[key];
  if (typeof f !== "function") continue;
  // deno-lint-ignore no-explicit-any
  (timed as any)[key] = (...args: unknown[]) => {
    const t0 = performance.now();
    // deno-lint-ignore no-explicit-any
    const r = (f as any).apply(inner, args);
    if (timing) {
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      totals.set(key, e);
    }
    return r;
  };
}
const trainer = createTrainer({
  config,
  recipe,
  batch,
  lr: 1e-3,
  steps: steps + 1,
  seed: 1,
  backend: timed,
});
const T = config.contextLength;
const tokens = new Int32Array(batch * T), targets = new Int32Array(batch * T);
// Byte batches from a fixed pseudo-random stream: what a step costs does not depend on them.
let x = 12345;
const fillBatch = () => {
  for (let i = 0; i < tokens.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    tokens[i] = x >>> 24;
    targets[i] = (x >>> 16) & 255;
  }
};
fillBatch();
await trainer.trainStep(tokens, targets);
timing = true;
const c0 = process.cpuUsage(), t0 = performance.now();
for (let s = 1; s <= steps; s++) {
  fillBatch();
  await trainer.trainStep(tokens, targets);
}
const stepMs = (performance.now() - t0) / steps;
// Process CPU time (user + system, every pool thread): steadier than wall time on a shared machine.
const cpu = process.cpuUsage(c0), cpuMs = (cpu.user + cpu.system) / 1000 / steps;
trainer.dispose();
let covered = 0;
console.log(
  `${values.preset} ${values.recipe} on ${inner.device}: ${stepMs.toFixed(1)} ms/step, ` +
    `${cpuMs.toFixed(1)} CPU ms/step ` +
    `(load average ${loadavg().map((x) => x.toFixed(2)).join(", ")})`,
);
for (const [name, e] of [...totals].sort((a, b) => b[1].ms - a[1].ms)) {
  covered += e.ms / steps;
  console.log(
    `  ${name.padEnd(20)} ${(e.ms / steps).toFixed(2).padStart(8)} ms  ${
      (e.calls / steps).toFixed(0).padStart(4)
    } calls`,
  );
}
console.log(`  ${"(ops total)".padEnd(20)} ${covered.toFixed(2).padStart(8)} ms`);
