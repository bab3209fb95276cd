import assert from "node:assert/strict";
import { join } from "node:path";
import { DataError } from "./data.ts";
import {
  byteTokenizer,
  gpt2Tokenizer,
  gpt2TokenizerJson,
  loadTokenizer,
  tokenizerFiles,
  tokenizerFromFile,
} from "./tokenizer.ts";

/** A fixed text with what trips byte-level BPE: contractions, runs of spaces, digits, unicode. */
const FIXED_TEXT = "The jury said it didn't find any evidence. We're 100% sure, they'll " +
  "say.\n\n  Indented   spaces\tand tabs;\r\nCRLF line. Ünïcödé: naïve café — 日本語 🤖!\n" +
  "Numbers 1234567 and 3.14159, URLs https://example.com/a?b=c#d, code `x += 1;`\n";

Deno.test("tokenizer: gpt2 and the tokenizer.json a gpt2 checkpoint ships agree, on known ids", async () => {
  const gpt2 = await gpt2Tokenizer();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "tokenizer.json"), await gpt2TokenizerJson());
    const hf = tokenizerFromFile(join(dir, "tokenizer.json"));
    assert.equal(hf.vocabSize, 50257);
    const ids = Array.from(gpt2.encode(FIXED_TEXT));
    assert.deepEqual(Array.from(hf.encode(FIXED_TEXT)), ids);
    assert.equal(gpt2.decode(ids), FIXED_TEXT);
    assert.equal(hf.decode(ids), FIXED_TEXT);
    // Ids anyone can check against tiktoken's gpt2 / transformers' GPT2Tokenizer.
    assert.deepEqual(Array.from(gpt2.encode("Hello world! It's 2024.")), [
      15496,
      995,
      0,
      632,
      338,
      48609,
      13,
    ]);
    // Text spelling the special token is ordinary text for the data pipeline.
    assert.ok(!Array.from(gpt2.encode("a <|endoftext|> b")).includes(50256));
    assert.deepEqual(gpt2.separator, [50256]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokenizer: names, files for checkpoints, bad --tokenizer values", async () => {
  assert.equal((await loadTokenizer("byte")).vocabSize, 256);
  assert.equal(byteTokenizer().decode(byteTokenizer().encode("héllo")), "héllo");
  assert.equal(await tokenizerFiles(byteTokenizer(), 128), null);
  const files = (await tokenizerFiles(await gpt2Tokenizer(), 128))!;
  assert.equal(JSON.parse(files["tokenizer_config.json"]).model_max_length, 128);
  assert.equal(JSON.parse(files["tokenizer.json"]).model.type, "BPE");
  await assert.rejects(() => loadTokenizer("gpt5"), /expected byte, gpt2 or a path/);
  await assert.rejects(() => loadTokenizer("/nonexistent/tokenizer.json"), DataError);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "tokenizer.json"), "{ nope");
    await assert.rejects(() => loadTokenizer(join(dir, "tokenizer.json")), /not JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
