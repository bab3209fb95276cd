import { NVFP4, quantizeTensor } from "@fp4lab/quant-granularity";
import { setThreads, runTasks, heapAlloc, memoryBuffer } from "@fp4lab/kernels";
import process from "node:process";
setThreads(1);
const n = 4096;
const x = new Float32Array(n * n);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 97) / 10);
const p = heapAlloc(n * n * 4);
const out = heapAlloc(4096);
const view = new Float32Array(memoryBuffer(), p, n * n);
const nvInto = { data: new Uint8Array((n * n) / 2), scales: new Float32Array(n*n/16), scaleCodes: new Uint8Array(n*n/16) };
const cases: Record<string, () => unknown> = {
  copyin: () => view.set(x),
  amax: () => runTasks("amaxTask", [p, n * n, 1 << 15, out], 512, false),
  nv: () => quantizeTensor(x, n, n, NVFP4, nvInto),
};
const cpu: Record<string, number[]> = {};
for (const k in cases) { cases[k](); cpu[k] = []; }
for (let r = 0; r < 9; r++) for (const k in cases) { const c0 = process.cpuUsage(); cases[k](); const c = process.cpuUsage(c0); cpu[k].push((c.user + c.system) / 1000); }
const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log("cpu ms:", Object.entries(cpu).map(([k, v]) => `${k} ${median(v).toFixed(1)}`).join(", "));
