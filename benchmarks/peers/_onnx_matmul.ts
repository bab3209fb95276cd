/**
 * A minimal ONNX model holding one MatMul (Y = A·B, f32), encoded by hand as protobuf so the
 * benchmark needs no ONNX tooling.
 *
 * @module
 */

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const field = (
  num: number,
  bytes: number[],
) => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
const int = (num: number, v: number) => [...varint(num << 3), ...varint(v)];
const str = (num: number, s: string) => field(num, [...new TextEncoder().encode(s)]);

function valueInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => field(1, int(1, d)));
  const tensorType = [...int(1, 1), ...field(2, shape)]; // elem_type FLOAT
  return [...str(1, name), ...field(2, field(1, tensorType))];
}

/**
 * Bytes of an ONNX model computing Y[m, n] = A[m, k] · B[k, n].
 *
 * @param m rows of A
 * @param k columns of A
 * @param n columns of B
 * @returns the serialized ModelProto
 */
export function onnxMatmulModel(m: number, k: number, n: number): Uint8Array {
  const node = [
    ...str(1, "A"),
    ...str(1, "B"),
    ...str(2, "Y"),
    ...str(3, "mm"),
    ...str(4, "MatMul"),
  ];
  const graph = [
    ...field(1, node),
    ...str(2, "g"),
    ...field(11, valueInfo("A", [m, k])),
    ...field(11, valueInfo("B", [k, n])),
    ...field(12, valueInfo("Y", [m, n])),
  ];
  const model = [...int(1, 8), ...str(2, "fp4lab"), ...field(7, graph), ...field(8, int(2, 13))];
  return new Uint8Array(model);
}
