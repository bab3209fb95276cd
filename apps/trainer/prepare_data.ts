/**
 * `deno task prepare-data --input 'corpus/**\/*.txt' --tokenizer gpt2 --out data/mycorpus`:
 * tokenizes text files (.txt: one document each; .jsonl: one document per line, its `text`
 * field) into token shards (shards.ts) with a held-out validation split and a manifest, reading
 * and writing in pieces so memory stays flat whatever the corpus size. Exit 0 done, 2 bad input
 * (one line), 1 internal error.
 *
 * @module
 */
import { globSync } from "node:fs";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { extname, join } from "node:path";
import { DataError } from "./data.ts";
import { failureStatus, UsageError } from "./cli.ts";
import { formatDuration } from "./progress.ts";
import { createShardWriter, type ShardEntry, type ShardWriter } from "./shards.ts";
import { loadTokenizer, type TextTokenizer, tokenizerFiles } from "./tokenizer.ts";
import { DATASET_FORMAT, DATASET_VERSION, type DatasetManifest, MANIFEST_FILE } from "./dataset.ts";

/** Settings of one preparation. */
export interface PrepareOptions {
  /** glob patterns (or plain paths) of .txt / .jsonl files */
  inputs: string[];
  /** `byte`, `gpt2` or a tokenizer.json path */
  tokenizer: string;
  /** output folder */
  out: string;
  /** fraction of documents (or of a single file's bytes) held out for validation */
  valFraction: number;
  /** tokens per shard */
  shardTokens: number;
  /** the JSON field of a .jsonl line that holds the text */
  textField: string;
  /** replace an existing prepared folder */
  force: boolean;
  /** progress bar on stderr */
  progress: boolean;
  /** bytes read and tokenized at a time (default 4 MiB; small in tests) */
  pieceBytes?: number;
}

/** What a finished preparation reports. */
export interface PrepareResult {
  /** the output folder */
  out: string;
  /** the manifest written there */
  manifest: DatasetManifest;
  /** wall-clock seconds */
  seconds: number;
  /** input megabytes (1e6 bytes) per second */
  mbPerSecond: number;
}

const PIECE_BYTES = 4 << 20;
const MAX_PIECE_BYTES = 64 << 20;

/** ASCII printable and not a space: around such bytes no byte-level BPE token spans a "\n". */
function isPlainAscii(b: number): boolean {
  return b > 0x20 && b < 0x7f;
}

/**
 * The last point at or before `limit` just after a "\n" that follows a printable ASCII
 * character and precedes one, or -1. A byte-level BPE tokenizer (GPT-2's regex pre-tokenizer)
 * gives the same ids for text cut there as for the whole: no pre-token spans such a point
 * (letter, digit and punctuation runs exclude "\n"; whitespace runs exclude the printable
 * neighbours), and the lone "\n" is its own pre-token on both sides.
 *
 * @param bytes UTF-8 text
 * @param limit cut at or before this index
 * @returns the cut index, or -1
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newlineCut } from "./prepare_data.ts";
 * const bytes = new TextEncoder().encode("one.\ntwo \nthree");
 * assert.equal(newlineCut(bytes, bytes.length), 5); // after "one.\n"; "two \n" ends in a space
 * ```
 */
export function newlineCut(bytes: Uint8Array, limit: number): number {
  for (let p = Math.min(limit, bytes.length - 1); p >= 2; p--) {
    if (bytes[p - 1] === 10 && isPlainAscii(bytes[p - 2]) && isPlainAscii(bytes[p])) return p;
  }
  return -1;
}

/** The last UTF-8 character boundary at or before `limit` (a text with no safe line break). */
function charCut(bytes: Uint8Array, limit: number): number {
  for (let p = Math.min(limit, bytes.length); p > 0; p--) {
    if (p === bytes.length || (bytes[p] & 0xc0) !== 0x80) return p;
  }
  return 0;
}

interface Split {
  writer: ShardWriter;
  documents: number;
  textBytes: number;
}

/** Feeds one document's text, piece by piece, into a split. */
interface DocumentSink {
  begin(split: Split): void;
  piece(bytes: Uint8Array, where: string): void;
}

function createSink(tok: TextTokenizer, separatorBytes: number): DocumentSink {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let current: Split | null = null;
  return {
    begin(split) {
      if (split.documents > 0) {
        split.writer.push(tok.separator);
        split.textBytes += separatorBytes;
      }
      split.documents++;
      current = split;
    },
    piece(bytes, where) {
      const split = current!;
      split.textBytes += bytes.length;
      if (tok.kind === "byte") {
        split.writer.push(bytes);
        return;
      }
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        throw new DataError(`${where}: not UTF-8 text`);
      }
      split.writer.push(tok.encode(text));
    },
  };
}

