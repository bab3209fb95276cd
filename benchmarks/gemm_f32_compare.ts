/**
 * f32 GEMM of the kernel set, this checkout against an older commit, side by side in one run.
 *
 * The older kernel set (`kernels/` at `--base`, default `HEAD`) is extracted with `git archive`
 * into a temporary directory and imported next to this checkout's: two runtimes, two shared
 * memories, two worker pools (idle workers sleep, so they do not disturb each other). Operands
 * live in each runtime's memory and go through `matmulAt`, the entry point the resident
 * training backend calls, so the figures are the kernel's, not the copies of `matmul`.
 *
 * Shapes: the training GEMMs of the `tiny` (M = 16 · 128 tokens) and `small` (M = 16 · 256)
 * presets in their three orientations (forward `nt` y = x·Wᵀ, input gradient `nn` dx += dy·W,
 * weight gradient `tn` dW = dyᵀ·x), and the squares 512 and 1024. Each round runs both kernels
 * once per shape and thread count, in alternating order; a figure is the median over rounds and
 * the ratio the median of per-round ratios, so load from other processes hits both alike.
 *
 * Run: `deno run -A benchmarks/gemm_f32_compare.ts [--base REF] [--rounds N] [--threads 1,2]
 * [--quick] [--json]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import * as cur from "../kernels/mod.ts";

const args = parseArgs({
  options: {
    base: { type: "string", default: "HEAD" }, // the kernels to compare against
    rounds: { type: "string", default: "7" },
    threads: { type: "string", default: "1,2" },
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.values.help) {
  console.log(
    "usage: deno run -A benchmarks/gemm_f32_compare.ts [--base REF] [--rounds N] " +
      "[--threads 1,2] [--quick] [--json]",
  );
  Deno.exit(0);
}
const ROUNDS = Number(args.values.rounds);
const THREADS = args.values.threads!.split(",").map(Number);
for (const t of THREADS) {
  if (!Number.isInteger(t) || t < 1) throw new Error(`--threads: bad thread count ${t}`);
}
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds must be >= 1`);

type Layout = "nn" | "nt" | "tn";
interface Shape {
  name: string;
  m: number;
  n: number;
  k: number;
  layout: Layout;
  accumulate: boolean;
}

/** The three GEMMs of one linear layer y[M, N] = x[M, K] · W[N, K]ᵀ (packages/train/linear.ts). */
function linear(tag: string, M: number, K: number, N: number): Shape[] {
  return [
    { name: `${tag} fwd`, m: M, n: N, k: K, layout: "nt", accumulate: false },
    { name: `${tag} dX`, m: M, n: K, k: N, layout: "nn", accumulate: true },
    { name: `${tag} dW`, m: N, n: K, k: M, layout: "tn", accumulate: false },
  ];
}

const SHAPES: Shape[] = [
  ...linear("tiny qkv", 2048, 128, 384),
  ...linear("tiny gateUp", 2048, 128, 768),
  ...linear("tiny down", 2048, 384, 128),
  ...(args.values.quick ? [] : [
    ...linear("tiny o", 2048, 128, 128),
    ...linear("small qkv", 4096, 256, 768),
    ...linear("small gateUp", 4096, 256, 1376),
    ...linear("small down", 4096, 688, 256),
  ]),
  { name: "square 512", m: 512, n: 512, k: 512, layout: "nn", accumulate: false },
  ...(args.values.quick ? [] : [
    { name: "square 1024", m: 1024, n: 1024, k: 1024, layout: "nn", accumulate: false } as Shape,
  ]),
];

// The older kernel set, from git.
const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "gemm-base-"));
const tar = join(dir, "k.tar");
execFileSync("git", ["-C", root, "archive", "-o", tar, args.values.base!, "kernels"]);
execFileSync("tar", ["-xf", tar, "-C", dir]);
const baseRev = execFileSync("git", ["-C", root, "rev-parse", "--short", args.values.base!])
  .toString().trim();
const old = {
  ...await import(join(dir, "kernels", "runtime.ts")),
  ...await import(join(dir, "kernels", "matmul.ts")),
} as unknown as typeof cur;
rmSync(dir, { recursive: true });

