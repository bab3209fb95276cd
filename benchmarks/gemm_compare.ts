/**
 * Side-by-side GEMM benchmark (one run, interleaved rounds): our f32 GEMM (1 and 2 threads)
 * against onnxruntime-web's wasm MatMul (1 and 2 threads) and @tensorflow/tfjs-backend-wasm
 * (1 thread, XNNPACK); our exact FP4 GEMM against our f32 GEMM; and the WGSL f32 GEMM against a
 * plain 16 × 16 tiled WGSL GEMM on the WebGPU adapter (lavapipe here).
 *
 * Each round runs every contender once, in rotating order; figures are medians over rounds and
 * ratios are medians of per-round ratios, so load from other processes hits both sides alike.
 *
 * Run: `deno task bench:gemm` (options: `--rounds N`, `--quick` for 256/512 only, `--json`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { fp4Matmul, matmul, type QuantizedTensor, setThreads } from "@fp4lab/kernels";
import { GpuKernels } from "@fp4lab/gemm-webgpu";
import { E2M1 } from "@fp4lab/fp4-format";

const args = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "no-gpu": { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.values.rounds);
const json = args.values.json;
const log = (s: string) => json ? undefined : console.log(s);

const SHAPES: [number, number, number][] = args.values.quick
  ? [[256, 256, 256], [512, 512, 512]]
  : [[256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [512, 768, 3072]]; // [M, K, N]

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) =>
      l.startsWith("model name")
    );
    return line ?? "model name: unknown";
  } catch {
    return "model name: unknown";
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

class Peer {
  #w: Worker;
  constructor() {
    this.#w = new Worker(new URL("./_peer_worker.ts", import.meta.url), { type: "module" });
  }
  call(msg: unknown): Promise<{ ms?: number; error?: string }> {
    return new Promise((resolve, reject) => {
      this.#w.onmessage = (e) => e.data.error ? reject(new Error(e.data.error)) : resolve(e.data);
      this.#w.postMessage(msg);
    });
  }
  terminate() {
    this.#w.terminate();
  }
}

function rand(len: number): Float32Array {
  return Float32Array.from({ length: len }, () => Math.random() - 0.5);
}

function randomFp4(rows: number, cols: number): QuantizedTensor {
  const rowBytes = Math.ceil(cols / 2);
  const data = Uint8Array.from({ length: rows * rowBytes }, () => Math.floor(Math.random() * 256));
  return {
    shape: [rows, cols],
    format: E2M1,
    data,
    blockRows: 1,
    blockCols: cols,
    scales: Float32Array.from({ length: rows }, () => 0.1 + Math.random()),
    tensorScale: 1,
    scaleFormat: "f32",
    scheme: "absmax",
  };
}

type Timed = () => Promise<number>;
/** Calls per timed sample, so that sub-millisecond shapes are not timer noise. */
let REPS = 1;
const sync = (f: () => void): Timed => () => {
  const t0 = performance.now();
  for (let i = 0; i < REPS; i++) f();
  return Promise.resolve((performance.now() - t0) / REPS);
};

/** Runs rounds of all contenders (rotating order); returns per-contender per-round times. */
async function rounds(contenders: Record<string, Timed>, n: number) {
  const names = Object.keys(contenders);
  const times: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (const k of names) await contenders[k](); // warm-up
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < names.length; i++) {
      const k = names[(i + r) % names.length];
      times[k].push(await contenders[k]());
    }
  }
  return times;
}

const results: Record<string, unknown>[] = [];
log(cpuModel());
log(
  `cores: ${navigator.hardwareConcurrency}; ${ROUNDS} interleaved rounds per shape; the machine is shared, so expect noise`,
);

const ort1 = new Peer(), ort2 = new Peer(), tfjs1 = new Peer();
await ort1.call({ init: { peer: "ort", threads: 1 } });
await ort2.call({ init: { peer: "ort", threads: 2 } });
await tfjs1.call({ init: { peer: "tfjs", threads: 1 } });
const peerRun = (p: Peer): Timed => async () => (await p.call({ run: REPS })).ms!;

