// Side-by-side, interleaved timing of one AdamW step over 10 M parameters: each round times every
// case back to back, and the script prints the median over rounds of each ratio to the
// f32-moment step of the same round. Interleaving keeps the ratios honest on a shared, noisy
// machine (deno bench times each case in a separate block). Each case is timed both in wall-clock
// time and in this process's CPU time (user + system of every thread, from node:process
// cpuUsage): on a machine shared with other jobs the CPU time is not inflated by waiting for a
// core, so its ratios are the steadier of the two.
//
// Cases: adamwStep (the kernel set) with the parameters and gradients as ordinary arrays (copied
// in and out each step) and as views of the kernels' memory (used in place), and
// adamwStepReference (the plain TypeScript) for the speedup of the kernel path.
// Target (issue 15): m1 E4M3 + m2 FP16 within 1.3x of the f32-moment step.
// Run: deno run -A benchmarks/mixed_optim_compare.ts [rounds] [threads]
import process from "node:process";
import {
  type AdamWOptions,
  type AdamWState,
  adamwStep,
  adamwStepReference,
  createAdamW,
  disposeAdamW,
} from "@fp4lab/mixed-optim";
import { getThreads, heapAlloc, memoryBuffer, setThreads } from "@fp4lab/kernels";

const n = 10_000_000;
const rounds = Number(Deno.args[0] ?? 15);
if (Deno.args[1] !== undefined) setThreads(Number(Deno.args[1]));
let s = 1;
const random = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
const grads = [Float32Array.from({ length: n }, () => random() * 1e-3)];
const init = Float32Array.from({ length: n }, () => random());
const copy = new Float32Array(n);
/** A Float32Array in the kernels' shared memory holding `values`. */
const resident = (values: Float32Array): Float32Array => {
  const ptr = heapAlloc(values.length * 4); // may grow the memory: take the buffer after
  const view = new Float32Array(memoryBuffer(), ptr, values.length);
  view.set(values);
  return view;
};
const residentGrads = [resident(grads[0])];

const F32: AdamWOptions = { m1Format: "f32", m2Format: "f32" };
const DEFAULT: AdamWOptions = {}; // m1 E4M3 + m2 FP16
interface Case {
  name: string;
  opt: AdamWState;
  step: (opt: AdamWState) => void;
}
const kernel = (grads: Float32Array[]) => (opt: AdamWState) => adamwStep(opt, grads, 1e-4);
const reference = (opt: AdamWState) => adamwStepReference(opt, grads, 1e-4);
const cases: Case[] = [
  { name: "f32 moments", opt: createAdamW([init.slice()], F32), step: kernel(grads) },
  { name: "m1 E4M3 + m2 FP16 (default)", opt: createAdamW([init.slice()]), step: kernel(grads) },
  {
    name: "m1 FP16 + m2 FP16",
    opt: createAdamW([init.slice()], { m1Format: "FP16", m2Format: "FP16" }),
    step: kernel(grads),
  },
  {
    name: "m1 BF16 + m2 BF16",
    opt: createAdamW([init.slice()], { m1Format: "BF16", m2Format: "BF16" }),
    step: kernel(grads),
  },
  {
    name: "f32 moments, weights and gradients in kernel memory",
    opt: createAdamW([resident(init)], F32),
    step: kernel(residentGrads),
  },
  {
    name: "m1 E4M3 + m2 FP16, weights and gradients in kernel memory",
    opt: createAdamW([resident(init)], DEFAULT),
    step: kernel(residentGrads),
  },
  {
    name: "TypeScript reference, f32 moments",
    opt: createAdamW([init.slice()], F32),
    step: reference,
  },
  {
    name: "TypeScript reference, m1 E4M3 + m2 FP16",
    opt: createAdamW([init.slice()], DEFAULT),
    step: reference,
  },
];
/** [wall ms, CPU ms] of one call. */
const time = (f: () => void): [number, number] => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return [wall, (cpu.user + cpu.system) / 1000];
};
const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
console.log(`load average before: ${load()}; ${navigator.hardwareConcurrency} cores reported`);
for (const c of cases) for (let i = 0; i < 3; i++) c.step(c.opt); // warm-up
const wall: number[][] = cases.map(() => []);
const cpu: number[][] = cases.map(() => []);
const copyWall: number[] = [];
for (let r = 0; r < rounds; r++) {
  cases.forEach((c, k) => {
    const [w, u] = time(() => c.step(c.opt));
    wall[k].push(w);
    cpu[k].push(u);
  });
  copyWall.push(time(() => copy.set(init))[0]);
}
const median = (x: number[]) => x.slice().sort((a, b) => a - b)[Math.floor(x.length / 2)];
/** Median over rounds of a[r] / b[r]. */
const ratio = (a: number[], b: number[]) => median(a.map((x, r) => x / b[r]));
const index = (name: string) => cases.findIndex((c) => c.name === name);
console.log(
  `AdamW step over ${n} parameters, ${getThreads()} kernel thread(s), ${rounds} interleaved ` +
    `rounds, medians (CPU time counts every thread):`,
);
cases.forEach((c, k) => {
  console.log(
    `  ${c.name}: ${median(wall[k]).toFixed(1)} ms wall, ${median(cpu[k]).toFixed(1)} ms CPU`,
  );
});
const against = (k: number, base: number, what: string) =>
  console.log(
    `  ${cases[k].name}: ${ratio(cpu[k], cpu[base]).toFixed(2)}x ${what} in CPU time, ` +
      `${ratio(wall[k], wall[base]).toFixed(2)}x in wall time`,
  );
console.log("Against the f32-moment step (issue 15's target: the default within 1.3x):");
for (const k of [1, 2, 3]) against(k, 0, "the f32-moment step");
against(5, 4, "the f32-moment step (both in kernel memory)");
console.log("Speedup of the kernel path over the TypeScript reference (reference / kernel):");
for (const [ts, kx] of [[6, 0], [7, 1], [7, 5]]) {
  console.log(
    `  ${cases[kx].name}: ${ratio(wall[ts], wall[kx]).toFixed(1)}x in wall time, ` +
      `${ratio(cpu[ts], cpu[kx]).toFixed(1)}x in CPU time`,
  );
}
console.log(
  `  f32-moment step (kernel): ${ratio(wall[index("f32 moments")], copyWall).toFixed(1)}x ` +
    `a plain ${n}-element copy (wall time)`,
);
console.log(`load average after: ${load()}`);
for (const c of cases) disposeAdamW(c.opt);