interface Kernels {
  heapAlloc(bytes: number): number;
  memoryBuffer(): SharedArrayBuffer;
  matmulAt(
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    layout: Layout,
    acc: boolean,
  ): void;
  setThreads(n: number): void;
}

/** Operands of every shape in one runtime's memory (the same values on both sides). */
function place(ks: Kernels, s: Shape) {
  const a = ks.heapAlloc(s.m * s.k * 4), b = ks.heapAlloc(s.k * s.n * 4);
  const c = ks.heapAlloc(s.m * s.n * 4);
  let x = 1;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const fa = new Float32Array(ks.memoryBuffer(), a, s.m * s.k);
  for (let i = 0; i < fa.length; i++) fa[i] = rnd();
  const fb = new Float32Array(ks.memoryBuffer(), b, s.k * s.n);
  for (let i = 0; i < fb.length; i++) fb[i] = rnd();
  return { a, b, c };
}

const sides: { name: string; ks: Kernels; ptrs: { a: number; b: number; c: number }[] }[] = [
  { name: `base ${baseRev}`, ks: old, ptrs: [] },
  { name: "this checkout", ks: cur, ptrs: [] },
];
for (const side of sides) side.ptrs = SHAPES.map((s) => place(side.ks, s));

/**
 * Wall and process CPU milliseconds per call (all threads: the CPU time is what the kernel
 * costs whatever else runs on the machine; the wall time is what a caller waits).
 */
function time(side: typeof sides[number], i: number, reps: number): [number, number] {
  const s = SHAPES[i], p = side.ptrs[i];
  side.ks.matmulAt(p.a, p.b, p.c, s.m, s.n, s.k, s.layout, s.accumulate);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    side.ks.matmulAt(p.a, p.b, p.c, s.m, s.n, s.k, s.layout, s.accumulate);
  }
  const wall = (performance.now() - t0) / reps;
  const u = process.cpuUsage(u0);
  return [wall, (u.user + u.system) / 1000 / reps];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Same results on both sides (a sanity check, not the test: kernels/matmul_test.ts is), and
// whether they are the same bits (same summation order).
let sameBits = true;
for (let i = 0; i < SHAPES.length; i++) {
  const s = SHAPES[i];
  const out = sides.map((side) => {
    const p = side.ptrs[i];
    new Float32Array(side.ks.memoryBuffer(), p.c, s.m * s.n).fill(0);
    side.ks.setThreads(2);
    side.ks.matmulAt(p.a, p.b, p.c, s.m, s.n, s.k, s.layout, false);
    return new Float32Array(side.ks.memoryBuffer(), p.c, s.m * s.n).slice();
  });
  // Differences relative to the largest output (a reordered sum of k terms moves by ~1e-7·√k).
  let worst = 0, top = 0;
  for (let j = 0; j < out[0].length; j++) {
    if (!Object.is(out[0][j], out[1][j])) sameBits = false;
    worst = Math.max(worst, Math.abs(out[0][j] - out[1][j]));
    top = Math.max(top, Math.abs(out[0][j]));
  }
  if (worst > 1e-5 * top) {
    throw new Error(`${s.name}: the two kernels disagree (${worst} of ${top})`);
  }
}

const uptime = () => {
  try {
    return execFileSync("uptime").toString().trim();
  } catch {
    return readFileSync("/proc/loadavg", "utf8").trim();
  }
};
const log = (s: string) => args.values.json ? undefined : console.log(s);
const cpu = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) =>
  l.startsWith("model name")
);
log(`${cpu}; Deno ${Deno.version.deno}; base ${baseRev} vs this checkout; ${ROUNDS} rounds`);
log(
  `results: ${
    sameBits ? "the same bits" : "within 1e-5 of the largest, not the same bits"
  } on both sides`,
);
log(`uptime before: ${uptime()}`);

