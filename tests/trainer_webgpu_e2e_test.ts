/**
 * `deno task train --device webgpu` end to end, as a user runs it, against `--device cpu`: the
 * same flags and seed give the same losses (fp32 within 1e-4 relative at every step; fp4 within
 * 5e-3, where lavapipe measured at most 2.2e-4 while two seeds differ by 2.6% per step on
 * average), the GPU run's checkpoint loads in `deno task eval` and, where PyTorch is installed
 * (always in CI), in an independent PyTorch LLaMA and transformers' LlamaForCausalLM. Runs in CI
 * on lavapipe (Mesa's software Vulkan); on a machine without any WebGPU adapter it is skipped
 * with a note outside CI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findTorchPython } from "./_util/torch.ts";

const ROOT = join(import.meta.dirname!, "..");
const SCRIPT = join(import.meta.dirname!, "torch", "eval_ref.py");
const inCI = Deno.env.get("CI") === "true";
const hasAdapter = await (async () => {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
})();
if (!hasAdapter && !inCI) {
  console.warn(
    "no WebGPU adapter: skipping the --device webgpu e2e test (apt-get install mesa-vulkan-drivers)",
  );
}

async function task(name: string, args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

function losses(csv: string): Map<string, { train: number; val: number | null }> {
  const out = new Map<string, { train: number; val: number | null }>();
  const [head, ...rows] = csv.trim().split("\n");
  const cols = head.split(",");
  const at = (name: string) => cols.indexOf(name);
  for (const row of rows) {
    const f = row.split(",");
    out.set(`${f[at("recipe")]} ${f[at("step")]}`, {
      train: Number(f[at("train_loss")]),
      val: f[at("val_loss")] === "" ? null : Number(f[at("val_loss")]),
    });
  }
  return out;
}

Deno.test({
  name:
    "e2e: train --device webgpu --preset smoke --steps 20 matches --device cpu; its checkpoint evaluates (and loads in transformers)",
  ignore: !hasAdapter && !inCI,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "trainer_webgpu_e2e_" });
    try {
      const common = [
        "--preset",
        "smoke",
        "--steps",
        "20",
        "--recipes",
        "fp32,fp4",
        "--data",
        "markov",
        "--save-every",
        "20",
        // The final validation over the default 1536 windows takes 18-40 s per recipe on
        // lavapipe; 192 windows compare the two devices just as well.
        "--val-windows",
        "192",
        "--json",
      ];
      const gpu = await task("train", [...common, "--device", "webgpu", "--out", join(dir, "gpu")]);
      assert.equal(gpu.code, 0, gpu.stderr);
      const cpu = await task("train", [...common, "--device", "cpu", "--out", join(dir, "cpu")]);
      assert.equal(cpu.code, 0, cpu.stderr);
      assert.match(JSON.parse(gpu.stdout).machine, /webgpu/);
      const g = losses(await Deno.readTextFile(join(dir, "gpu", "metrics.csv")));
      const c = losses(await Deno.readTextFile(join(dir, "cpu", "metrics.csv")));
      assert.equal(g.size, 40);
      let worstFp4 = 0;
      for (const [key, want] of c) {
        const got = g.get(key)!;
        const tol = key.startsWith("fp32") ? 1e-4 : 5e-3;
        const rel = Math.abs(got.train - want.train) / want.train;
        if (key.startsWith("fp4")) worstFp4 = Math.max(worstFp4, rel);
        assert.ok(rel <= tol, `${key}: train loss ${got.train} on webgpu vs ${want.train} on cpu`);
        if (want.val !== null) {
          assert.ok(Math.abs(got.val! - want.val) <= tol * want.val, `${key}: val loss`);
        }
      }
      console.log(`fp4: largest per-step relative loss difference webgpu vs cpu ${worstFp4}`);

      // The GPU run's checkpoints are ordinary checkpoints.
      const evalFile = join(dir, "eval.txt");
      await Deno.writeTextFile(evalFile, "The jury said the case was closed. ".repeat(40));
      const evals: number[] = [];
      for (const run of ["gpu", "cpu"]) {
        const e = await task("eval", [
          "--checkpoint",
          join(dir, run, "fp32"),
          "--data",
          evalFile,
          "--json",
        ]);
        assert.equal(e.code, 0, e.stderr);
        evals.push(JSON.parse(e.stdout).loss);
      }
      assert.ok(
        Math.abs(evals[0] - evals[1]) <= 1e-4 * evals[1],
        `eval ${evals[0]} vs ${evals[1]}`,
      );

      const python = findTorchPython();
      if (python === null) {
        assert.ok(!inCI, "CI installs PyTorch");
        return;
      }
      const folder = join(dir, "gpu", "fp4");
      const ours = await task("eval", ["--checkpoint", folder, "--data", evalFile, "--json"]);
      assert.equal(ours.code, 0, ours.stderr);
      const r = await new Deno.Command(python, {
        args: [SCRIPT, folder, evalFile, "The jury", "8"],
      })
        .output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const ref = JSON.parse(new TextDecoder().decode(r.stdout));
      assert.deepEqual(ref.problems, [], "names, shapes and config fields of LlamaForCausalLM");
      const loss = JSON.parse(ours.stdout).loss;
      assert.ok(
        Math.abs(loss - ref.loss) <= 1e-5 * ref.loss,
        `eval ${loss} vs PyTorch ${ref.loss}`,
      );
      if (inCI) assert.notEqual(ref.hf_loss, null, "CI installs transformers");
      if (ref.hf_loss !== null) {
        assert.ok(Math.abs(loss - ref.hf_loss) <= 1e-5 * ref.hf_loss, "transformers loss");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