function readInto(file: Deno.FsFile, buf: Uint8Array): number {
  let done = 0;
  while (done < buf.length) {
    const n = file.readSync(buf.subarray(done));
    if (n === null || n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Streams bytes [from, to) of an open file in pieces cut where tokenization is unaffected
 * (any byte for the byte tokenizer), calling `onPiece` for each; every byte read also goes
 * through `onRead` (the input's SHA-256 and the progress bar).
 */
function streamRange(
  file: Deno.FsFile,
  from: number,
  to: number,
  pieceBytes: number,
  anyCut: boolean,
  onPiece: (bytes: Uint8Array) => void,
  onRead: (bytes: Uint8Array) => void,
): void {
  file.seekSync(from, Deno.SeekMode.Start);
  let carry = new Uint8Array(0);
  let pos = from;
  while (pos < to || carry.length > 0) {
    const want = Math.min(pieceBytes, to - pos);
    const buf = new Uint8Array(carry.length + want);
    buf.set(carry);
    const got = readInto(file, buf.subarray(carry.length));
    onRead(buf.subarray(carry.length, carry.length + got));
    pos += got;
    const data = buf.subarray(0, carry.length + got);
    const atEnd = pos >= to || got < want;
    if (atEnd) {
      if (data.length > 0) onPiece(data);
      return;
    }
    let cut = anyCut ? data.length : newlineCut(data, data.length - 1);
    // No safe point yet: read on, up to MAX_PIECE_BYTES, then cut at a character boundary.
    if (cut < 0) {
      cut = data.length < Math.max(MAX_PIECE_BYTES, 16 * pieceBytes)
        ? 0
        : charCut(data, data.length - 1);
    }
    if (cut > 0) onPiece(data.subarray(0, cut));
    carry = data.slice(cut);
  }
}

/**
 * Expands the `--input` patterns into .txt and .jsonl files, sorted, without duplicates.
 *
 * @param patterns glob patterns or paths
 * @returns the files
 * @throws {DataError} when a pattern matches nothing, or matches a file of another kind
 * @example
 * ```ts ignore
 * expandInputs(["corpus/**\/*.txt"]);
 * ```
 */
export function expandInputs(patterns: string[]): string[] {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const matches = /[*?[{]/.test(pattern) ? globSync(pattern) : [pattern];
    const found = matches.filter((m) => {
      try {
        return Deno.statSync(m).isFile;
      } catch {
        return false;
      }
    });
    if (found.length === 0) throw new DataError(`--input ${pattern}: no file matches`);
    for (const f of found) {
      const ext = extname(f).toLowerCase();
      if (ext !== ".txt" && ext !== ".jsonl") {
        throw new DataError(`--input ${pattern} matches ${f}: only .txt and .jsonl files are read`);
      }
      files.add(f);
    }
  }
  return [...files].sort();
}

function createBar(totalBytes: number, enabled: boolean) {
  const t0 = performance.now();
  const tty = enabled && Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let done = 0, lastPrinted = -1;
  const line = () => {
    const s = (performance.now() - t0) / 1000;
    const frac = totalBytes > 0 ? done / totalBytes : 1;
    const cells = Math.round(frac * 24);
    const rate = done / 1e6 / Math.max(s, 1e-9);
    return `prepare-data [${"█".repeat(cells)}${" ".repeat(24 - cells)}] ${
      (done / 1e6).toFixed(1)
    }/${(totalBytes / 1e6).toFixed(1)} MB ${rate.toFixed(2)} MB/s ETA ${
      formatDuration(rate > 0 ? (totalBytes - done) / 1e6 / rate : NaN)
    }`;
  };
  return {
    add(n: number) {
      done += n;
      if (!enabled) return;
      if (tty) Deno.stderr.writeSync(enc.encode(`\r${line()}`));
      else {
        const tenth = Math.floor((10 * done) / Math.max(1, totalBytes));
        if (tenth !== lastPrinted) {
          lastPrinted = tenth;
          console.error(line());
        }
      }
    },
    done() {
      if (tty) Deno.stderr.writeSync(enc.encode(`\r${line()}\n`));
    },
  };
}

function writeTextAtomic(path: string, text: string): void {
  const file = Deno.openSync(`${path}.tmp`, { write: true, create: true, truncate: true });
  try {
    const bytes = new TextEncoder().encode(text);
    let done = 0;
    while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(`${path}.tmp`, path);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Tokenizes the inputs into `options.out`. Everything is written into `<out>.partial/` and the
 * folder renamed to `<out>` when the manifest is in, so `<out>` is either absent or complete; a
 * `<out>.partial/` left by a killed run is removed and the work restarts from the beginning.
 *
 * Document i (counted over all inputs in sorted order) is validation when
 * floor((i+1)·f) > floor(i·f), f = `valFraction`: every (1/f)-th document, spread evenly. A
 * single .txt input is one document: then its last f of bytes is validation (as
 * `deno task train --data FILE.txt` holds out its last 10%), cut exactly for the byte tokenizer
 * and at the next safe line start ({@link newlineCut}) for BPE.
 *
 * @param options the settings
 * @param log where notes go (stderr)
 * @returns the manifest and the throughput
 * @throws {DataError} for bad input (one line)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prepareData } from "./prepare_data.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "hello world, ".repeat(100));
 * const r = await prepareData({
 *   inputs: [`${dir}/a.txt`], tokenizer: "byte", out: `${dir}/data`, valFraction: 0.1,
 *   shardTokens: 1000, textField: "text", force: false, progress: false,
 * });
 * assert.deepEqual([r.manifest.train.tokens, r.manifest.val.tokens], [1170, 130]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function prepareData(
  options: PrepareOptions,
  log: (line: string) => void = console.error,
): Promise<PrepareResult> {
  const t0 = performance.now();
  const f = options.valFraction;
  if (!(f > 0 && f < 1)) throw new DataError(`--val-fraction must be in (0, 1), got ${f}`);
  const tok = await loadTokenizer(options.tokenizer);
  const files = expandInputs(options.inputs);
  const out = options.out.replace(/\/+$/, "");
  const partial = `${out}.partial`;
  if (exists(out) && !options.force) {
    throw new DataError(
      `--out ${out} already exists (pass --force to replace it)`,
    );
  }
  if (exists(partial)) {
    log(`prepare-data: removing ${partial}, left unfinished by an earlier run; starting over`);
    Deno.removeSync(partial, { recursive: true });
  }
  Deno.mkdirSync(partial, { recursive: true });

  const sizes = files.map((p) => Deno.statSync(p).size);
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const bar = createBar(totalBytes, options.progress);
  const separatorBytes = tok.kind === "byte" ? tok.separator.length : 0;
  const splits: Record<"train" | "val", Split> = {
    train: {
      writer: createShardWriter(partial, "train", tok.vocabSize, options.shardTokens),
      documents: 0,
      textBytes: 0,
    },
    val: {
      writer: createShardWriter(partial, "val", tok.vocabSize, options.shardTokens),
      documents: 0,
      textBytes: 0,
    },
  };
  const sink = createSink(tok, separatorBytes);
  const anyCut = tok.kind === "byte";
  const piece = options.pieceBytes ?? PIECE_BYTES;
  const single = files.length === 1 && extname(files[0]).toLowerCase() === ".txt";
  let docIndex = 0;
  const nextSplit = () => {
    const i = docIndex++;
    return Math.floor((i + 1) * f) > Math.floor(i * f) ? splits.val : splits.train;
  };
  const inputs: DatasetManifest["inputs"] = [];
  for (let k = 0; k < files.length; k++) {
    const path = files[k];
    const hash = createHash("sha256");
    const onRead = (bytes: Uint8Array) => {
      hash.update(bytes);
      bar.add(bytes.length);
    };
    const file = Deno.openSync(path, { read: true });
    const docsBefore = docIndex;
    try {
      if (single) {
        let cut = Math.floor(sizes[k] * (1 - f));
        if (!anyCut && cut >= 2) {
          // Move the cut forward to the first point where tokenization is unaffected.
          const look = new Uint8Array(Math.min(1 << 20, sizes[k] - cut + 2));
          file.seekSync(cut - 2, Deno.SeekMode.Start);
          const window = look.subarray(0, readInto(file, look));
          let p = -1;
          for (let q = 2; q < window.length && p < 0; q++) {
            if (window[q - 1] === 10 && isPlainAscii(window[q - 2]) && isPlainAscii(window[q])) {
              p = q;
            }
          }
          if (p < 0) { for (p = 2; p < window.length && (window[p] & 0xc0) === 0x80;) p++; }
          cut = cut - 2 + p;
        }
        const where = path;
        sink.begin(splits.train);
        streamRange(file, 0, cut, piece, anyCut, (b) => sink.piece(b, where), onRead);
        sink.begin(splits.val);
        streamRange(file, cut, sizes[k], piece, anyCut, (b) => sink.piece(b, where), onRead);
        docIndex = 2;
      } else if (extname(path).toLowerCase() === ".txt") {
        if (sizes[k] > 0) {
          sink.begin(nextSplit());
          streamRange(file, 0, sizes[k], piece, anyCut, (b) => sink.piece(b, path), onRead);
        }
      } else {
        readJsonl(file, path, options.textField, piece, onRead, (text, line) => {
          if (text.length === 0) return;
          sink.begin(nextSplit());
          sink.piece(new TextEncoder().encode(text), `${path}:${line}`);
        });
      }
    } finally {
      file.close();
    }
    inputs.push({
      path,
      bytes: sizes[k],
      sha256: hash.digest("hex"),
      documents: single ? 1 : docIndex - docsBefore,
    });
  }
  bar.done();
  const shards: Record<"train" | "val", ShardEntry[]> = {
    train: splits.train.writer.finish(),
    val: splits.val.writer.finish(),
  };
  for (const name of ["train", "val"] as const) {
    if (splits[name].writer.tokens === 0) {
      Deno.removeSync(partial, { recursive: true });
      throw new DataError(
        name === "val"
          ? `${docIndex} documents: none falls in the validation split at --val-fraction ${f} ` +
            `(every ${Math.round(1 / f)}th document is held out); raise it or add documents`
          : `the inputs hold no text for the training split`,
      );
    }
  }
  // A BPE data set carries its tokenizer, so encoding --val-data text and writing checkpoints
  // need nothing but the folder.
  const hfFiles = await tokenizerFiles(tok, 1024);
  for (const [name, text] of Object.entries(hfFiles ?? {})) {
    writeTextAtomic(join(partial, name), text);
  }
  const tokenizerFile = hfFiles ? "tokenizer.json" : null;
  const seconds = (performance.now() - t0) / 1000;
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    tokenizer: {
      kind: tok.kind,
      name: tok.kind === "tokenizer.json" ? "tokenizer.json" : tok.name,
      source: tok.name,
      vocabSize: tok.vocabSize,
      sha256: tok.sha256,
      separator: [...tok.separator],
      file: tokenizerFile,
    },
    dtype: tok.vocabSize <= 65536 ? "uint16" : "uint32",
    valFraction: f,
    valSplit: single ? "tail" : "documents",
    inputs,
    train: {
      tokens: splits.train.writer.tokens,
      documents: splits.train.documents,
      textBytes: splits.train.textBytes,
      shards: shards.train,
    },
    val: {
      tokens: splits.val.writer.tokens,
      documents: splits.val.documents,
      textBytes: splits.val.textBytes,
      shards: shards.val,
    },
    valBytesPerToken: splits.val.textBytes / splits.val.writer.tokens,
    seconds,
  };
  writeTextAtomic(join(partial, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  if (exists(out)) Deno.removeSync(out, { recursive: true }); // --force
  Deno.renameSync(partial, out);
  return { out, manifest, seconds, mbPerSecond: totalBytes / 1e6 / seconds };
}

function readJsonl(
  file: Deno.FsFile,
  path: string,
  field: string,
  pieceBytes: number,
  onRead: (bytes: Uint8Array) => void,
  onDocument: (text: string, line: number) => void,
): void {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const buf = new Uint8Array(pieceBytes);
  let rest = "", line = 0;
  const handle = (text: string) => {
    line++;
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new DataError(`${path}:${line}: not a JSON line`);
    }
    const t = (value as Record<string, unknown> | null)?.[field];
    if (typeof t !== "string") {
      throw new DataError(`${path}:${line}: no string field "${field}" (see --text-field)`);
    }
    onDocument(t, line);
  };
  for (;;) {
    const n = readInto(file, buf);
    if (n === 0) break;
    onRead(buf.subarray(0, n));
    let chunk: string;
    try {
      chunk = decoder.decode(buf.subarray(0, n), { stream: true });
    } catch {
      throw new DataError(`${path}: not UTF-8 text`);
    }
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const l of lines) handle(l);
    if (n < buf.length) break;
  }
  rest += decoder.decode();
  if (rest.length > 0) handle(rest);
}

/** The `--help` text. */
export const PREPARE_HELP =
  `deno task prepare-data --input GLOB [--input GLOB ...] --out DIR [flags]

Tokenizes text into binary token shards for deno task train --data DIR: .txt files are one
document each, .jsonl files one document per line (its "text" field). Documents are separated by
the tokenizer's end-of-text token (gpt2: <|endoftext|>; byte: "\\n\\n"). Every (1/f)-th document
is held out for validation (a single .txt file: its last f of bytes). Writes DIR/train-NNNNNN.bin,
DIR/val-NNNNNN.bin (64-byte header, then uint16 tokens, uint32 for vocabularies over 65536),
DIR/manifest.json (inputs with SHA-256, token counts, tokenizer, shards with SHA-256) and, for BPE,
DIR/tokenizer.json. Work goes to DIR.partial/, renamed to DIR when done: a killed run leaves no
DIR, and the next run starts over.

  --input GLOB        files to read (quote it: 'corpus/**/*.txt'); repeatable
  --out DIR           output folder (must not exist unless --force)
  --tokenizer T       byte (default), gpt2, or a path to a Hugging Face tokenizer.json
  --val-fraction F    fraction held out for validation (default 0.1)
  --shard-tokens N    tokens per shard file (default 100000000)
  --text-field NAME   the field of a .jsonl line holding the text (default text)
  --force             replace DIR if it exists
  --json              print the manifest and throughput as JSON on stdout
  --help              this text

Exit status: 0 done, 2 bad input (one line on stderr), 1 internal error.`;

/**
 * Runs `deno task prepare-data`.
 *
 * @param args command-line arguments
 * @returns the exit status
 * @example
 * ```ts ignore
 * Deno.exit(await prepareMain(Deno.args));
 * ```
 */
export async function prepareMain(args: string[]): Promise<number> {
  try {
    let v;
    try {
      v = parseArgs({
        args,
        strict: true,
        allowPositionals: false,
        options: {
          input: { type: "string", multiple: true },
          out: { type: "string" },
          tokenizer: { type: "string" },
          "val-fraction": { type: "string" },
          "shard-tokens": { type: "string" },
          "text-field": { type: "string" },
          force: { type: "boolean" },
          json: { type: "boolean" },
          help: { type: "boolean" },
        },
      }).values;
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split("\n")[0]} (see --help)`);
    }
    if (v.help) {
      console.log(PREPARE_HELP);
      return 0;
    }
    if (!v.input || v.input.length === 0) throw new UsageError("--input GLOB is required");
    if (!v.out || v.out.trim() === "") throw new UsageError("--out DIR is required");
    const fraction = v["val-fraction"] === undefined ? 0.1 : Number(v["val-fraction"]);
    if (!(fraction > 0 && fraction < 1)) {
      throw new UsageError(`--val-fraction must be in (0, 1), got "${v["val-fraction"]}"`);
    }
    const shardText = v["shard-tokens"] ?? "100000000";
    const shardTokens = Number(shardText);
    if (!/^\d+$/.test(shardText) || !Number.isSafeInteger(shardTokens) || shardTokens < 1) {
      throw new UsageError(`--shard-tokens must be a positive integer, got "${shardText}"`);
    }
    const r = await prepareData({
      inputs: v.input,
      tokenizer: v.tokenizer ?? "byte",
      out: v.out,
      valFraction: fraction,
      shardTokens,
      textField: v["text-field"] ?? "text",
      force: v.force ?? false,
      progress: true,
    });
    const m = r.manifest;
    if (v.json) {
      console.log(JSON.stringify({ out: r.out, mbPerSecond: r.mbPerSecond, manifest: m }));
    } else {
      const inBytes = m.inputs.reduce((a, i) => a + i.bytes, 0);
      console.log(
        `${r.out}: ${m.inputs.length} files, ${
          (inBytes / 1e6).toFixed(1)
        } MB -> ${m.train.tokens} ` +
          `training tokens (${m.train.documents} documents, ${m.train.shards.length} shards) + ` +
          `${m.val.tokens} validation tokens (${m.val.documents} documents); tokenizer ` +
          `${m.tokenizer.name} (vocabulary ${m.tokenizer.vocabSize}), ${
            m.valBytesPerToken.toFixed(3)
          } bytes/token; ${r.seconds.toFixed(1)} s, ${r.mbPerSecond.toFixed(2)} MB/s`,
      );
    }
    return 0;
  } catch (e) {
    return failureStatus("prepare-data", e, (err) => err instanceof DataError);
  }
}

if (import.meta.main) Deno.exit(await prepareMain(Deno.args));
