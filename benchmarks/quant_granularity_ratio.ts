// Quantize + pack a 4096 x 4096 f32 matrix to MXFP4 and NVFP4, as a ratio to plain copies of the
// same matrix measured in the same run (issue target: within 5x of a copy).
// Run: deno run benchmarks/quant_granularity_ratio.ts [--json] [--size N] [--rounds R]
import { parseArgs } from "node:util";
import { FP4_PAPER_ACT, MXFP4, NVFP4, quantizeTensor } from "@fp4lab/quant-granularity";

const { values: args } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    size: { type: "string", default: "4096" },
    rounds: { type: "string", default: "7" },
  },
});
const n = Number(args.size);
const rounds = Number(args.rounds);
const x = new Float32Array(n * n);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 97) / 10);
const dst = new Float32Array(n * n);
// Caller-owned output buffers: the same work without allocating 8 MB of codes per call.
const mxInto = {
  data: new Uint8Array((n * n) / 2),
  scales: new Float32Array((n * n) / 32),
  scaleCodes: new Uint8Array((n * n) / 32),
};
const nvInto = {
  data: new Uint8Array((n * n) / 2),
  scales: new Float32Array((n * n) / 16),
  scaleCodes: new Uint8Array((n * n) / 16),
};

const cases: Record<string, () => unknown> = {
  "copy (TypedArray.set, memcpy)": () => dst.set(x),
  "copy (element loop)": () => {
    for (let i = 0; i < x.length; i++) dst[i] = x[i];
  },
  "copy (slice, allocating)": () => x.slice(),
  "MXFP4 quantize+pack": () => quantizeTensor(x, n, n, MXFP4),
  "NVFP4 quantize+pack": () => quantizeTensor(x, n, n, NVFP4),
  "FP4 per-token quantize+pack": () => quantizeTensor(x, n, n, FP4_PAPER_ACT),
  "MXFP4 quantize+pack, reused buffers": () => quantizeTensor(x, n, n, MXFP4, mxInto),
  "NVFP4 quantize+pack, reused buffers": () => quantizeTensor(x, n, n, NVFP4, nvInto),
};
const times: Record<string, number[]> = {};
for (const name of Object.keys(cases)) {
  cases[name]();
  times[name] = [];
}
// Interleave the cases round by round so that machine load hits them alike.
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(cases)) {
    const t0 = performance.now();
    run();
    times[name].push(performance.now() - t0);
  }
}
const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
const baselines = [
  "copy (TypedArray.set, memcpy)",
  "copy (element loop)",
  "copy (slice, allocating)",
];
const result = {
  size: `${n}x${n}`,
  rounds,
  medianMs: ms,
  ratios: Object.fromEntries(
    Object.keys(cases).filter((k) => !k.startsWith("copy")).map((q) => [
      q,
      Object.fromEntries(baselines.map((b) => [b, +(ms[q] / ms[b]).toFixed(2)])),
    ]),
  ),
};
if (args.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  for (const [k, v] of Object.entries(ms)) console.log(`${k.padEnd(40)} ${v.toFixed(1)} ms`);
  for (const [q, r] of Object.entries(result.ratios)) {
    console.log(`${q}: ${Object.entries(r).map(([b, v]) => `${v}x ${b}`).join(", ")}`);
  }
}
