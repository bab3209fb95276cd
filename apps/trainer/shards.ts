/**
 * Token shards: the binary files `deno task prepare-data` writes and `deno task train` streams.
 *
 * A shard is a 64-byte little-endian header followed by its tokens (uint16 when the vocabulary
 * fits in 16 bits, else uint32), as llm.c's `.bin` files are:
 *
 * | offset | size | field                                   |
 * | -----: | ---: | --------------------------------------- |
 * |      0 |    8 | magic, the ASCII bytes `fp4ltok` and 0   |
 * |      8 |    4 | version (1)                             |
 * |     12 |    4 | bytes per token (2 or 4)                |
 * |     16 |    4 | vocabulary size                         |
 * |     20 |    4 | 0                                       |
 * |     24 |    8 | token count                             |
 * |     32 |   32 | 0                                       |
 *
 * @module
 */
import { createHash } from "node:crypto";
import { DataError, type TokenSource } from "./data.ts";

/** Header size in bytes. */
export const SHARD_HEADER_BYTES = 64;
/** The magic bytes a shard starts with. */
export const SHARD_MAGIC: Uint8Array = new Uint8Array([102, 112, 52, 108, 116, 111, 107, 0]);
/** The shard format version this code writes and reads. */
export const SHARD_VERSION = 1;

/** What a shard header says. */
export interface ShardHeader {
  /** 2 (uint16) or 4 (uint32) */
  readonly bytesPerToken: 2 | 4;
  /** vocabulary size of the tokenizer */
  readonly vocabSize: number;
  /** tokens in the shard */
  readonly tokens: number;
}

/**
 * Bytes per token for a vocabulary: 2 when every id fits in uint16, else 4.
 *
 * @param vocabSize the vocabulary size
 * @returns 2 or 4
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesPerToken } from "./shards.ts";
 * assert.equal(bytesPerToken(50257), 2);
 * assert.equal(bytesPerToken(128256), 4);
 * ```
 */
