// Side-by-side, interleaved timing of one AdamW step over 10 M parameters: each round times the
// f32-moment step, the narrow-moment steps and a plain copy back to back, and the script prints
// the median over rounds of each ratio to the f32 step of the same round. Interleaving keeps the
// ratios honest on a shared, noisy machine (deno bench times each case in a separate block).
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
const time = (f: () => void) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
for (const opt of optimizers) for (let i = 0; i < 3; i++) adamwStep(opt, grads, 1e-4); // warm-up
const ratios: number[][] = cases.map(() => []);
const copyRatios: number[] = [];
const f32Times: number[] = [];
for (let r = 0; r < rounds; r++) {
  const times = optimizers.map((opt) => time(() => adamwStep(opt, grads, 1e-4)));
  const tc = time(() => copy.set(init));
  times.forEach((t, k) => ratios[k].push(t / times[0]));
  copyRatios.push(times[0] / tc);
  f32Times.push(times[0]);
}
const median = (x: number[]) => x.slice().sort((a, b) => a - b)[Math.floor(x.length / 2)];
console.log(`AdamW step over ${n} parameters, ${rounds} interleaved rounds, median ratios:`);
console.log(`  f32-moment step: median ${median(f32Times).toFixed(1)} ms`);
cases.forEach(([name], k) => {
  if (k > 0) console.log(`  ${name}: ${median(ratios[k]).toFixed(2)}x the f32-moment step`);
});
console.log(`  f32-moment step: ${median(copyRatios).toFixed(1)}x a plain copy of the parameters`);
