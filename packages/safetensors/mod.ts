/**
 * `@fp4lab/safetensors`: a small, runtime-neutral reader and writer for the
 * [safetensors](https://github.com/huggingface/safetensors) format, with the FP8 dtype tags
 * (`F8_E4M3`, `F8_E5M2`, `F8_E8M0`) that low-precision checkpoints use.
 *
 * The format: 8 bytes little-endian u64 N, N bytes of UTF-8 JSON header (padded with spaces),
 * then the data buffer. The header maps each tensor name to `{ dtype, shape, data_offsets }` plus
 * an optional `__metadata__` object of strings. The reader checks every length, dtype, shape and
 * offset against the bytes it was given before it hands out a view, so a crafted or truncated file
 * gets a one-line `RangeError` and never makes it allocate more than the file holds.
 *
 * @example
 * ```ts
 * import { readSafetensors, tensorToFloat32, writeSafetensors } from "@fp4lab/safetensors";
 * import assert from "node:assert/strict";
 * const bytes = writeSafetensors(
 *   { "model.norm.weight": { dtype: "F32", shape: [2], data: new Float32Array([1, 0.5]) } },
 *   { format: "pt" },
 * );
 * const file = readSafetensors(bytes);
 * assert.equal(file.metadata.format, "pt");
 * assert.deepEqual(tensorToFloat32(file.tensors["model.norm.weight"]), new Float32Array([1, 0.5]));
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./read.ts";
export * from "./write.ts";
export * from "./convert.ts";
