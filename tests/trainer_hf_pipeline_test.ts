/**
 * A checkpoint folder works in Hugging Face `transformers` as it is: `AutoTokenizer` encodes text
 * to the trainer's byte ids and back, and `pipeline("text-generation", model=folder)` continues a
 * prompt with exactly the bytes `deno task sample --temperature 0` gives (greedy, for as long as
 * the sequence fits the context). The run is made with the CLI, as a user makes it. With CI=true
 * a missing torch or transformers fails the test; elsewhere it is skipped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { findTorchPython } from "./_util/torch.ts";

const ROOT = join(import.meta.dirname!, "..");
const SCRIPT = join(import.meta.dirname!, "torch", "hf_pipeline_ref.py");
const inCI = Deno.env.get("CI") === "true";

function transformersPython(): string | null {
  const py = findTorchPython();
  if (py === null) return null;
  const r = new Deno.Command(py, { args: ["-c", "import transformers"], stderr: "null" })
    .outputSync();
  return r.success ? py : null;
}

const python = transformersPython();

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
  name: "checkpoint folder: AutoTokenizer and pipeline('text-generation') equal deno task sample",
  ignore: python === null && !inCI,
  fn: async () => {
    assert.ok(python !== null, "CI installs torch and transformers (.ci/run)");
    const dir = await Deno.makeTempDir({ prefix: "trainer_hf_pipeline_" });
    try {
      const sentences = [
        "The jury said the case was closed. ",
        "The court met on Monday and heard the mayor. ",
        "It was a long day for the city. ",
      ];
      let text = "";
      for (let i = 0; text.length < 40_000; i++) text += sentences[(i * 7 + (i >> 2)) % 3];
      const data = join(dir, "data.txt");
      await Deno.writeTextFile(data, text);
      const out = join(dir, "run");
      await deno("train", [
        "--preset",
        "smoke",
        "--recipes",
        "fp4",
        "--steps",
        "40",
        "--batch",
        "8",
        "--lr",
        "0.01",
        "--data",
        data,
        "--out",
        out,
        "--json",
      ]);
      const folder = join(out, "fp4");
      const manifest = JSON.parse(await Deno.readTextFile(join(folder, "checkpoint.json")));
      for (const f of ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]) {
        assert.ok(manifest.files[f], `${f} is not in the manifest`);
      }
      const card = await Deno.readTextFile(join(folder, "README.md"));
      assert.ok(manifest.files["README.md"], "the model card is in the manifest");
      assert.match(card, /^---\nlicense: mit\n/);
      assert.match(card, /deno task train --preset smoke --recipes fp4 --steps 40 --batch 8/);
      assert.match(
        card,
        /training loss \(mean of the last 10% of steps\) \| \d\.\d{4} nats per byte/,
      );

      const prompt = "The jury";
      const probe = "Zürich, 3 €";
      const r = await new Deno.Command(python!, {
        args: [SCRIPT, folder, prompt, probe],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const hf = JSON.parse(new TextDecoder().decode(r.stdout));

      assert.deepEqual(hf.encoded, Array.from(new TextEncoder().encode(probe)), "ids = bytes");
      assert.equal(hf.roundtrip, probe);
      assert.equal(hf.max_new, 16 - prompt.length);
      const ours = JSON.parse(
        await deno("sample", [
          "--checkpoint",
          folder,
          "--prompt",
          prompt,
          "--new-tokens",
          String(hf.max_new),
          "--temperature",
          "0",
          "--json",
        ]),
      );
      assert.deepEqual(hf.ids, [...new TextEncoder().encode(prompt), ...ours.ids]);
      const bytes = new Uint8Array([...new TextEncoder().encode(prompt), ...ours.ids]);
      assert.equal(hf.text, new TextDecoder().decode(bytes));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
