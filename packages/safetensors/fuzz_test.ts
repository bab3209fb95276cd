/**
 * Property-style fuzzing of the reader (issue 17): seeded random headers, byte flips and
 * truncations of valid files. Every input must either parse into views that lie inside the given
 * bytes, or fail with a one-line RangeError; nothing else (no TypeError, no hang, no allocation
 * past the file). Bounded in cases and in time, and replayable from the printed seed.
 */
import assert from "node:assert/strict";
import { seededRandom } from "../../tests/_util/random.ts";
import { DTYPE_SIZES, readSafetensors, tensorToFloat32, writeSafetensors } from "./mod.ts";
import type { SafetensorsDtype } from "./mod.ts";

const SEED = 17;
const MAX_CASES = 4000;
const MAX_MS = 4000;
const enc = new TextEncoder();
const DTYPES = Object.keys(DTYPE_SIZES) as SafetensorsDtype[];

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)];
}

/** A number a crafted header might hold: small, huge, negative, fractional or not a number. */
function wildNumber(rand: () => number): unknown {
  return pick(rand, [
    () => Math.floor(rand() * 8),
    () => Math.floor(rand() * 100_000),
    () => 2 ** Math.floor(rand() * 64),
    () => -1 - Math.floor(rand() * 10),
    () => rand() * 10,
    () => Number.MAX_SAFE_INTEGER,
    () => 1e300,
    () => "3",
    () => null,
  ])();
}

function validFile(rand: () => number): Uint8Array {
  const tensors: Record<string, { dtype: SafetensorsDtype; shape: number[]; data: Uint8Array }> =
    {};
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const dtype = pick(rand, DTYPES);
    const shape = Array.from({ length: Math.floor(rand() * 3) }, () => Math.floor(rand() * 5));
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Uint8Array(count * DTYPE_SIZES[dtype]).map(() => rand() * 256);
    tensors[`t${i}`] = { dtype, shape, data };
  }
  return writeSafetensors(tensors, rand() < 0.5 ? { format: "pt" } : undefined);
}

function craftedFile(rand: () => number): Uint8Array {
  const header: Record<string, unknown> = {};
  const n = Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const name = pick(rand, [`t${i}`, "__proto__", "constructor", "__metadata__", ""]);
    header[name] = pick(rand, [
      () => ({
        dtype: pick(rand, [...DTYPES, "F4", "X", 7]),
        shape: Array.from({ length: Math.floor(rand() * 4) }, () => wildNumber(rand)),
        data_offsets: [wildNumber(rand), wildNumber(rand)],
      }),
      () => ({ dtype: "F32", shape: [wildNumber(rand)], data_offsets: [0, wildNumber(rand)] }),
      () => ({ k: wildNumber(rand) }),
      () => [1, 2],
      () => wildNumber(rand),
    ])();
  }
  const json = enc.encode(JSON.stringify(header));
  const dataLength = Math.floor(rand() * 64);
  const out = new Uint8Array(8 + json.length + dataLength);
  const view = new DataView(out.buffer);
  // Mostly the true header length; sometimes a lie, up to 2^64 - 1.
  const lie = rand() < 0.2;
  view.setUint32(0, lie ? Math.floor(rand() * 2 ** 32) : json.length, true);
  view.setUint32(4, lie && rand() < 0.5 ? Math.floor(rand() * 2 ** 32) : 0, true);
  out.set(json, 8);
  return out;
}

function mutate(rand: () => number, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  switch (Math.floor(rand() * 3)) {
    case 0: // truncate
      return out.subarray(0, Math.floor(rand() * out.length));
    case 1: // flip a few bytes
      for (let k = 0; k < 1 + rand() * 3 && out.length > 0; k++) {
        out[Math.floor(rand() * out.length)] ^= 1 << Math.floor(rand() * 8);
      }
      return out;
    default: // append garbage
      return Uint8Array.from([
        ...out,
        ...Array.from({ length: 1 + rand() * 8 }, () => rand() * 256),
      ]);
  }
}

Deno.test(`fuzz: random headers, flips and truncations give a clean error or views inside the file (seed ${SEED})`, () => {
  const rand = seededRandom(SEED);
  const started = performance.now();
  let cases = 0, parsed = 0, refused = 0;
  while (cases < MAX_CASES && performance.now() - started < MAX_MS) {
    cases++;
    const kind = rand();
    const bytes = kind < 0.3
      ? validFile(rand)
      : kind < 0.6
      ? craftedFile(rand)
      : mutate(rand, kind < 0.8 ? validFile(rand) : craftedFile(rand));
    let file;
    try {
      file = readSafetensors(bytes);
    } catch (e) {
      assert.ok(e instanceof RangeError, `case ${cases}: ${e}`);
      assert.ok(!e.message.includes("\n") && e.message.length < 400, `case ${cases}: ${e.message}`);
      refused++;
      continue;
    }
    parsed++;
    let covered = 0;
    for (const t of Object.values(file.tensors)) {
      // A view into the given bytes: no copy, nothing past the end.
      assert.equal(t.data.buffer, bytes.buffer);
      assert.ok(t.data.byteOffset + t.data.byteLength <= bytes.byteOffset + bytes.byteLength);
      covered += t.data.byteLength;
      // Decoding allocates at most 4 bytes per element, and an element takes at least one byte.
      assert.equal(tensorToFloat32(t).length * DTYPE_SIZES[t.dtype], t.data.byteLength);
    }
    assert.ok(covered <= bytes.length, `case ${cases}: tensors claim more than the file`);
  }
  assert.ok(cases >= 200, `only ${cases} cases in ${MAX_MS} ms`);
  assert.ok(parsed > 0 && refused > 0, `parsed ${parsed}, refused ${refused}`);
});