for (const [m, k, n] of SHAPES) {
  const flop = 2 * m * n * k;
  REPS = Math.max(1, Math.round(2e8 / flop));
  const a = rand(m * k), b = rand(k * n), out = new Float32Array(m * n);
  const qa = randomFp4(m, k), qw = randomFp4(n, k);
  for (const p of [ort1, ort2, tfjs1]) await p.call({ setup: { m, k, n } });
  const t = await rounds({
    "ours f32 1T": sync(() => (setThreads(1), matmul(a, b, m, n, k, { out }))),
    "ours f32 2T": sync(() => (setThreads(2), matmul(a, b, m, n, k, { out }))),
    "ours fp4 1T": sync(() => (setThreads(1), fp4Matmul(qa, qw, { out }))),
    "ours fp4 2T": sync(() => (setThreads(2), fp4Matmul(qa, qw, { out }))),
    "ort-web 1T": peerRun(ort1),
    "ort-web 2T": peerRun(ort2),
    "tfjs-wasm 1T": peerRun(tfjs1),
  }, ROUNDS);
  const gflops = Object.fromEntries(
    Object.entries(t).map(([key, v]) => [key, flop / median(v) / 1e6]),
  );
  const best = Object.fromEntries(
    Object.entries(t).map(([key, v]) => [key, flop / Math.min(...v) / 1e6]),
  );
  const ratio = (x: string, y: string) => median(t[x].map((v, i) => t[y][i] / v));
  const bestRatio = (x: string, y: string) => best[x] / best[y];
  const ratios = {
    "ours f32 2T / ort-web 2T (target >= 1.0)": ratio("ours f32 2T", "ort-web 2T"),
    "ours f32 1T / tfjs-wasm 1T (target >= 1.0)": ratio("ours f32 1T", "tfjs-wasm 1T"),
    "ours f32 1T / ort-web 1T": ratio("ours f32 1T", "ort-web 1T"),
    "ours fp4 1T / ours f32 1T (target >= 2.5)": ratio("ours fp4 1T", "ours f32 1T"),
    "ours fp4 2T / ours f32 2T (target >= 2.5)": ratio("ours fp4 2T", "ours f32 2T"),
  };
  const bestRatios = {
    "ours f32 2T / ort-web 2T": bestRatio("ours f32 2T", "ort-web 2T"),
    "ours f32 1T / tfjs-wasm 1T": bestRatio("ours f32 1T", "tfjs-wasm 1T"),
    "ours f32 1T / ort-web 1T": bestRatio("ours f32 1T", "ort-web 1T"),
    "ours fp4 1T / ours f32 1T": bestRatio("ours fp4 1T", "ours f32 1T"),
    "ours fp4 2T / ours f32 2T": bestRatio("ours fp4 2T", "ours f32 2T"),
  };
  results.push({ shape: { m, k, n }, gflops, best, ratios, bestRatios });
  log(
    `\nM=${m} K=${k} N=${n}  (GFLOP/s, GOP/s for fp4: median / best of ${ROUNDS} samples of ${REPS} calls)`,
  );
  for (const [key, v] of Object.entries(gflops)) {
    log(`  ${key.padEnd(14)} ${v.toFixed(1).padStart(7)} / ${best[key].toFixed(1).padStart(6)}`);
  }
  const bestVals = Object.values(bestRatios);
  Object.entries(ratios).forEach(([key, v], i) =>
    log(`  ${key.padEnd(44)} ${v.toFixed(2)}x  (best/best ${bestVals[i].toFixed(2)}x)`)
  );
}
for (const p of [ort1, ort2, tfjs1]) p.terminate();

if (!args.values["no-gpu"]) {
  const gpu = await GpuKernels.create();
  log(`\nWebGPU adapter: ${gpu.gpu.description}`);
  const gpuShapes = SHAPES.filter(([m]) => m <= 512);
  for (const [m, k, n] of gpuShapes) {
    const flop = 2 * m * n * k;
    const a = rand(m * k), b = rand(k * n), out = new Float32Array(m * n);
    const timed = (f: () => Promise<unknown>): Timed => async () => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    }; // the GPU runs are slow enough (> 5 ms) to time one at a time
    const t = await rounds({
      "wgsl tiled 4x4": timed(() => gpu.matmul(a, b, m, n, k, { out })),
      "wgsl 16x16 baseline": timed(() => gpu.matmulBaseline(a, b, m, n, k)),
    }, ROUNDS);
    const gflops = Object.fromEntries(
      Object.entries(t).map(([key, v]) => [key, flop / median(v) / 1e6]),
    );
    const r = median(t["wgsl tiled 4x4"].map((v, i) => t["wgsl 16x16 baseline"][i] / v));
    results.push({ shape: { m, k, n }, gpu: gflops, ratio: r });
    log(`\nWGSL M=${m} K=${k} N=${n}`);
    for (const [key, v] of Object.entries(gflops)) {
      log(`  ${key.padEnd(20)} ${v.toFixed(2).padStart(7)}`);
    }
    log(`  tiled / baseline (target >= 1.5)         ${r.toFixed(2)}x`);
  }
  gpu.destroy();
}
if (json) console.log(JSON.stringify({ cpu: cpuModel(), rounds: ROUNDS, results }, null, 2));
