// Code lookup for values that already lie on a format's grid (the output of fp4-format's
// quantize). This is not rounding: a grid value of an ExMy format with m ≤ 7 mantissa bits is
// fully determined by the sign, exponent and top m mantissa bits of its f32 pattern, so one table
// indexed by `bits >>> (23 - m)` gives its code. It replaces a per-element bit-field decode in the
// hot loop.
import { codeTable, type FloatFormat } from "@fp4lab/fp4-format";

const lookups = new WeakMap<FloatFormat, Uint8Array>();
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The table from `f32bits >>> (23 - mantissaBits)` to code, for a signed format of ≤ 8 bits. */
export function gridCodeLookup(format: FloatFormat): Uint8Array {
  let table = lookups.get(format);
  if (table) return table;
  const m = format.mantissaBits;
  table = new Uint8Array(2 ** (9 + m));
  const values = codeTable(format);
  // Walk codes from high to low so that, where two codes share a value (none do for finite
  // values; NaN codes are never looked up), the lower code wins.
  for (let code = values.length - 1; code >= 0; code--) {
    const v = values[code];
    if (v !== v) continue;
    scratch[0] = v;
    table[scratchBits[0] >>> (23 - m)] = code;
  }
  lookups.set(format, table);
  return table;
}
