import assert from "node:assert/strict";
import { join } from "node:path";
import { DataError, sampleBatch } from "./data.ts";
import { createShardWriter, openShardSource, readShard, SHARD_HEADER_BYTES } from "./shards.ts";
import { openDataset } from "./dataset.ts";
import { prepareData } from "./prepare_data.ts";

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

Deno.test("shards: tokens written then read back are the same, across shard boundaries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const vocab of [256, 50257, 70000]) {
      const rand = lcg(vocab);
      const ids = Uint32Array.from({ length: 10_007 }, () => Math.floor(rand() * vocab));
      const w = createShardWriter(dir, `v${vocab}`, vocab, 1000);
      w.push(ids.subarray(0, 5000));
      w.push(ids.subarray(5000));
      const shards = w.finish();
      assert.equal(shards.length, 11);
      const width = vocab > 65536 ? 4 : 2;
      for (const s of shards) {
        assert.equal(Deno.statSync(join(dir, s.file)).size, SHARD_HEADER_BYTES + s.tokens * width);
      }
      const whole = shards.flatMap((s) => Array.from(readShard(join(dir, s.file))));
      assert.deepEqual(whole, Array.from(ids));
      // Positioned reads, including windows that straddle two shards.
      const src = openShardSource(shards.map((s) => join(dir, s.file)));
      assert.equal(src.length, ids.length);
      const out = new Int32Array(129);
      for (const start of [0, 871, 999, 1000, 5500, ids.length - 129]) {
        src.read(start, out);
        assert.deepEqual(Array.from(out), Array.from(ids.subarray(start, start + 129)));
      }
      assert.throws(() => src.read(ids.length - 10, out), RangeError);
      src.close();
    }
    assert.throws(() => createShardWriter(dir, "bad", 10, 5).push([10]), /outside the vocabulary/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shards: batches from a shard stream equal batches from the same tokens in memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const rand = lcg(3);
    const bytes = Uint8Array.from({ length: 20_000 }, () => Math.floor(rand() * 256));
    const w = createShardWriter(dir, "train", 256, 3001);
    w.push(bytes);
    const src = openShardSource(w.finish().map((s) => join(dir, s.file)));
    const a = [new Int32Array(8 * 32), new Int32Array(8 * 32)];
    const b = [new Int32Array(8 * 32), new Int32Array(8 * 32)];
    for (let step = 0; step < 20; step++) {
      sampleBatch(bytes, 8, 32, 7, step, a[0], a[1]);
      sampleBatch(src, 8, 32, 7, step, b[0], b[1]);
      assert.deepEqual(b, a);
    }
    src.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function prepared(dir: string): Promise<string> {
  const text = Array.from(
    { length: 40 },
    (_, i) => `Document ${i}. The jury said so.\n`.repeat(20),
  );
  await Deno.mkdir(join(dir, "in"));
  for (let i = 0; i < text.length; i++) {
    await Deno.writeTextFile(join(dir, "in", `d${String(i).padStart(2, "0")}.txt`), text[i]);
  }
  const out = join(dir, "data");
  await prepareData({
    inputs: [join(dir, "in", "*.txt")],
    tokenizer: "byte",
    out,
    valFraction: 0.1,
    shardTokens: 5000,
    textField: "text",
    force: false,
    progress: false,
  }, () => {});
  return out;
}

Deno.test("shards: a truncated, foreign, swapped or modified shard is refused with one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await prepared(dir);
    const d = openDataset(out);
    assert.equal(d.train.length + d.val.length, d.manifest.train.tokens + d.manifest.val.tokens);
    d.close();
    const shard = join(out, "train-000001.bin");
    const good = await Deno.readFile(shard);
    const refused = (re: RegExp) =>
      assert.throws(() => openDataset(out), (e) => {
        assert.ok(e instanceof DataError, String(e));
        assert.match(e.message, re);
        assert.ok(!e.message.includes("\n"));
        return true;
      });
    await Deno.writeFile(shard, good.subarray(0, good.length - 7));
    refused(
      /train-000001\.bin: \d+ bytes, its header says 5000 tokens = 10064 bytes \(truncated\)/,
    );
    await Deno.writeFile(shard, good.subarray(0, 30));
    refused(/shorter than a shard header/);
    await Deno.writeFile(shard, new TextEncoder().encode("x".repeat(good.length)));
    refused(/not a token shard/);
    // A whole, valid shard of another data set (other count): the manifest notices.
    await Deno.copyFile(join(out, "val-000000.bin"), shard);
    refused(/header says \d+ tokens of vocabulary 256, the manifest 5000/);
    // Same size and header, one token changed: only the SHA-256 tells.
    const flipped = good.slice();
    flipped[SHARD_HEADER_BYTES + 10] ^= 1;
    await Deno.writeFile(shard, flipped);
    refused(/SHA-256 differs/);
    await Deno.remove(shard);
    refused(/train-000001\.bin: cannot open/);
    await Deno.writeFile(shard, good);
    openDataset(out).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