export function bytesPerToken(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

/**
 * Encodes a shard header.
 *
 * @param header the fields
 * @returns 64 bytes
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeShardHeader, encodeShardHeader } from "./shards.ts";
 * const h = { bytesPerToken: 2 as const, vocabSize: 50257, tokens: 1000 };
 * assert.deepEqual(decodeShardHeader(encodeShardHeader(h), "x.bin"), h);
 * ```
 */
export function encodeShardHeader(header: ShardHeader): Uint8Array {
  const out = new Uint8Array(SHARD_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out.set(SHARD_MAGIC, 0);
  view.setUint32(8, SHARD_VERSION, true);
  view.setUint32(12, header.bytesPerToken, true);
  view.setUint32(16, header.vocabSize, true);
  view.setBigUint64(24, BigInt(header.tokens), true);
  return out;
}

/**
 * Decodes and checks a shard header.
 *
 * @param bytes at least the first 64 bytes of the file
 * @param where the file, for messages
 * @returns the fields
 * @throws {DataError} when it is not a shard (magic), of another version, or inconsistent
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeShardHeader } from "./shards.ts";
 * assert.throws(() => decodeShardHeader(new Uint8Array(64), "x.bin"), /not a token shard/);
 * ```
 */
export function decodeShardHeader(bytes: Uint8Array, where: string): ShardHeader {
  if (bytes.length < SHARD_HEADER_BYTES) {
    throw new DataError(`${where}: ${bytes.length} bytes, shorter than a shard header (64)`);
  }
  if (!SHARD_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new DataError(`${where}: not a token shard (no fp4ltok magic)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const version = view.getUint32(8, true);
  if (version !== SHARD_VERSION) {
    throw new DataError(`${where}: shard version ${version}, this trainer reads ${SHARD_VERSION}`);
  }
  const width = view.getUint32(12, true);
  if (width !== 2 && width !== 4) {
    throw new DataError(`${where}: ${width} bytes per token (expected 2 or 4)`);
  }
  const vocabSize = view.getUint32(16, true);
  if (vocabSize < 1 || (width === 2 && vocabSize > 65536)) {
    throw new DataError(`${where}: vocabulary ${vocabSize} does not fit ${width}-byte tokens`);
  }
  const tokens = view.getBigUint64(24, true);
  if (tokens > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DataError(`${where}: token count ${tokens} is not plausible`);
  }
  return { bytesPerToken: width, vocabSize, tokens: Number(tokens) };
}

/** What a finished shard is: the manifest's entry for it. */
export interface ShardEntry {
  /** file name inside the data folder */
  readonly file: string;
  /** tokens in it */
  readonly tokens: number;
  /** file size in bytes (header included) */
  readonly bytes: number;
  /** SHA-256 of the whole file, hex */
  readonly sha256: string;
}

/** Writes one split's tokens as a sequence of shards. */
export interface ShardWriter {
  /** appends tokens (each must be below the vocabulary size) */
  push(ids: ArrayLike<number>): void;
  /** writes out what is buffered and finishes the last shard; returns every shard */
  finish(): ShardEntry[];
  /** tokens pushed so far */
  readonly tokens: number;
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/**
 * A shard writer for split `prefix` in folder `dir`: files `<prefix>-000000.bin`, … of at most
 * `shardTokens` tokens each. A shard is written as `<name>.tmp` (header last, then fsync) and
 * renamed when complete, so a shard file that exists is whole.
 *
 * @param dir the folder (exists)
 * @param prefix `train` or `val`
 * @param vocabSize vocabulary size (sets the token width)
 * @param shardTokens tokens per shard
 * @returns the writer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createShardWriter, readShard } from "./shards.ts";
 * const dir = await Deno.makeTempDir();
 * const w = createShardWriter(dir, "train", 300, 3);
 * w.push([1, 2, 299, 4]);
 * const shards = w.finish();
 * assert.deepEqual(shards.map((s) => s.tokens), [3, 1]);
 * assert.deepEqual(Array.from(readShard(`${dir}/${shards[0].file}`)), [1, 2, 299]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function createShardWriter(
  dir: string,
  prefix: string,
  vocabSize: number,
  shardTokens: number,
): ShardWriter {
  const width = bytesPerToken(vocabSize);
  const chunk = Math.min(shardTokens, 1 << 20);
  const buf = width === 2 ? new Uint16Array(chunk) : new Uint32Array(chunk);
  const bufBytes = new Uint8Array(buf.buffer);
  let filled = 0, total = 0;
  let file: Deno.FsFile | null = null, inShard = 0, index = 0;
  const shards: ShardEntry[] = [];
  const name = () => `${prefix}-${String(index).padStart(6, "0")}.bin`;
  const flush = () => {
    if (filled === 0) return;
    if (file === null) {
      file = Deno.openSync(`${dir}/${name()}.tmp`, { write: true, create: true, truncate: true });
      writeAll(file, new Uint8Array(SHARD_HEADER_BYTES)); // placeholder: the count comes last
    }
    const bytes = bufBytes.subarray(0, filled * width);
    writeAll(file, bytes);
    inShard += filled;
    filled = 0;
  };
  const close = () => {
    flush();
    if (file === null) return;
    const header = encodeShardHeader({ bytesPerToken: width, vocabSize, tokens: inShard });
    file.seekSync(0, Deno.SeekMode.Start);
    writeAll(file, header);
    file.syncSync();
    file.close();
    file = null;
    // The header (first in the file) is written last, so the digest reads the finished file
    // back; it is still in the page cache.
    const sha256 = fileSha256(`${dir}/${name()}.tmp`);
    Deno.renameSync(`${dir}/${name()}.tmp`, `${dir}/${name()}`);
    shards.push({
      file: name(),
      tokens: inShard,
      bytes: SHARD_HEADER_BYTES + inShard * width,
      sha256,
    });
    index++;
    inShard = 0;
  };
  return {
    get tokens() {
      return total;
    },
    push(ids) {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (!(id >= 0 && id < vocabSize)) {
          throw new RangeError(`token id ${id} is outside the vocabulary (${vocabSize})`);
        }
        buf[filled++] = id;
        total++;
        if (inShard + filled === shardTokens) close();
        else if (filled === chunk) flush();
      }
    },
    finish() {
      close();
      return shards;
    },
  };
}

/**
 * SHA-256 of a file, read in 8 MiB chunks (the file is never whole in memory).
 *
 * @param path the file
 * @returns hex digest
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileSha256 } from "./shards.ts";
 * const p = await Deno.makeTempFile();
 * assert.equal(fileSha256(p).slice(0, 8), "e3b0c442"); // the empty file
 * ```
 */
export function fileSha256(path: string): string {
  const hash = createHash("sha256");
  const file = Deno.openSync(path, { read: true });
  try {
    const buf = new Uint8Array(8 << 20);
    for (;;) {
      const n = file.readSync(buf);
      if (n === null || n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

function readFully(file: Deno.FsFile, buf: Uint8Array, where: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = file.readSync(buf.subarray(done));
    if (n === null || n === 0) throw new DataError(`${where}: ends early (truncated?)`);
    done += n;
  }
}

/**
 * Opens one shard after checking that its size matches its header.
 *
 * @param path the file
 * @returns its header and an open file
 * @throws {DataError} when it is missing, foreign, of another version, or truncated
 * @example
 * ```ts ignore
 * const { header, file } = openShard("data/x/train-000000.bin");
 * ```
 */
export function openShard(path: string): { header: ShardHeader; file: Deno.FsFile } {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (e) {
    throw new DataError(`${path}: cannot open (${(e as Error).message.split(":")[0]})`);
  }
  try {
    const size = file.statSync().size;
    const head = new Uint8Array(Math.min(SHARD_HEADER_BYTES, size));
    readFully(file, head, path);
    const header = decodeShardHeader(head, path);
    const want = SHARD_HEADER_BYTES + header.tokens * header.bytesPerToken;
    if (size !== want) {
      throw new DataError(
        `${path}: ${size} bytes, its header says ${header.tokens} tokens = ${want} bytes (${
          size < want ? "truncated" : "trailing bytes"
        })`,
      );
    }
    return { header, file };
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Reads a whole shard into memory (tests and small validation sets; training streams).
 *
 * @param path the file
 * @returns the tokens
 * @throws {DataError} as {@link openShard}
 * @example
 * ```ts ignore
 * const ids = readShard("data/x/val-000000.bin");
 * ```
 */
export function readShard(path: string): Uint16Array | Uint32Array {
  const { header, file } = openShard(path);
  try {
    const out = header.bytesPerToken === 2
      ? new Uint16Array(header.tokens)
      : new Uint32Array(header.tokens);
    readFully(file, new Uint8Array(out.buffer), path);
    return out;
  } finally {
    file.close();
  }
}

/** A {@link TokenSource} over shard files, with `close()` for its open files. */
export interface ShardSource extends TokenSource {
  /** closes the files */
  close(): void;
}

/**
 * A token stream over shards in order, read with positioned reads of just the tokens asked
 * for: memory stays the size of one window, whatever the corpus size.
 *
 * @param paths shard files in order
 * @returns the stream
 * @throws {DataError} when a shard is missing, foreign or truncated, or shards disagree on the
 *   token width or vocabulary
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createShardWriter, openShardSource } from "./shards.ts";
 * const dir = await Deno.makeTempDir();
 * const w = createShardWriter(dir, "train", 256, 4);
 * w.push([10, 11, 12, 13, 14, 15]);
 * const src = openShardSource(w.finish().map((s) => `${dir}/${s.file}`));
 * const out = new Int32Array(3);
 * src.read(3, out);
 * assert.deepEqual(Array.from(out), [13, 14, 15]);
 * src.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openShardSource(paths: string[]): ShardSource {
  const opened: { header: ShardHeader; file: Deno.FsFile; path: string }[] = [];
  try {
    for (const path of paths) opened.push({ ...openShard(path), path });
  } catch (e) {
    for (const o of opened) o.file.close();
    throw e;
  }
  const first = opened[0]?.header;
  for (const o of opened) {
    if (o.header.bytesPerToken !== first.bytesPerToken || o.header.vocabSize !== first.vocabSize) {
      for (const p of opened) p.file.close();
      throw new DataError(
        `${o.path}: ${o.header.bytesPerToken}-byte tokens of vocabulary ${o.header.vocabSize}, ` +
          `unlike ${opened[0].path} (${first.bytesPerToken}, ${first.vocabSize})`,
      );
    }
  }
  const starts: number[] = [];
  let length = 0;
  for (const o of opened) {
    starts.push(length);
    length += o.header.tokens;
  }
  const width = first?.bytesPerToken ?? 2;
  let scratch = new Uint8Array(0);
  return {
    length,
    vocabSize: first?.vocabSize ?? 0,
    read(start: number, out: Int32Array): void {
      const count = out.length;
      if (start < 0 || start + count > length) {
        throw new RangeError(`tokens [${start}, ${start + count}) outside [0, ${length})`);
      }
      if (scratch.length < count * width) scratch = new Uint8Array(count * width);
      // The shard holding `start`: the last one starting at or before it (binary search).
      let lo = 0, hi = opened.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= start) lo = mid;
        else hi = mid - 1;
      }
      let done = 0;
      for (let s = lo; done < count; s++) {
        const o = opened[s];
        const local = start + done - starts[s];
        const n = Math.min(count - done, o.header.tokens - local);
        if (n <= 0) continue;
        o.file.seekSync(SHARD_HEADER_BYTES + local * width, Deno.SeekMode.Start);
        const bytes = scratch.subarray(0, n * width);
        readFully(o.file, bytes, o.path);
        const view = new DataView(bytes.buffer, 0, n * width);
        if (width === 2) {
          for (let i = 0; i < n; i++) out[done + i] = view.getUint16(2 * i, true);
        } else for (let i = 0; i < n; i++) out[done + i] = view.getUint32(4 * i, true);
        done += n;
      }
    },
    close() {
      for (const o of opened) o.file.close();
    },
  };
}
