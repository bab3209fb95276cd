/**
 * WGSL f32 GEMM: 64 × 64 output tiles per workgroup of 16 × 16 invocations, each computing a
 * 4 × 4 register block from vec4 tiles in workgroup memory (K step 16). Layout is a pipeline
 * override (0 "nn", 1 "nt", 2 "tn"), `accumulate` a uniform.
 *
 * Bindings: 0 A (read), 1 B (read), 2 C (read_write), 3 uniform {m, n, k, accumulate}.
 * Dispatch: (ceil(n / 64), ceil(m / 64), 1).
 *
 * @module
 */

/** Output tile edge of {@link GEMM_F32_WGSL}. */
export const GEMM_F32_TILE = 64;

/** The tiled, register-blocked f32 GEMM. */
export const GEMM_F32_WGSL = /* wgsl */ `
override LAYOUT: u32 = 0u;
struct Dims { m: u32, n: u32, k: u32, accumulate: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
const BM = 64u;
const BN = 64u;
const BK = 16u;
var<workgroup> As: array<vec4<f32>, 256>; // [BK][BM / 4]: 4 consecutive rows of A per vec4
var<workgroup> Bs: array<vec4<f32>, 256>; // [BK][BN / 4]: 4 consecutive columns of B per vec4

fn a_at(i: u32, kk: u32) -> f32 {
  if (i >= d.m || kk >= d.k) { return 0.0; }
  if (LAYOUT == 2u) { return A[kk * d.m + i]; }
  return A[i * d.k + kk];
}
fn b_at(kk: u32, j: u32) -> f32 {
  if (j >= d.n || kk >= d.k) { return 0.0; }
  if (LAYOUT == 1u) { return B[j * d.k + kk]; }
  return B[kk * d.n + j];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * BM;
  let col0 = wg.x * BN;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let lk = li / 16u;
  let l4 = (li % 16u) * 4u;
  for (var k0 = 0u; k0 < d.k; k0 += BK) {
    let kk = k0 + lk;
    As[li] = vec4<f32>(a_at(row0 + l4, kk), a_at(row0 + l4 + 1u, kk), a_at(row0 + l4 + 2u, kk),
                       a_at(row0 + l4 + 3u, kk));
    Bs[li] = vec4<f32>(b_at(kk, col0 + l4), b_at(kk, col0 + l4 + 1u), b_at(kk, col0 + l4 + 2u),
                       b_at(kk, col0 + l4 + 3u));
    workgroupBarrier();
    for (var q = 0u; q < BK; q++) {
      let a = As[q * 16u + lid.y];
      let b = Bs[q * 16u + lid.x];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  let r0 = row0 + lid.y * 4u;
  let c0 = col0 + lid.x * 4u;
  for (var r = 0u; r < 4u; r++) {
    let i = r0 + r;
    if (i >= d.m) { break; }
    var v: vec4<f32>;
    switch (r) {
      case 0u: { v = acc0; }
      case 1u: { v = acc1; }
      case 2u: { v = acc2; }
      default: { v = acc3; }
    }
    for (var c = 0u; c < 4u; c++) {
      let j = c0 + c;
      if (j >= d.n) { break; }
      let idx = i * d.n + j;
      if (d.accumulate != 0u) { C[idx] = C[idx] + v[c]; } else { C[idx] = v[c]; }
    }
  }
}
`;

/** The plain 16 × 16 shared-memory tiled GEMM ("nn" only), kept as the benchmark baseline. */
export const GEMM_F32_BASELINE_WGSL = /* wgsl */ `
struct Dims { m: u32, n: u32, k: u32, accumulate: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
var<workgroup> As: array<array<f32, 16>, 16>;
var<workgroup> Bs: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = gid.y;
  let j = gid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < d.k; k0 += 16u) {
    let ka = k0 + lid.x;
    let kb = k0 + lid.y;
    As[lid.y][lid.x] = select(0.0, A[i * d.k + ka], i < d.m && ka < d.k);
    Bs[lid.y][lid.x] = select(0.0, B[kb * d.n + j], j < d.n && kb < d.k);
    workgroupBarrier();
    for (var q = 0u; q < 16u; q++) { acc += As[lid.y][q] * Bs[q][lid.x]; }
    workgroupBarrier();
  }
  if (i < d.m && j < d.n) { C[i * d.n + j] = acc; }
}
`;
