/**
 * The resident cpu backend's optional GEMM fusions measured against their unfused calls, in one
 * run. The fused operations named by `--ops` are optional on the Backend interface: hidden, the
 * engine makes the separate calls, as it does on backends without them.
 *
 * 1. Equality: two trainers on the same model, seed and batches, one on the backend as it is, one
 *    with the fused operations hidden; every step's loss and the final parameters must be
 *    bit-identical (the fusions move arithmetic, they do not change it).
 * 2. Speed: one trainer, created with the fused operations hidden (so it holds the unfused
 *    path's temporaries) on a backend that shows them or not per step; rounds alternate the two
 *    (order swapped each round), so both run on the same buffers and memory placement. Each
 *    step's wall time and process CPU time (user + system, every thread of the pool) are
 *    recorded; medians and the fused / unfused ratio are printed.
 *
 * The load average is printed before and after: with other jobs on the machine, wall times mean
 * something only while it stays below the thread count; CPU time is the steadier figure.
 *
 * usage: deno run -A benchmarks/step_fusion.ts [--preset tiny] [--recipe fp4] [--rounds 8]
 *   [--batch 16] [--threads N] [--ops matmulDge] [--check-steps 4]
 */
import { parseArgs } from "node:util";
import { loadavg } from "node:os";
import process from "node:process";
import {
  type Backend,
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
    rounds: { type: "string", default: "8" },
    batch: { type: "string", default: "16" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    ops: { type: "string", default: "matmulDge" },
    "check-steps": { type: "string", default: "4" },
  },
});
const rounds = Number(values.rounds), batch = Number(values.batch);
const recipe = RECIPES[values.recipe!];
if (!recipe || !Number.isInteger(rounds) || rounds < 1) {
  console.error(`step_fusion: unknown recipe ${values.recipe} or bad --rounds ${values.rounds}`);
  Deno.exit(2);
}
setThreads(Number(values.threads));
const config = presetByName(values.preset!);
const ops = values.ops!.split(",");
const fused = createWasmBackend();
for (const op of ops) {
  if (typeof (fused as unknown as Record<string, unknown>)[op] !== "function") {
    console.error(`step_fusion: the cpu backend has no operation ${op}`);
    Deno.exit(2);
  }
}
// The same backend's closures, the fused operations hidden.
const unfused: Backend = { ...fused };
for (const op of ops) (unfused as unknown as Record<string, unknown>)[op] = undefined;
// ... and shown or hidden per step.
let show = false;
const toggled: Backend = { ...fused };
for (const op of ops) {
  Object.defineProperty(toggled, op, {
    get: () => show ? (fused as unknown as Record<string, unknown>)[op] : undefined,
  });
}

const make = (backend: Backend, steps: number) =>
  createTrainer({ config, recipe, batch, lr: 1e-3, steps, seed: 1, backend });
const T = config.contextLength;
const tokens = new Int32Array(batch * T), targets = new Int32Array(batch * T);
let x = 12345;
const fillBatch = () => {
  for (let i = 0; i < tokens.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    tokens[i] = x >>> 24;
    targets[i] = (x >>> 16) & 255;
  }
};
const load = () => loadavg().map((v) => v.toFixed(2)).join(", ");
console.log(
  `${values.preset} ${values.recipe}, batch ${batch}, ${fused.device}; fused: ${ops.join(", ")}`,
);

// 1. Equality.
const checkSteps = Number(values["check-steps"]);
const pair = { unfused: make(unfused, checkSteps), fused: make(fused, checkSteps) };
let mismatches = 0;
for (let s = 0; s < checkSteps; s++) {
  fillBatch();
  const lu = (await pair.unfused.trainStep(tokens, targets)).loss;
  const lf = (await pair.fused.trainStep(tokens, targets)).loss;
  if (!Object.is(lu, lf)) {
    mismatches++;
    console.log(`step ${s}: losses differ: unfused ${lu}, fused ${lf}`);
  }
}
const [pu, pf] = await Promise.all([pair.unfused.params(), pair.fused.params()]);
const paramsEqual = pu.length === pf.length &&
  new Uint32Array(pu.buffer).every((v, i) => v === new Uint32Array(pf.buffer)[i]);
pair.unfused.dispose();
pair.fused.dispose();
console.log(
  `losses bit-identical: ${mismatches === 0} (${checkSteps} steps); final parameters ` +
    `bit-identical: ${paramsEqual}`,
);

// 2. Speed.
const trainer = make(toggled, 2 * rounds + 2);
console.log(`load average before: ${load()}`);
const times = {
  unfused: { wall: [] as number[], cpu: [] as number[] },
  fused: { wall: [] as number[], cpu: [] as number[] },
};
for (let r = 0; r <= rounds; r++) {
  const order = r % 2 === 0 ? ["unfused", "fused"] as const : ["fused", "unfused"] as const;
  for (const name of order) {
    fillBatch();
    show = name === "fused";
    const c0 = process.cpuUsage(), t0 = performance.now();
    await trainer.trainStep(tokens, targets);
    const wall = performance.now() - t0, c = process.cpuUsage(c0);
    if (r > 0) { // round 0 warms both paths up
      times[name].wall.push(wall);
      times[name].cpu.push((c.user + c.system) / 1000);
    }
  }
}
trainer.dispose();
console.log(`load average after: ${load()}`);
const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const what of ["wall", "cpu"] as const) {
  const u = median(times.unfused[what]), f = median(times.fused[what]);
  console.log(
    `${what.padEnd(4)} ms/step median of ${rounds}: unfused ${u.toFixed(1)}, fused ${
      f.toFixed(1)
    }, fused/unfused ${(f / u).toFixed(3)}`,
  );
}
if (mismatches > 0 || !paramsEqual) Deno.exit(1);
