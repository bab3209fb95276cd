/**
 * The trainer's LLaMA against an independent PyTorch LLaMA (tests/torch/llama_ref.py, float64
 * autograd): same weights, same batch, the loss and every parameter gradient must agree to 1e-4
 * relative. Needs Debian's python3-torch: in CI (CI=true) a missing torch fails the test; on a
 * developer machine without it the test is skipped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  backward,
  createModel,
  forward,
  initialParams,
  PRESETS,
  readGrads,
  RECIPES,
  writeParams,
} from "@fp4lab/train";
import { findTorchPython } from "./_util/torch.ts";

const SCRIPT = join(import.meta.dirname!, "torch", "llama_ref.py");

const python = findTorchPython();
const inCI = Deno.env.get("CI") === "true";

Deno.test({
  name: "trainer: smoke LLaMA loss and every gradient equal PyTorch autograd to 1e-4",
  ignore: python === null && !inCI,
  fn: async () => {
    if (python === null) {
      throw new Error("python3-torch is not installed: .ci/run must apt-get install it");
    }
    const config = PRESETS.smoke;
    const B = 2, T = config.contextLength;
    const model = createModel(config, RECIPES.fp32, B, { T });
    // Larger-than-init norms and weights so every path carries signal.
    const params = initialParams(model.layout, 7).map((x) => x * 3);
    writeParams(model, params);
    const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let i = 0; i < B * T; i++) {
      tokens[i] = (i * 37 + 11) % 256;
      targets[i] = (i * 53 + 5) % 256;
    }
    const loss = await forward(model, tokens, targets, { training: true });
    backward(model);
    const grads = await readGrads(model);

    const dir = await Deno.makeTempDir({ prefix: "trainer_torch_" });
    try {
      await Deno.writeFile(join(dir, "params.bin"), new Uint8Array(params.buffer));
      await Deno.writeTextFile(
        join(dir, "meta.json"),
        JSON.stringify({
          config,
          params: model.layout.params,
          B,
          T,
          tokens: Array.from(tokens),
          targets: Array.from(targets),
        }),
      );
      const r = await new Deno.Command(python, { args: [SCRIPT, dir] }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const ref = JSON.parse(await Deno.readTextFile(join(dir, "result.json")));
      const refGrads = new Float64Array((await Deno.readFile(join(dir, "grads.bin"))).buffer);
      assert.equal(refGrads.length, grads.length);
      assert.ok(
        Math.abs(loss - ref.loss) <= 1e-4 * Math.abs(ref.loss),
        `loss ${loss} vs ${ref.loss}`,
      );
      for (const p of model.layout.params) {
        let diff = 0, norm = 0, maxRef = 0, maxDiff = 0;
        for (let i = p.offset; i < p.offset + p.size; i++) {
          const d = grads[i] - refGrads[i];
          diff += d * d;
          norm += refGrads[i] * refGrads[i];
          maxRef = Math.max(maxRef, Math.abs(refGrads[i]));
          maxDiff = Math.max(maxDiff, Math.abs(d));
        }
        assert.ok(norm > 0, `${p.name}: reference gradient is zero`);
        const rel = Math.sqrt(diff / norm);
        assert.ok(rel <= 1e-4, `${p.name}: relative gradient error ${rel}`);
        assert.ok(maxDiff <= 1e-4 * maxRef, `${p.name}: max error ${maxDiff} vs max ${maxRef}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
