import { FP4_PAPER_ACT, MXFP4 } from "@fp4lab/quant-granularity";
import { setThreads } from "@fp4lab/kernels";
import { quantizeTensor } from "@fp4lab/quant-granularity";
setThreads(1);
const r = 64, c = 4096;
const x = new Float32Array(r * c);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 97) / 10);
const into = { data: new Uint8Array(r * c / 2), scales: new Float32Array(r) };
const mxInto = { data: new Uint8Array(r * c / 2), scales: new Float32Array(r*c/32), scaleCodes: new Uint8Array(r*c/32) };
for (const [name, f] of [["row", () => quantizeTensor(x, r, c, FP4_PAPER_ACT, into)], ["mx", () => quantizeTensor(x, r, c, MXFP4, mxInto)], ["copy", () => into.scales.length && new Float32Array(x.length).set(x)]] as const) {
  for (let k = 0; k < 50; k++) f();
  const t0 = performance.now();
  for (let k = 0; k < 200; k++) f();
  const dt = (performance.now() - t0) / 200;
  console.log(name, (dt * 1e6 / x.length).toFixed(3), "ns/elem");
}
