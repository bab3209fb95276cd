import assert from "node:assert/strict";
import {
  checkDataset,
  DataError,
  lossStatistics,
  markovSource,
  sampleBatch,
  stripBrownTags,
  validationBatches,
  validationWindowStarts,
} from "./data.ts";

Deno.test("data: Brown tags are stripped and tokenisation undone", () => {
  const text = stripBrownTags(
    "\n\n\tThe/at jury/nn said/vbd ``/`` it/pps did/dod n't/* ''/'' ,/, (/( 1/2/cd )/) ./.\n",
  );
  assert.equal(text, 'The jury said "it didn\'t", (1/2).');
});

Deno.test("data: the Markov source's empirical conditional entropy matches its entropy rate", () => {
  const d = markovSource(400_000, { alphabet: 8, fanout: 3, seed: 5 });
  const S = 8;
  const counts = new Float64Array(S * S);
  const all = new Uint8Array([...d.train, ...d.val]);
  for (let i = 0; i + 1 < all.length; i++) counts[(all[i] - 97) * S + (all[i + 1] - 97)]++;
  let h = 0, n = 0;
  for (let s = 0; s < S; s++) {
    let row = 0;
    for (let t = 0; t < S; t++) row += counts[s * S + t];
    for (let t = 0; t < S; t++) {
      const c = counts[s * S + t];
      if (c > 0) h -= c * Math.log(c / row);
    }
    n += row;
  }
  assert.ok(d.entropyRate! > 0.3 && d.entropyRate! < Math.log(3));
  assert.ok(Math.abs(h / n - d.entropyRate!) < 0.01, `${h / n} vs ${d.entropyRate}`);
  assert.equal(markovSource(1000, { alphabet: 4, fanout: 1, seed: 1 }).entropyRate, 0);
});

Deno.test("data: batches are windows of the stream, reproducible per (seed, step)", () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  const t1 = new Int32Array(8),
    y1 = new Int32Array(8),
    t2 = new Int32Array(8),
    y2 = new Int32Array(8);
  sampleBatch(bytes, 2, 4, 3, 7, t1, y1);
  sampleBatch(bytes, 2, 4, 3, 7, t2, y2);
  assert.deepEqual(t1, t2);
  for (let i = 0; i < 8; i++) assert.equal(y1[i], (t1[i] + 1) % 251);
  sampleBatch(bytes, 2, 4, 3, 8, t2, y2);
  assert.notDeepEqual(t1, t2);
  const v = validationBatches(bytes, 2, 9, 1000);
  assert.equal(v.length, 50);
  assert.deepEqual(Array.from(v[0].tokens.subarray(9, 12)), [10, 11, 12]);
});

Deno.test("data: too little data is a DataError naming the split", () => {
  const d = { source: "x", train: new Uint8Array(10), val: new Uint8Array(100), entropyRate: null };
  assert.throws(
    () => checkDataset(d, 2, 8),
    (e) => e instanceof DataError && /training split/.test(e.message),
  );
  const v = { source: "x", train: new Uint8Array(100), val: new Uint8Array(3), entropyRate: null };
  assert.throws(() => checkDataset(v, 2, 8), /validation split/);
});

Deno.test("data: validation windows are spread evenly over the whole split, fixed per data set", () => {
  const starts = validationWindowStarts(100_000, 127, 64);
  assert.equal(starts.length, 64);
  assert.equal(starts[0], 0);
  // n = 781 windows; the last chosen one is in the last 2% of the split.
  assert.ok(starts[63] > 98_000 && starts[63] + 128 <= 100_000, `${starts[63]}`);
  const gaps = starts.slice(1).map((s, i) => s - starts[i]);
  assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 128);
  assert.deepEqual(validationWindowStarts(100_000, 127, 64), starts);
  // A stream gives the same batches as the same tokens in memory.
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 256);
  const stream = {
    length: bytes.length,
    vocabSize: 256,
    read: (start: number, out: Int32Array) => out.set(bytes.subarray(start, start + out.length)),
  };
  assert.deepEqual(validationBatches(stream, 4, 31, 40), validationBatches(bytes, 4, 31, 40));
  const s = lossStatistics([2, 2.2, 1.8, 2]);
  assert.ok(Math.abs(s.mean - 2) < 1e-12);
  assert.ok(Math.abs(s.standardError - Math.sqrt(0.08 / 3 / 4)) < 1e-12);
});
