// One AdamW step over 10 M parameters (one tensor) with the moments stored as f32, FP16 and FP8,
// each a ratio to the f32-moment step measured in the same run (deno bench prints "x times
// slower than" the baseline), plus a plain copy of the parameters as a floor.
// Target (issue 15): FP8/FP16 moments (the default) within 1.3x of the f32-moment step.
// The two quantize passes the narrow step makes (fp4-format's quantize over a moment buffer, in
// place) are timed alone too, to show where the time goes.
import { type AdamWOptions, adamwStep, createAdamW } from "@fp4lab/mixed-optim";
import { E4M3, FP16, quantize } from "@fp4lab/fp4-format";

const n = 10_000_000;
let s = 1;
const random = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
const grads = [Float32Array.from({ length: n }, () => random() * 1e-3)];
const init = Float32Array.from({ length: n }, () => random());

function optimizer(options: AdamWOptions) {
  const opt = createAdamW([init.slice()], options);
  adamwStep(opt, grads, 1e-4); // the scales settle on the first step
  return opt;
}
const configs: [string, AdamWOptions][] = [
  ["f32 moments", { m1Format: "f32", m2Format: "f32" }],
  ["m1 E4M3 + m2 FP16 (default)", {}],
  ["m1 FP16 + m2 FP16", { m1Format: "FP16", m2Format: "FP16" }],
  ["m1 BF16 + m2 BF16", { m1Format: "BF16", m2Format: "BF16" }],
];
const copy = new Float32Array(n);

for (const [name, options] of configs) {
  const opt = optimizer(options);
  Deno.bench(`AdamW step, ${name}`, {
    group: "adamw-10M",
    baseline: name === "f32 moments",
    n: 20,
    warmup: 3,
  }, () => {
    adamwStep(opt, grads, 1e-4);
  });
}
const paper = optimizer({});
const m1 = paper.m1[0].slice(), m2 = paper.m2[0].slice();
Deno.bench(
  "  of which: quantize m1 to E4M3 (in place)",
  { group: "adamw-10M", n: 20, warmup: 3 },
  () => {
    quantize(m1, E4M3, { out: m1 });
  },
);
Deno.bench(
  "  of which: quantize m2 to FP16 (in place)",
  { group: "adamw-10M", n: 20, warmup: 3 },
  () => {
    quantize(m2, FP16, { out: m2 });
  },
);
Deno.bench("plain copy of the parameters", { group: "adamw-10M", n: 20, warmup: 3 }, () => {
  copy.set(init);
});
