/**
 * The check that a `--data` file is what the docs promise: UTF-8 text. The model reads bytes, so
 * any file would train; but a binary file or another encoding given by mistake would train
 * silently on noise, so it is refused with the offset of the first byte that is not text.
 *
 * @module
 */

/**
 * The offset of the first byte that makes `bytes` not UTF-8 text (an invalid or truncated
 * sequence, an overlong form, a surrogate, or a NUL byte), or -1 when it is text.
 *
 * @param bytes the file's bytes
 * @returns the offset, or -1
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firstNonText } from "./utf8.ts";
 * assert.equal(firstNonText(new TextEncoder().encode("héllo")), -1);
 * assert.equal(firstNonText(new Uint8Array([104, 0xe9, 108])), 1); // Latin-1 é
 * assert.equal(firstNonText(new Uint8Array([104, 0, 105])), 1); // binary
 * ```
 */
export function firstNonText(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      if (b === 0) return i;
      i++;
      continue;
    }
    let need: number, min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= n) return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
