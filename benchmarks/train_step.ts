/**
 * One training step (forward, backward, clipping, AdamW) of the trainer next to the same model
 * and batch in PyTorch on the CPU at the same thread count, measured side by side in one run,
 * in interleaved rounds (ours, then each peer, then ours again ...), reporting medians:
 *
 * - fp32 recipe vs PyTorch f32 (target ≥ 0.45x PyTorch's tokens/s);
 * - fp4 recipe vs the paper-style fake-quant recipe in PyTorch (train_step_torch.py; target ≥ 2x);
 * - fp4 recipe step time / bf16 recipe step time (target ≤ 1.15x).
 *
 * Ours runs on the resident `cpu` backend (every tensor in the kernels' WebAssembly memory) and,
 * with `--backends resident,host`, also on the host-array backend. PyTorch runs as written in
 * train_step_torch.py (explicit attention) and, as a user would write it, with
 * `scaled_dot_product_attention` ("sdpa"); `--torch-compile` adds torch.compile variants.
 *
 * The load average (os.loadavg) is printed before and after: on a shared machine the ratios mean
 * something only when it stays below the thread count. The spread of PyTorch's step times
 * (max / median) shows when its OpenMP threads were disturbed.
 *
 * usage: deno run -A benchmarks/train_step.ts [--presets tiny,small] [--steps N] [--batch B]
 *   [--rounds R] [--threads T] (default: all cores, both sides) [--python python3,/usr/bin/python3]
 *   [--backends resident,host] [--torch-compile]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadavg } from "node:os";
import {
  type Backend,
  createHostCpuBackend,
  createTrainer,
  createWasmBackend,
  presetByName,
  RECIPES,
  setThreads,
} from "@fp4lab/train";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: "tiny" },
    steps: { type: "string", default: "4" },
    batch: { type: "string", default: "16" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    python: { type: "string", default: "python3,/usr/bin/python3" },
    backends: { type: "string", default: "resident" },
    "torch-compile": { type: "boolean", default: false },
  },
});
const steps = Number(values.steps), batch = Number(values.batch), threads = Number(values.threads);
const rounds = Number(values.rounds);
setThreads(threads); // the kernel set's pool; PyTorch gets torch.set_num_threads(threads)

const BACKENDS: Record<string, () => Backend> = {
  resident: () => createWasmBackend(),
  host: createHostCpuBackend,
};
const backends = values.backends!.split(",").map((name) => {
  if (!BACKENDS[name]) {
    console.error(`train_step: unknown backend ${name} (resident, host)`);
    Deno.exit(2);
  }
  return name;
});

// Median seconds of steps 2..steps+1 of the engine's trainer (step 1 warms the JIT), on byte
// batches from a fixed pseudo-random stream (what a step costs does not depend on them).
async function ours(recipe: string, preset: string, backend: string): Promise<number> {
  const be = BACKENDS[backend]();
  const config = presetByName(preset), T = config.contextLength;
  const trainer = createTrainer({
    config,
    recipe: RECIPES[recipe],
    batch,
    lr: 1e-3,
    steps: steps + 1,
    seed: 1,
    backend: be,
  });
  const tokens = new Int32Array(batch * T), targets = new Int32Array(batch * T);
  let x = 12345;
  const times: number[] = [];
  for (let s = 0; s <= steps; s++) {
    for (let i = 0; i < tokens.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      tokens[i] = x >>> 24;
      targets[i] = (x >>> 16) & 255;
    }
    const t0 = performance.now();
    await trainer.trainStep(tokens, targets);
    if (s > 0) times.push((performance.now() - t0) / 1000);
  }
  trainer.dispose();
  be.dispose();
  return median(times);
}

interface PeerResult {
  step_s: number;
  step_times: number[];
  torch: string;
}

function torch(
  python: string,
  recipe: string,
  preset: string,
  attention: string,
  compiled: boolean,
): PeerResult | null {
  try {
    const r = new Deno.Command(python, {
      args: [
        join(import.meta.dirname!, "train_step_torch.py"),
        JSON.stringify(presetByName(preset)),
        recipe,
        String(batch),
        String(steps),
        String(threads),
        attention,
        compiled ? "1" : "0",
      ],
      stderr: "inherit",
    }).outputSync();
    if (!r.success) return null;
    return JSON.parse(new TextDecoder().decode(r.stdout));
  } catch {
    return null;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const cpu = (() => {
  try {
    return Deno.readTextFileSync("/proc/cpuinfo").split("\n").find((l) =>
      l.startsWith("model name")
    )?.split(":")[1].trim() ?? "?";
  } catch {
    return "?";
  }
})();
const load = () => loadavg().map((x) => x.toFixed(2)).join(", ");
console.log(
  `CPU: ${cpu}; ${threads} thread(s) each side; batch ${batch}; ${steps} timed steps; ` +
    `${rounds} interleaved rounds (medians); load average ${load()}`,
);
const peers: { python: string; attention: string; compiled: boolean }[] = [];
// Interpreters without torch are left out with one line (the default list has two guesses).
const hasTorch = (python: string): boolean => {
  try {
    const r = new Deno.Command(python, { args: ["-c", "import torch"], stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
};
for (const python of values.python!.split(",")) {
  if (!hasTorch(python)) {
    console.log(`  ${python}: no torch there, left out`);
    continue;
  }
  for (const attention of ["manual", "sdpa"]) {
    peers.push({ python, attention, compiled: false });
    if (values["torch-compile"]) peers.push({ python, attention, compiled: true });
  }
}
for (const preset of values.presets!.split(",")) {
  const T = presetByName(preset).contextLength;
  const tok = (s: number) => Math.round((batch * T) / s);
  const mine: Record<string, Record<string, number[]>> = {};
  const theirs = new Map<string, { f32: number[]; fp4: number[]; spread: number; torch: string }>();
  for (let round = 0; round < rounds; round++) {
    for (const backend of backends) {
      mine[backend] ??= { fp32: [], bf16: [], fp4: [] };
      for (const recipe of ["fp32", "bf16", "fp4"]) {
        mine[backend][recipe].push(await ours(recipe, preset, backend));
      }
    }
    for (const p of peers) {
      const key = `${p.python} ${p.attention}${p.compiled ? " compiled" : ""}`;
      const f32 = torch(p.python, "fp32", preset, p.attention, p.compiled);
      const fp4 = torch(p.python, "fp4", preset, p.attention, p.compiled);
      if (!f32 || !fp4) continue;
      const e = theirs.get(key) ?? { f32: [], fp4: [], spread: 1, torch: f32.torch };
      e.f32.push(f32.step_s);
      e.fp4.push(fp4.step_s);
      for (const r of [f32, fp4]) {
        e.spread = Math.max(e.spread, Math.max(...r.step_times) / median(r.step_times));
      }
      theirs.set(key, e);
    }
  }
  for (const backend of backends) {
    const [f32, bf16, fp4] = ["fp32", "bf16", "fp4"].map((r) => median(mine[backend][r]));
    console.log(
      `\n${preset} (${backend} backend): tokens/s  fp32 ${tok(f32)}  bf16 ${tok(bf16)}  fp4 ${
        tok(fp4)
      }`,
    );
    console.log(`  fp4 / bf16 step time: ${(fp4 / bf16).toFixed(2)}x (target <= 1.15x)`);
    for (const [key, e] of theirs) {
      const tf32 = median(e.f32), tfp4 = median(e.fp4);
      console.log(
        `  PyTorch ${e.torch} (${key}): f32 ${tok(tf32)}, fake-quant fp4 ${tok(tfp4)} tokens/s` +
          ` (step-time spread max/median ${e.spread.toFixed(2)}${
            e.spread > 1.3 ? ": its OpenMP threads were disturbed" : ""
          })`,
      );
      console.log(
        `    fp32 vs PyTorch f32: ${(tf32 / f32).toFixed(2)}x tokens/s (target >= 0.45x)`,
      );
      console.log(
        `    fp4 vs PyTorch fake-quant fp4: ${(tfp4 / fp4).toFixed(2)}x (target >= 2.0x)`,
      );
    }
  }
  if (theirs.size === 0) {
    console.log("  PyTorch not available (no --python with torch): no peer ratios");
  }
}
console.log(`\nload average after: ${load()}`);
