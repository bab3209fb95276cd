// Side-by-side ratios for issue 7's speed targets, robust to a shared machine: every candidate
// and its peer run interleaved, many times, in one process; the report gives the ratio of the
// fastest runs (min) and of the medians. Run: deno run -A benchmarks/dge_occ_ratios.ts [--json]
//   1. quantile + clamp + CSR build (clampOutliers, per token) on a 512x768 activation vs one
//      FP4 quantize of it (target <= 3x at alpha = 0.99). Two peers: the per-token absmax E2M1
//      quantize the forward pass runs on this tensor, and the bare elementwise E2M1 quantize.
//   2. the DGE backward factor (applyGradientFactor: factor, multiply, stats) vs the
//      weight-gradient GEMM it multiplies (target <= 0.1x), trainer-like shapes, plain
//      TypeScript f32 GEMM (the @fp4lab/kernels matmul is not on main yet).
import { E2M1, quantize, seedKey, uniformAt } from "@fp4lab/fp4-format";
import { clampOutliers, syntheticActivations } from "@fp4lab/outlier-comp";
import { applyGradientFactor } from "@fp4lab/dge";

const json = Deno.args.includes("--json");
const REPS = Number(Deno.env.get("REPS") ?? 30);

function measure(fns: Record<string, () => void>, reps: number): Record<string, number[]> {
  const times: Record<string, number[]> = {};
  for (const name in fns) fns[name](); // warm up
  for (let r = 0; r < reps; r++) {
    for (const [name, fn] of Object.entries(fns)) {
      const t0 = performance.now();
      fn();
      (times[name] ??= []).push(performance.now() - t0);
    }
  }
  return times;
}
const min = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const rows: {
  target: string;
  candidate: string;
  peer: string;
  minRatio: number;
  medianRatio: number;
  candidateMs: number;
  peerMs: number;
}[] = [];
function report(times: Record<string, number[]>, target: string, candidate: string, peer: string) {
  rows.push({
    target,
    candidate,
    peer,
    minRatio: min(times[candidate]) / min(times[peer]),
    medianRatio: median(times[candidate]) / median(times[peer]),
    candidateMs: min(times[candidate]),
    peerMs: min(times[peer]),
  });
}

// 1. OCC on 512x768.
{
  const [R, C] = [512, 768];
  const a = syntheticActivations(R, C, { seed: 1 });
  const out = new Float32Array(a.length);
  const perToken = () => {
    for (let r = 0; r < R; r++) {
      const row = a.subarray(r * C, (r + 1) * C);
      let absmax = 0;
      for (let c = 0; c < C; c++) absmax = Math.max(absmax, Math.abs(row[c]));
      quantize(row, E2M1, { inverseScale: 6 / absmax, out: out.subarray(r * C, (r + 1) * C) });
    }
  };
  const times = measure({
    "quantize per-token E2M1": perToken,
    "quantize bare E2M1": () => void quantize(a, E2M1, { out }),
    "clampOutliers row a=0.99": () => void clampOutliers(a, R, C, { alpha: 0.99, out }),
    "clampOutliers row a=0.97": () => void clampOutliers(a, R, C, { alpha: 0.97, out }),
    "clampOutliers row a=0.999": () => void clampOutliers(a, R, C, { alpha: 0.999, out }),
    "clampOutliers tensor a=0.99": () =>
      void clampOutliers(a, R, C, { alpha: 0.99, scope: "tensor", out }),
  }, REPS);
  for (const c of Object.keys(times).filter((k) => k.startsWith("clamp"))) {
    report(times, "<= 3x", c, "quantize per-token E2M1");
    report(times, "<= 3x", c, "quantize bare E2M1");
  }
}

// 2. DGE factor vs the weight-gradient GEMM dW[N, K] = dYᵀ·A.
function randoms(n: number, seed: number, scale = 1): Float32Array {
  const key = seedKey(seed);
  return Float32Array.from({ length: n }, (_, i) => (uniformAt(key, i) * 2 - 1) * scale);
}
function weightGradGemm(
  dy: Float32Array,
  a: Float32Array,
  dw: Float32Array,
  m: number,
  n: number,
  k: number,
) {
  dw.fill(0);
  for (let t = 0; t < m; t++) {
    const aRow = t * k;
    for (let j = 0; j < n; j++) {
      const g = dy[t * n + j];
      const wRow = j * k;
      for (let p = 0; p < k; p++) dw[wRow + p] += g * a[aRow + p];
    }
  }
}
for (const [tokens, k, n] of [[2048, 128, 512], [512, 128, 512]]) {
  const a = randoms(tokens * k, 1);
  const dy = randoms(tokens * n, 2, 0.01);
  const dw = new Float32Array(n * k);
  const scaled = randoms(n * k, 3, 6);
  const grad = randoms(n * k, 4);
  const out = new Float32Array(n * k);
  const gemm = `GEMM dYᵀ·A ${tokens} tokens, W ${n}x${k}`;
  const dge = `applyGradientFactor dge, W ${n}x${k} (${tokens} tokens)`;
  const times = measure({
    [gemm]: () => weightGradGemm(dy, a, dw, tokens, n, k),
    [dge]: () => void applyGradientFactor(grad, scaled, E2M1, { out }),
  }, Math.max(5, Math.floor(REPS / 3)));
  report(times, "<= 0.1x", dge, gemm);
}

const cpu = (() => {
  try {
    return Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
})();
if (json) {
  console.log(JSON.stringify({ cpu, reps: REPS, rows }, null, 2));
} else {
  console.log(`CPU: ${cpu}; ${REPS} interleaved repetitions; ratio = candidate / peer`);
  console.log(
    "| target | candidate | peer | ratio (min) | ratio (median) | candidate min ms | peer min ms |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.target} | ${r.candidate} | ${r.peer} | ${r.minRatio.toFixed(3)} | ${
        r.medianRatio.toFixed(3)
      } | ${r.candidateMs.toFixed(2)} | ${r.peerMs.toFixed(2)} |`,
    );
  }
}