// Warm-up: V8 first runs WebAssembly from its baseline compiler and swaps in the optimized
// code after a while; ~1 s of calls on every side settles that. Then calls per measurement from
// one timed call of the base kernel (~25 ms of CPU per measurement).
for (const side of sides) side.ks.setThreads(1);
for (const until = performance.now() + 1500; performance.now() < until;) {
  for (let i = 0; i < SHAPES.length; i++) for (const side of sides) time(side, i, 1);
}
const reps = SHAPES.map((_, i) => {
  const [, c] = time(sides[0], i, 1);
  return Math.max(1, Math.round(25 / Math.max(c, 0.01)));
});

const ms: number[][][][] = THREADS.map(() => SHAPES.map(() => [[], []]));
const cpuMs: number[][][][] = THREADS.map(() => SHAPES.map(() => [[], []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let ti = 0; ti < THREADS.length; ti++) {
    for (const side of sides) side.ks.setThreads(THREADS[ti]);
    for (let i = 0; i < SHAPES.length; i++) {
      const order = (r + i) % 2 === 0 ? [0, 1] : [1, 0];
      for (const o of order) {
        const [w, c] = time(sides[o], i, reps[i]);
        ms[ti][i][o].push(w);
        cpuMs[ti][i][o].push(c);
      }
    }
  }
}
const after = uptime();

const gf = (s: Shape, t: number) => (2 * s.m * s.n * s.k) / (t * 1e6);
const rows = [];
for (let ti = 0; ti < THREADS.length; ti++) {
  for (let i = 0; i < SHAPES.length; i++) {
    const s = SHAPES[i];
    const [o, c] = ms[ti][i];
    const [oc, cc] = cpuMs[ti][i];
    rows.push({
      shape: s.name,
      mnk: `${s.m}x${s.n}x${s.k} ${s.layout}${s.accumulate ? "+" : ""}`,
      threads: THREADS[ti],
      baseGflops: gf(s, median(o)),
      newGflops: gf(s, median(c)),
      ratio: median(o.map((x, j) => x / c[j])),
      baseMs: median(o),
      newMs: median(c),
      baseGflopsPerCpu: gf(s, median(oc)),
      newGflopsPerCpu: gf(s, median(cc)),
      cpuRatio: median(oc.map((x, j) => x / cc[j])),
    });
  }
}
if (args.values.json) {
  console.log(
    JSON.stringify({ base: baseRev, rounds: ROUNDS, sameBits, uptime: after, rows }, null, 2),
  );
} else {
  console.log(
    "| shape | M×N×K layout | threads | base GFLOP/s | new GFLOP/s | new/base | " +
      "base GFLOP/cpu-s | new GFLOP/cpu-s | new/base cpu |\n" +
      "| --- | --- | --: | --: | --: | --: | --: | --: | --: |",
  );
  for (const r of rows) {
    console.log(
      `| ${r.shape} | ${r.mnk} | ${r.threads} | ${r.baseGflops.toFixed(1)} | ` +
        `${r.newGflops.toFixed(1)} | ${r.ratio.toFixed(2)} | ${r.baseGflopsPerCpu.toFixed(1)} | ` +
        `${r.newGflopsPerCpu.toFixed(1)} | ${r.cpuRatio.toFixed(2)} |`,
    );
  }
  // The training step's GEMM time: every shape of a preset once (the squares excluded).
  for (let ti = 0; ti < THREADS.length; ti++) {
    for (const preset of ["tiny", "small"]) {
      const idx = SHAPES.map((s, i) => s.name.startsWith(preset) ? i : -1).filter((i) => i >= 0);
      if (idx.length === 0) continue;
      const flops = idx.reduce((t, i) => t + 2 * SHAPES[i].m * SHAPES[i].n * SHAPES[i].k, 0);
      const sum = (o: number) => idx.reduce((t, i) => t + median(ms[ti][i][o]), 0);
      console.log(
        `${preset} GEMMs above, ${THREADS[ti]} thread(s): base ${
          (flops / sum(0) / 1e6).toFixed(1)
        }` +
          ` GFLOP/s, new ${(flops / sum(1) / 1e6).toFixed(1)} GFLOP/s (${
            (sum(0) / sum(1)).toFixed(2)
          }×)`,
      );
    }
  }
  console.log(`uptime after: ${after}`);
}
