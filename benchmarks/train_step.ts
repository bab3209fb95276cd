/**
 * One training step (forward, backward, clipping, AdamW) of the trainer next to the same model
 * and batch in PyTorch on the CPU at the same thread count, measured side by side in one run:
 *
 * - fp32 recipe vs PyTorch f32 (target ≥ 0.5x PyTorch's tokens/s);
 * - fp4 recipe vs the paper-style fake-quant recipe in PyTorch (train_step_torch.py; target ≥ 1x);
 * - fp4 recipe step time / bf16 recipe step time (target ≤ 1.5x).
 *
 * usage: deno run -A benchmarks/train_step.ts [--presets tiny,small] [--steps N] [--batch B]
 *   [--threads T] (default: all cores, both sides) [--python python3,/usr/bin/python3]
 * Each interpreter in --python that imports torch is a peer: the pip CPU wheel (MKL / oneDNN) on
 * the PATH's python3 and Debian's python3-torch (generic BLAS) at /usr/bin/python3; without any,
 * only the trainer's own ratio is reported.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { presetByName, RECIPES, setThreads } from "@fp4lab/train";
import { markovSource } from "../apps/trainer/data.ts";
import { trainRecipe } from "../apps/trainer/train.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: "tiny" },
    steps: { type: "string", default: "4" },
    batch: { type: "string", default: "16" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency) },
    python: { type: "string", default: "python3,/usr/bin/python3" },
  },
});
const steps = Number(values.steps), batch = Number(values.batch), threads = Number(values.threads);
const data = markovSource(400_000, { seed: 1 });
setThreads(threads); // the kernel set's pool; PyTorch gets torch.set_num_threads(threads)

// Mean seconds of steps 2..steps+1 (step 1 warms the JIT; the last step also validates).
async function ours(recipe: string, preset: string): Promise<number> {
  const r = await trainRecipe(RECIPES[recipe], data, {
    config: presetByName(preset),
    steps: steps + 2,
    batch,
    ranks: 1,
    lr: 1e-3,
    seed: 1,
    evalPoints: 1,
    valWindows: batch,
  });
  return (r.records[steps].elapsed - r.records[0].elapsed) / steps;
}

function torch(
  python: string,
  recipe: string,
  preset: string,
): { step_s: number; torch: string } | null {
  try {
    const r = new Deno.Command(python, {
      args: [
        join(import.meta.dirname!, "train_step_torch.py"),
        JSON.stringify(presetByName(preset)),
        recipe,
        String(batch),
        String(steps),
        String(threads),
      ],
      stderr: "inherit",
    }).outputSync();
    if (!r.success) return null;
    return JSON.parse(new TextDecoder().decode(r.stdout));
  } catch {
    return null;
  }
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
console.log(`CPU: ${cpu}; ${threads} thread(s) each side; batch ${batch}; ${steps} timed steps`);
for (const preset of values.presets!.split(",")) {
  const T = presetByName(preset).contextLength;
  const tok = (s: number) => Math.round((batch * T) / s);
  const f32 = await ours("fp32", preset), bf16 = await ours("bf16", preset);
  const fp4 = await ours("fp4", preset);
  console.log(`\n${preset}: tokens/s  fp32 ${tok(f32)}  bf16 ${tok(bf16)}  fp4 ${tok(fp4)}`);
  console.log(`  fp4 / bf16 step time: ${(fp4 / bf16).toFixed(2)}x (target <= 1.5x)`);
  let peers = 0;
  for (const python of values.python!.split(",")) {
    const tf32 = torch(python, "fp32", preset), tfp4 = torch(python, "fp4", preset);
    if (!tf32 || !tfp4) continue;
    peers++;
    console.log(
      `  PyTorch ${tf32.torch} (${python}): f32 ${tok(tf32.step_s)}, fake-quant fp4 ${
        tok(tfp4.step_s)
      }`,
    );
    console.log(
      `    fp32 vs PyTorch f32: ${(tf32.step_s / f32).toFixed(2)}x tokens/s (target >= 0.5x)`,
    );
    console.log(
      `    fp4 vs PyTorch fake-quant fp4: ${(tfp4.step_s / fp4).toFixed(2)}x (target >= 1.0x)`,
    );
  }
  if (peers === 0) console.log("  PyTorch not available (no --python with torch): no peer ratios");
}
