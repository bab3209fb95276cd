import { FP4_PAPER_ACT, MXFP4, NVFP4, quantizeTensor } from "@fp4lab/quant-granularity";
import { getThreads, setThreads, runTasks, heapAlloc, memoryBuffer } from "@fp4lab/kernels";
import os from "node:os";
const n = 4096;
const x = new Float32Array(n * n);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 97) / 10);
const dst = new Float32Array(n*n);
const p = heapAlloc(n*n*4);
const wasmView = new Float32Array(memoryBuffer(), p, n*n);
const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
const rowInto = { data: new Uint8Array((n * n) / 2), scales: new Float32Array(n) };
const mxInto = { data: new Uint8Array((n * n) / 2), scales: new Float32Array(n*n/32), scaleCodes: new Uint8Array(n*n/32) };
const cases: Record<string, () => unknown> = {
  copy: () => dst.set(x),
  copyIntoWasm: () => wasmView.set(x),
  row2: () => { setThreads(2); quantizeTensor(x, n, n, FP4_PAPER_ACT, rowInto); },
  row1: () => { setThreads(1); quantizeTensor(x, n, n, FP4_PAPER_ACT, rowInto); },
  mx2: () => { setThreads(2); quantizeTensor(x, n, n, MXFP4, mxInto); },
  mx1: () => { setThreads(1); quantizeTensor(x, n, n, MXFP4, mxInto); },
};
const t: Record<string, number[]> = {};
for (const k in cases) { cases[k](); t[k] = []; }
for (let r = 0; r < 7; r++) for (const k in cases) { const t0 = performance.now(); cases[k](); t[k].push(performance.now() - t0); }
console.log(os.loadavg(), Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v).toFixed(1)])));
// deno-lint-ignore no-explicit-any
const g = (globalThis as any).__qgt as number[][];
const names = Object.keys(cases).filter((k) => k !== "copy" && k !== "copyIntoWasm");
// per case order: each round runs 4 quant cases
for (let i = 0; i < names.length; i++) {
  const rowsOf = g.filter((_, j) => j % names.length === i);
  const med = [0, 1, 2, 3].map((c) => median(rowsOf.map((r) => r[c])).toFixed(2));
  console.log(names[i], "copyin, prepass, kernel, copyout:", med.join(" "));
}
