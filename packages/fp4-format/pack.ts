/**
 * Two 4-bit codes to a byte, low nibble first (the OCP / gpt-oss convention): element 2j is in
 * bits 0-3 of byte j, element 2j+1 in bits 4-7.
 *
 * @module
 */
import { checkOutLength } from "./_check.ts";

/**
 * Packs 4-bit codes two to a byte, low nibble first. An odd count leaves the last high nibble 0.
 *
 * @param codes codes in [0, 15]
 * @param out optional output of `ceil(codes.length / 2)` bytes
 * @returns the packed bytes
 * @throws {RangeError} for a code above 15 (naming its index) or a wrong-length `out`
 *
 * @example
 * ```ts
 * import { packNibbles } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.deepEqual(packNibbles(new Uint8Array([1, 2, 3])), new Uint8Array([0x21, 0x03]));
 * ```
 */
export function packNibbles(codes: Uint8Array, out?: Uint8Array): Uint8Array {
  const n = codes.length;
  const packed = out ?? new Uint8Array((n + 1) >> 1);
  checkOutLength("out", packed, (n + 1) >> 1);
  const pairs = n >> 1;
  let bad = 0;
  for (let j = 0; j < pairs; j++) {
    const lo = codes[2 * j];
    const hi = codes[2 * j + 1];
    bad |= lo | hi;
    packed[j] = lo | (hi << 4);
  }
  if (n & 1) {
    bad |= codes[n - 1];
    packed[pairs] = codes[n - 1];
  }
  if (bad > 15) {
    const index = codes.findIndex((c) => c > 15);
    throw new RangeError(`codes[${index}] must be in [0, 15], got ${codes[index]}`);
  }
  return packed;
}

/**
 * Unpacks `count` 4-bit codes from bytes packed low nibble first.
 *
 * @param packed the packed bytes
 * @param count how many codes to read (default: two per byte)
 * @param out optional output of `count` codes
 * @returns the codes
 * @throws {RangeError} when `count` needs more bytes than `packed` has, or `out` has the wrong
 *   length
 *
 * @example
 * ```ts
 * import { unpackNibbles } from "@fp4lab/fp4-format";
 * import assert from "node:assert/strict";
 * assert.deepEqual(unpackNibbles(new Uint8Array([0x21, 0x03]), 3), new Uint8Array([1, 2, 3]));
 * ```
 */
export function unpackNibbles(
  packed: Uint8Array,
  count: number = packed.length * 2,
  out?: Uint8Array,
): Uint8Array {
  if (!Number.isInteger(count) || count < 0 || (count + 1) >> 1 > packed.length) {
    throw new RangeError(
      `count must be an integer in [0, ${
        packed.length * 2
      }] for ${packed.length} bytes, got ${count}`,
    );
  }
  const codes = out ?? new Uint8Array(count);
  checkOutLength("out", codes, count);
  const pairs = count >> 1;
  for (let j = 0; j < pairs; j++) {
    const byte = packed[j];
    codes[2 * j] = byte & 15;
    codes[2 * j + 1] = byte >> 4;
  }
  if (count & 1) codes[count - 1] = packed[pairs] & 15;
  return codes;
}
