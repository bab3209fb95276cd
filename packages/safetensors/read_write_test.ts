import assert from "node:assert/strict";
import {
  DTYPE_SIZES,
  float32Tensor,
  readSafetensors,
  type SafetensorsDtype,
  tensorToFloat32,
  writeSafetensors,
} from "./mod.ts";

const enc = new TextEncoder();

/** A file from a header object and a data buffer, written by hand (no writer involved). */
function handMade(header: unknown, data: number[] | Uint8Array, pad = 0): Uint8Array {
  const json = enc.encode(JSON.stringify(header) + " ".repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("reads a hand-made file: offsets, shapes, metadata, scalar, empty tensor", () => {
  const bytes = handMade(
    {
      __metadata__: { format: "pt" },
      b: { dtype: "F32", shape: [], data_offsets: [2, 6] },
      a: { dtype: "U8", shape: [2], data_offsets: [0, 2] },
      e: { dtype: "I64", shape: [0, 3], data_offsets: [6, 6] },
    },
    [7, 9, 0, 0, 0xc0, 0x3f],
    5,
  );
  const file = readSafetensors(bytes);
  assert.deepEqual(file.metadata, { format: "pt" });
  assert.deepEqual(Object.keys(file.tensors), ["a", "b", "e"], "in data order");
  assert.deepEqual(Array.from(file.tensors.a.data), [7, 9]);
  assert.deepEqual(file.tensors.b.shape, []);
  assert.deepEqual(tensorToFloat32(file.tensors.b), new Float32Array([1.5]));
  assert.equal(file.tensors.e.data.length, 0);
  assert.equal(file.tensors.a.data.buffer, bytes.buffer, "data are views, not copies");
});

Deno.test("the writer produces the reference layout: sorted by dtype size then name, 8-byte header", () => {
  const bytes = writeSafetensors({
    z8: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },
    b32: { dtype: "F32", shape: [1], data: new Float32Array([2]) },
    a32: { dtype: "I32", shape: [2], data: new Int32Array([-1, 5]) },
    h: { dtype: "BF16", shape: [1], data: new Uint16Array([0x3f80]) },
  });
  const headerLength = new DataView(bytes.buffer).getUint32(0, true);
  assert.equal(headerLength % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  assert.deepEqual(Object.keys(header), ["a32", "b32", "h", "z8"]);
  assert.deepEqual(header.a32.data_offsets, [0, 8]);
  assert.deepEqual(header.b32.data_offsets, [8, 12]);
  assert.deepEqual(header.h.data_offsets, [12, 14]);
  assert.deepEqual(header.z8.data_offsets, [14, 17]);
  const file = readSafetensors(bytes);
  assert.deepEqual(tensorToFloat32(file.tensors.a32), new Float32Array([-1, 5]));
  assert.deepEqual(tensorToFloat32(file.tensors.h), new Float32Array([1]));
  for (const t of Object.values(file.tensors)) {
    assert.equal(t.data.byteOffset % DTYPE_SIZES[t.dtype], 0, "every tensor is aligned");
  }
});

Deno.test("every dtype round-trips and decodes to the right values", () => {
  const cases: [SafetensorsDtype, ArrayBufferView, number[]][] = [
    ["BOOL", new Uint8Array([0, 1, 2]), [0, 1, 1]],
    ["U8", new Uint8Array([0, 255]), [0, 255]],
    ["I8", new Int8Array([-128, 127]), [-128, 127]],
    ["F8_E4M3", new Uint8Array([0x7e, 0x38, 0xfe, 0x7f]), [448, 1, -448, NaN]],
    ["F8_E5M2", new Uint8Array([0x7b, 0x3c, 0x7c]), [57344, 1, Infinity]],
    ["F8_E8M0", new Uint8Array([0x7f, 0x00, 0xfe, 0xff]), [1, 2 ** -127, 2 ** 127, NaN]],
    ["U16", new Uint16Array([65535]), [65535]],
    ["I16", new Int16Array([-32768]), [-32768]],
    ["F16", new Uint16Array([0x3c00, 0x7bff, 0x0001, 0xfc00]), [1, 65504, 2 ** -24, -Infinity]],
    ["BF16", new Uint16Array([0x3f80, 0xc040, 0x7f80]), [1, -3, Infinity]],
    ["U32", new Uint32Array([4294967295]), [4294967296]],
    ["I32", new Int32Array([-7]), [-7]],
    ["F32", new Float32Array([0.1, -0]), [Math.fround(0.1), -0]],
    ["U64", new BigUint64Array([2n ** 40n]), [2 ** 40]],
    ["I64", new BigInt64Array([-5n]), [-5]],
    ["F64", new Float64Array([1e300]), [Infinity]],
  ];
  const input = Object.fromEntries(
    cases.map(([dtype, data, expected]) => [dtype, { dtype, shape: [expected.length], data }]),
  );
  const file = readSafetensors(writeSafetensors(input));
  for (const [dtype, data, expected] of cases) {
    const t = file.tensors[dtype];
    assert.deepEqual(t.data, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dtype);
    assert.deepEqual(Array.from(tensorToFloat32(t)), expected.map(Math.fround), dtype);
  }
});

Deno.test("float32Tensor stores F32, F16 and BF16 with nearest-even rounding", () => {
  // 1 + 2^-11 is a tie in FP16 (rounds to even 1); 3e-8 lies just above half of FP16's 2^-24.
  const x = new Float32Array([1, -2.5, 1 + 2 ** -11, 70000, 3e-8]);
  assert.deepEqual(tensorToFloat32(float32Tensor(x, [5])), x);
  const half = tensorToFloat32(float32Tensor(x, [5], "F16"));
  assert.deepEqual(Array.from(half), [1, -2.5, 1, Infinity, 2 ** -24]);
  const bf = tensorToFloat32(float32Tensor(x, [5], "BF16"));
  assert.deepEqual(Array.from(bf.subarray(0, 4)), [1, -2.5, 1, 70144]);
  assert.throws(() => float32Tensor(x, [4]), /values must be a Float32Array of 4 elements/);
  assert.throws(() => float32Tensor(x, [5], "F8" as "F16"), /dtype must be "F32", "F16" or "BF16"/);
});

Deno.test("a file inside a larger buffer reads correctly", () => {
  const inner = writeSafetensors({
    w: { dtype: "F32", shape: [2], data: new Float32Array([3, 4]) },
  });
  const outer = new Uint8Array(inner.length + 3);
  outer.set(inner, 3);
  assert.deepEqual(
    tensorToFloat32(readSafetensors(outer.subarray(3)).tensors.w),
    new Float32Array([3, 4]),
  );
});

Deno.test("malformed files get errors that say what is wrong", () => {
  const ok = { a: { dtype: "U8", shape: [2], data_offsets: [0, 2] } };
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/],
    [
      (() => {
        const b = handMade(ok, [1, 2]);
        new DataView(b.buffer).setUint32(0, 1000, true);
        return b;
      })(),
      /header length 1000 runs past the end/,
    ],
    [
      (() => {
        const b = handMade(ok, [1, 2]);
        new DataView(b.buffer).setUint32(4, 1, true);
        return b;
      })(),
      /header length 4294967\d+ runs past the end/,
    ],
    [handMade("not an object", []), /must be a JSON object/],
    [
      (() => {
        const b = handMade(ok, [1, 2]);
        b[9] = 0xff;
        return b;
      })(),
      /not valid UTF-8/,
    ],
    [
      (() => {
        const b = handMade(ok, [1, 2]);
        b[b.length - 3] = 0x2c; // break the closing brace
        return b;
      })(),
      /not valid JSON/,
    ],
    [
      handMade({ a: { dtype: "F4", shape: [4], data_offsets: [0, 2] } }, [1, 2]),
      /dtype must be one of.*sub-byte/,
    ],
    [
      handMade({ a: { dtype: "Q8", shape: [2], data_offsets: [0, 2] } }, [1, 2]),
      /tensor "a": dtype must be one of/,
    ],
    [
      handMade({ a: { dtype: "U8", shape: [-2], data_offsets: [0, 2] } }, [1, 2]),
      /shape entries must be non-negative integers/,
    ],
    [
      handMade({ a: { dtype: "U8", shape: [2], data_offsets: [0] } }, [1, 2]),
      /data_offsets must be \[begin, end\]/,
    ],
    [
      handMade({ a: { dtype: "F32", shape: [2], data_offsets: [0, 2] } }, [1, 2]),
      /2 bytes, but shape \[2\] of F32 needs 8/,
    ],
    [
      handMade({ a: { dtype: "U8", shape: [2], data_offsets: [1, 3] } }, [1, 2]),
      /lie outside the 2-byte data buffer/,
    ],
    [
      handMade({ a: { dtype: "U8", shape: [2], data_offsets: [1, 3] } }, [1, 2, 3]),
      /starts at byte 1 of the data, expected 0 \(a gap\)/,
    ],
    [
      handMade({
        a: { dtype: "U8", shape: [2], data_offsets: [0, 2] },
        b: { dtype: "U8", shape: [2], data_offsets: [1, 3] },
      }, [1, 2, 3]),
      /"b" starts at byte 1 of the data, expected 2 \(an overlap\)/,
    ],
    [handMade(ok, [1, 2, 3]), /tensors cover 2 bytes of a 3-byte data buffer/],
    [handMade({ __metadata__: { n: 1 }, ...ok }, [1, 2]), /__metadata__.n must be a string/],
  ];
  for (const [bytes, pattern] of cases) assert.throws(() => readSafetensors(bytes), pattern);
  assert.throws(() => readSafetensors([1, 2] as unknown as Uint8Array), TypeError);
});

Deno.test("the writer refuses bad tensors", () => {
  const u8 = new Uint8Array(4);
  assert.throws(
    () => writeSafetensors({ "": { dtype: "U8", shape: [4], data: u8 } }),
    /tensor name must be non-empty/,
  );
  assert.throws(
    () => writeSafetensors({ __metadata__: { dtype: "U8", shape: [4], data: u8 } }),
    /not "__metadata__"/,
  );
  assert.throws(
    () => writeSafetensors({ a: { dtype: "U8", shape: [5], data: u8 } }),
    /has 4 bytes, but shape \[5\] of U8 needs 5/,
  );
  assert.throws(
    () => writeSafetensors({ a: { dtype: "X" as "U8", shape: [4], data: u8 } }),
    /dtype must be one of/,
  );
  assert.throws(
    () => writeSafetensors({ a: { dtype: "U8", shape: [4], data: [1] as unknown as Uint8Array } }),
    /must be a typed array/,
  );
  assert.throws(
    () =>
      writeSafetensors({ a: { dtype: "U8", shape: [4], data: u8 } }, { n: 1 as unknown as string }),
    /metadata.n must be a string/,
  );
});
