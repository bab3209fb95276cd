/**
 * `deno task eval` against an independent PyTorch LLaMA that reads the same checkpoint folder
 * with its own safetensors parser (tests/torch/eval_ref.py, float64): the losses agree to 1e-5
 * relative, the tensor names and shapes are exactly Hugging Face LlamaForCausalLM's for the
 * config.json fields, and greedy sampling picks the same bytes in both. When `transformers` is
 * importable the script also loads the folder with `LlamaForCausalLM.from_pretrained` and the
 * loss and its greedy continuation must agree with ours too. `.ci/run` installs torch and
 * transformers with pip (from the machine's local wheel mirror), falling back to Debian's
 * python3-torch: with CI=true a missing torch or transformers fails the test; elsewhere the
 * test is skipped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";
import { saveCheckpoint } from "../apps/trainer/checkpoint.ts";
import { PRESETS, RECIPES } from "@fp4lab/train";
import { trainRecipe } from "../apps/trainer/train.ts";
import { findTorchPython } from "./_util/torch.ts";

const ROOT = join(import.meta.dirname!, "..");
const SCRIPT = join(import.meta.dirname!, "torch", "eval_ref.py");

const python = findTorchPython();
const inCI = Deno.env.get("CI") === "true";

/** English-like text: seeded choices among a few sentences, so it is not one repeated line. */
function text(bytes: number, seed: number): Uint8Array {
  const parts = [
    "The jury said the case was closed. ",
    "The court met on Monday and heard the mayor. ",
    "It was a long day for the city. ",
    "He said that the election was fair, and they agreed. ",
    "Nobody knew what the vote would bring. ",
  ];
  const key = seedKey(seed);
  let s = "";
  for (let i = 0; s.length < bytes; i++) s += parts[Math.floor(uniformAt(key, i) * parts.length)];
  return new TextEncoder().encode(s.slice(0, bytes));
}

async function deno(name: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

Deno.test({
  name: "eval equals an independent PyTorch LLaMA on the same safetensors to 1e-5; HF names",
  ignore: python === null && !inCI,
  fn: async () => {
    if (python === null) {
      throw new Error("python3-torch is not installed: .ci/run must apt-get install it");
    }
    const dir = await Deno.makeTempDir({ prefix: "trainer_ckpt_torch_" });
    try {
      const config = PRESETS.smoke;
      const train = text(60_000, 1);
      const data = { source: "sentences", train, val: text(4000, 2), entropyRate: null };
      const folder = join(dir, "fp4");
      const settings = {
        preset: "smoke",
        recipe: "fp4",
        steps: 60,
        batch: 8,
        ranks: 1,
        lr: 1e-2,
        seed: 1,
        data: "sentences",
      };
      await trainRecipe(RECIPES.fp4, data, {
        config,
        steps: 60,
        batch: 8,
        ranks: 1,
        lr: 1e-2,
        seed: 1,
        evalPoints: 1,
        valWindows: 8,
        saveEvery: 60,
        onSave: (s) => saveCheckpoint(folder, config, RECIPES.fp4, settings, s),
      });
      const evalFile = join(dir, "eval.txt");
      await Deno.writeFile(evalFile, text(5000, 3));

      const ours = JSON.parse(
        await deno("eval", ["--checkpoint", folder, "--data", evalFile, "--json"]),
      );
      const greedy = JSON.parse(
        await deno("sample", [
          "--checkpoint",
          folder,
          "--prompt",
          "The jury",
          "--tokens",
          "40",
          "--temperature",
          "0",
          "--json",
        ]),
      );
      const r = await new Deno.Command(python, {
        args: [SCRIPT, folder, evalFile, "The jury", "40"],
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const ref = JSON.parse(new TextDecoder().decode(r.stdout));

      assert.deepEqual(ref.problems, [], "names, shapes and config fields of LlamaForCausalLM");
      assert.equal(ours.tokens, ref.tokens);
      assert.equal(ours.tokens, Math.floor(5000 / 16) * 15);
      assert.ok(ours.loss < Math.log(256) - 1, `trained: ${ours.loss}`);
      const rel = Math.abs(ours.loss - ref.loss) / ref.loss;
      assert.ok(rel <= 1e-5, `eval ${ours.loss} vs PyTorch ${ref.loss}: ${rel}`);
      assert.deepEqual(greedy.ids, ref.greedy, "greedy continuation");
      if (inCI) assert.notEqual(ref.hf_loss, null, "CI installs transformers (pip, local mirror)");
      if (ref.hf_loss !== null) {
        // The folder loads in transformers' LlamaForCausalLM with no conversion, gives the same
        // loss, and greedy sampling there continues the prompt with the same bytes as ours.
        assert.ok(Math.abs(ours.loss - ref.hf_loss) <= 1e-5 * ref.hf_loss, "transformers loss");
        assert.ok(ref.hf_greedy.length >= 8, "transformers generated a continuation");
        assert.deepEqual(
          greedy.ids.slice(0, ref.hf_greedy.length),
          ref.hf_greedy,
          "transformers greedy continuation",
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
