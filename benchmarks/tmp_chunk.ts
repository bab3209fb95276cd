import { FP4_PAPER_ACT, MXFP4, quantizeTensor } from "@fp4lab/quant-granularity";
import { setThreads } from "@fp4lab/kernels";
import { kernelPath } from "../packages/quant-granularity/_kernel.ts";
import os from "node:os";
const n = 4096;
const x = new Float32Array(n * n);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 97) / 10);
const dst = new Float32Array(n*n);
const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
const rowInto = { data: new Uint8Array((n * n) / 2), scales: new Float32Array(n) };
const cases: Record<string, () => unknown> = { copy: () => dst.set(x) };
for (const th of [2]) for (const ch of [1 << 19, 1 << 20, 1 << 21, 1 << 22, 1 << 30]) {
  cases[`t${th} chunk${ch}`] = () => { setThreads(th); kernelPath.chunkElements = ch; quantizeTensor(x, n, n, FP4_PAPER_ACT, rowInto); };
}
const t: Record<string, number[]> = {};
for (const k in cases) { cases[k](); t[k] = []; }
for (let r = 0; r < 15; r++) for (const k in cases) { const t0 = performance.now(); cases[k](); t[k].push(performance.now() - t0); }
console.log(os.loadavg(), Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v).toFixed(1)])));
