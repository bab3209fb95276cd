/**
 * WGSL exact FP4 GEMM, bit-identical to the CPU twin: per output, per K-block, the exact int32
 * sum of (2·a)(2·w) over E2M1 codes (dot4I8Packed when the language extension
 * `packed_4x8_integer_dot_product` exists, plain i32 multiply-adds otherwise), then in f32
 * `y = y + f32(acc) * (sA * sW)` and finally `y = y * q`.
 *
 * Bindings: 0 A codes (u32 words, rows of rowBytes bytes), 1 W codes, 2 sA f32 [mpad · nb],
 * 3 sWt f32 [nb · npad], 4 C (read_write), 5 uniform {m, n, k, kb, nb, npad, rowBytes, q}.
 * Dispatch: (ceil(n / 8), ceil(m / 8), 1).
 *
 * @module
 */

/** Workgroup edge of the FP4 kernel. */
export const GEMM_FP4_TILE = 8;

/**
 * The FP4 GEMM kernel source.
 *
 * @param dot4 use `dot4I8Packed` (needs the `packed_4x8_integer_dot_product` extension)
 * @returns WGSL source
 */
export function gemmFp4Wgsl(dot4: boolean): string {
  return /* wgsl */ `
${dot4 ? "requires packed_4x8_integer_dot_product;" : ""}
struct Dims { m: u32, n: u32, k: u32, kb: u32, nb: u32, npad: u32, rowBytes: u32, q: f32 }
@group(0) @binding(0) var<storage, read> Acodes: array<u32>;
@group(0) @binding(1) var<storage, read> Wcodes: array<u32>;
@group(0) @binding(2) var<storage, read> sA: array<f32>;
@group(0) @binding(3) var<storage, read> sWt: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<f32>;
@group(0) @binding(5) var<uniform> d: Dims;
const LUT = array<i32, 16>(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);

fn nib(word: u32, idx: u32, c: u32) -> i32 {
  let byte = (word >> ((idx & 3u) * 8u)) & 0xffu;
  return LUT[select(byte & 15u, byte >> 4u, (c & 1u) == 1u)];
}
// value x 2 of code (row, c) of A / W
fn va(row: u32, c: u32) -> i32 {
  let idx = row * d.rowBytes + (c >> 1u);
  return nib(Acodes[idx >> 2u], idx, c);
}
fn vw(row: u32, c: u32) -> i32 {
  let idx = row * d.rowBytes + (c >> 1u);
  return nib(Wcodes[idx >> 2u], idx, c);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  if (i >= d.m || j >= d.n) { return; }
  var y = 0.0;
  for (var b = 0u; b < d.nb; b++) {
    let k0 = b * d.kb;
    let k1 = min(d.k, k0 + d.kb);
    var acc = 0i;
    var c = k0;
    ${
    dot4
      ? `for (; c + 4u <= k1; c += 4u) {
      let pa = pack4xI8(vec4<i32>(va(i, c), va(i, c + 1u),
                                  va(i, c + 2u), va(i, c + 3u)));
      let pw = pack4xI8(vec4<i32>(vw(j, c), vw(j, c + 1u),
                                  vw(j, c + 2u), vw(j, c + 3u)));
      acc += dot4I8Packed(pa, pw);
    }`
      : ""
  }
    for (; c < k1; c++) { acc += va(i, c) * vw(j, c); }
    y = y + f32(acc) * (sA[i * d.nb + b] * sWt[b * d.npad + j]);
  }
  C[i * d.n + j] = y * d.q;
}
`;
}
