// Side-by-side, interleaved timing of one AdamW step over 10 M parameters: each round times the
// f32-moment step, the narrow-moment steps and a plain copy back to back, and the script prints
// the median over rounds of each ratio to the f32 step of the same round. Interleaving keeps the
// ratios honest on a shared, noisy machine (deno bench times each case in a separate block).
// Each case is timed both in wall-clock time and in this process's CPU time (user + system, from
// node:process cpuUsage): on a machine shared with other jobs the CPU time is not inflated by
// waiting for a core, so its ratios are the steadier of the two.
// Target (issue 8): m1 E4M3 + m2 FP16 within 1.5x of the f32-moment step.
// Run: deno run -A benchmarks/mixed_optim_compare.ts [rounds]
import { type AdamWOptions, adamwStep, createAdamW } from "@fp4lab/mixed-optim";

const n = 10_000_000;
const rounds = Number(Deno.args[0] ?? 15);
let s = 1;
const random = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
const grads = [Float32Array.from({ length: n }, () => random() * 1e-3)];
const init = Float32Array.from({ length: n }, () => random());
const copy = new Float32Array(n);

const cases: [string, AdamWOptions][] = [
  ["f32 moments", { m1Format: "f32", m2Format: "f32" }],
  ["m1 E4M3 + m2 FP16 (default)", {}],
  ["m1 FP16 + m2 FP16", { m1Format: "FP16", m2Format: "FP16" }],
  ["m1 BF16 + m2 BF16", { m1Format: "BF16", m2Format: "BF16" }],
];
const optimizers = cases.map(([, options]) => createAdamW([init.slice()], options));
/** [wall ms, CPU ms] of one call. */
const time = (f: () => void): [number, number] => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return [wall, (cpu.user + cpu.system) / 1000];
};
for (const opt of optimizers) for (let i = 0; i < 3; i++) adamwStep(opt, grads, 1e-4); // warm-up
const wallRatios: number[][] = cases.map(() => []);
const cpuRatios: number[][] = cases.map(() => []);
const copyRatios: number[] = [];
const f32Times: number[] = [];
for (let r = 0; r < rounds; r++) {
  const times = optimizers.map((opt) => time(() => adamwStep(opt, grads, 1e-4)));
  const [copyWall] = time(() => copy.set(init));
  times.forEach(([wall, cpu], k) => {
    wallRatios[k].push(wall / times[0][0]);
    cpuRatios[k].push(cpu / times[0][1]);
  });
  copyRatios.push(times[0][0] / copyWall);
  f32Times.push(times[0][0]);
}
const median = (x: number[]) => x.slice().sort((a, b) => a - b)[Math.floor(x.length / 2)];
console.log(`AdamW step over ${n} parameters, ${rounds} interleaved rounds, median ratios:`);
console.log(`  f32-moment step: median ${median(f32Times).toFixed(1)} ms wall`);
cases.forEach(([name], k) => {
  if (k === 0) return;
  console.log(
    `  ${name}: ${median(cpuRatios[k]).toFixed(2)}x the f32-moment step in CPU time, ` +
      `${median(wallRatios[k]).toFixed(2)}x in wall time`,
  );
});
console.log(`  f32-moment step: ${median(copyRatios).toFixed(1)}x a plain copy (wall time)`);
