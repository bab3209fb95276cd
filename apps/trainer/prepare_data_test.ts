import assert from "node:assert/strict";
import { join } from "node:path";
import { PRESETS, RECIPES } from "@fp4lab/train";
import { DataError, loadBrown, loadTextFile } from "./data.ts";
import { openDataset } from "./dataset.ts";
import { newlineCut, prepareData, type PrepareOptions } from "./prepare_data.ts";
import { readShard } from "./shards.ts";
import { gpt2Tokenizer } from "./tokenizer.ts";
import { trainRecipe } from "./train.ts";

const quiet = () => {};

function options(inputs: string[], out: string, extra: Partial<PrepareOptions> = {}) {
  return {
    inputs,
    tokenizer: "byte",
    out,
    valFraction: 0.1,
    shardTokens: 4096,
    textField: "text",
    force: false,
    progress: false,
    ...extra,
  };
}

function tokensOf(dir: string, split: "train" | "val"): number[] {
  const m = JSON.parse(Deno.readTextFileSync(join(dir, "manifest.json")));
  return m[split].shards.flatMap((s: { file: string }) => Array.from(readShard(join(dir, s.file))));
}

/** English-like text from the Brown corpus, `bytes` long, lines intact. */
async function brownText(bytes: number): Promise<string> {
  const d = await loadBrown();
  return new TextDecoder().decode(d.train.subarray(0, bytes));
}

Deno.test("prepare-data: a single text file with the byte tokenizer trains exactly as --data FILE", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "corpus.txt");
    await Deno.writeTextFile(file, await brownText(30_011));
    const out = join(dir, "data");
    const r = await prepareData(options([file], out, { pieceBytes: 1000 }), quiet);
    assert.equal(r.manifest.valSplit, "tail");
    const direct = await loadTextFile(file);
    assert.deepEqual(tokensOf(out, "train"), Array.from(direct.train));
    assert.deepEqual(tokensOf(out, "val"), Array.from(direct.val));
    const shards = openDataset(out);
    const opts = {
      config: PRESETS.smoke,
      steps: 4,
      batch: 4,
      ranks: 1,
      lr: 3e-3,
      seed: 5,
      evalPoints: 2,
      valWindows: 32,
    };
    const a = await trainRecipe(RECIPES.fp32, direct, opts);
    const b = await trainRecipe(RECIPES.fp32, shards, opts);
    shards.close();
    assert.deepEqual(
      b.records.map((x) => [x.loss, x.valLoss]),
      a.records.map((x) => [x.loss, x.valLoss]),
    );
    assert.deepEqual(b.params, a.params);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepare-data: documents go to validation evenly; .jsonl lines are documents", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ text: `doc ${i}`, n: i }));
    await Deno.writeTextFile(join(dir, "a.jsonl"), lines.join("\n") + "\n\n");
    await Deno.writeTextFile(join(dir, "b.txt"), "file b");
    const out = join(dir, "data");
    const r = await prepareData(
      options([join(dir, "*.jsonl"), join(dir, "*.txt")], out, { valFraction: 0.2 }),
      quiet,
    );
    // Documents 4, 9, 14, 19, 24 of a.jsonl are validation; b.txt (document 25) training.
    const text = (ids: number[]) => new TextDecoder().decode(Uint8Array.from(ids));
    assert.equal(text(tokensOf(out, "val")), "doc 4\n\ndoc 9\n\ndoc 14\n\ndoc 19\n\ndoc 24");
    assert.ok(text(tokensOf(out, "train")).startsWith("doc 0\n\ndoc 1\n\ndoc 2\n\ndoc 3\n\ndoc 5"));
    assert.ok(text(tokensOf(out, "train")).endsWith("doc 23\n\nfile b"));
    assert.deepEqual(r.manifest.inputs.map((i) => i.documents), [25, 1]);
    assert.equal(r.manifest.val.documents, 5);
    assert.equal(r.manifest.valBytesPerToken, 1);
    assert.equal(r.manifest.inputs[0].sha256.length, 64);

    await Deno.writeTextFile(join(dir, "bad.jsonl"), '{"text": "ok"}\n{"txt": "no"}\n');
    await assert.rejects(
      () => prepareData(options([join(dir, "bad.jsonl")], join(dir, "x")), quiet),
      (e) => e instanceof DataError && /bad\.jsonl:2: no string field "text"/.test(e.message),
    );
    await assert.rejects(
      () => prepareData(options([join(dir, "nothing*.txt")], join(dir, "x")), quiet),
      /no file matches/,
    );
    await assert.rejects(() => prepareData(options([join(dir, "b.txt")], out), quiet), /--force/);
    await assert.rejects(
      () =>
        prepareData(options([join(dir, "a.jsonl")], join(dir, "y"), { valFraction: 0.01 }), quiet),
      /none falls in the validation split/,
    );
    // A failed run leaves neither the folder nor its .partial.
    assert.throws(() => Deno.statSync(join(dir, "y.partial")), Deno.errors.NotFound);
    assert.throws(() => Deno.statSync(join(dir, "y")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepare-data: gpt2 read in small pieces gives the ids of the whole text", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tok = await gpt2Tokenizer();
    const a = await brownText(60_000),
      b = "Second file.\n  Spaces,\ttabs\n\n\nand ünïcödé — 日本語.\n";
    await Deno.writeTextFile(join(dir, "a.txt"), a);
    await Deno.writeTextFile(join(dir, "b.txt"), b);
    const out = join(dir, "data");
    const r = await prepareData(
      options([join(dir, "*.txt")], out, { tokenizer: "gpt2", valFraction: 0.5, pieceBytes: 2000 }),
      quiet,
    );
    assert.deepEqual(tokensOf(out, "train"), Array.from(tok.encode(a)));
    assert.deepEqual(tokensOf(out, "val"), Array.from(tok.encode(b)));
    assert.equal(r.manifest.dtype, "uint16");
    assert.equal(r.manifest.tokenizer.vocabSize, 50257);
    assert.ok(Deno.statSync(join(out, "tokenizer.json")).isFile);
    // The cut rule itself: every safe cut of a Brown excerpt leaves the ids unchanged.
    const bytes = new TextEncoder().encode(a.slice(0, 20_000));
    const whole = Array.from(tok.encode(a.slice(0, 20_000)));
    const dec = new TextDecoder();
    let checked = 0;
    for (let limit = 500; limit < bytes.length; limit += 1500) {
      const cut = newlineCut(bytes, limit);
      if (cut < 0) continue;
      const pieces = [
        ...Array.from(tok.encode(dec.decode(bytes.subarray(0, cut)))),
        ...Array.from(tok.encode(dec.decode(bytes.subarray(cut)))),
      ];
      assert.deepEqual(pieces, whole, `cut at ${cut}`);
      checked++;
    }
    assert.ok(checked > 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
