/**
 * WGSL exact FP4 GEMM, bit-identical to the CPU twin and `fp4MatmulReference`: C[m, n] = A·Wᵀ
 * for E2M1 operands A [m, k] and W [n, k] stored as codes (8 per u32 word, low nibble first,
 * each row padded to whole words with zero codes) and f32 scales per group. Per output and per
 * K-block, the exact int32 sum of (2·a)(2·w); then in f32 `y = y + f32(acc) * (sA * sW)` per
 * block and `y = y * q` with q = f32(0.25 / (tA · tW)) computed exactly in the kernel from the
 * operands' tensor scales (as the CPU computes it: the quotient rounded to f64, then to f32).
 *
 * The tiled kernel: 64 × 64 outputs per workgroup of 16 × 16 invocations, 4 × 4 outputs each;
 * K advances 16 codes at a time through workgroup memory, where the codes are unpacked once into
 * packed int8 quadruples and multiplied with `dot4I8Packed` (WGSL's
 * `packed_4x8_integer_dot_product`) or plain i32 multiply-adds where that feature is missing.
 * It needs the effective K-block to be a multiple of 16 or the whole of K; the simple kernel
 * (one output per invocation) handles any block.
 *
 * Bindings: 0 uniform (see the kernels' params), 1 A codes, 2 W codes, 3 A scales, 4 W scales,
 * 5 C. A scale buffer holds the group scales at `as_o` and the tensor scale at `at_o`.
 *
 * @module
 */
import { type WgslKernel, wgslKernel } from "./_kernel.ts";

/** Workgroup output tile edge of the tiled FP4 kernel. */
export const GEMM_FP4_TILE = 64;

const PARAMS = "m:u32 n:u32 k:u32 kb:u32 nb:u32 row_words:u32 ac_o:u32 wc_o:u32 as_o:u32 " +
  "ws_o:u32 a_br:u32 a_gc:u32 a_kb:u32 w_br:u32 w_gc:u32 w_kb:u32 at_o:u32 wt_o:u32 co:u32";
const BINDINGS = [
  "Ac: array<u32>",
  "Wc: array<u32>",
  "As: array<f32>",
  "Ws: array<f32>",
  "C: array<f32>",
];

// Shared helpers: code values, scales, and q = RN32(RN64(0.25 / (tA · tW))) in integers.
const FP4_PRELUDE = /* wgsl */ `
const LUT = array<i32, 16>(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
fn sa_at(i: u32, b: u32) -> f32 {
  return As[p.as_o + (i / p.a_br) * p.a_gc + (b * p.kb) / p.a_kb];
}
fn sw_at(j: u32, b: u32) -> f32 {
  return Ws[p.ws_o + (j / p.w_br) * p.w_gc + (b * p.kb) / p.w_kb];
}
fn fp4_q() -> f32 {
  let ta = As[p.at_o];
  let tw = Ws[p.wt_o];
  if (ta == 1.0 && tw == 1.0) { return 0.25; }
  let sa = split_f32(bitcast<u32>(ta));
  let sb = split_f32(bitcast<u32>(tw));
  let d = mul_24x24(u32(sa.x), u32(sb.x)); // the exact product, in [2^46, 2^48)
  // Q = floor(2^103 / d) by long division; the remainder is the sticky bit.
  var r = vec2<u32>(0u, 1u);
  var q = vec2<u32>(0u, 0u);
  for (var i = 0; i < 103; i++) {
    r = u64_shl1(r);
    q = u64_shl1(q);
    if (u64_ge(r, d)) { r = u64_sub(r, d); q.y |= 1u; }
  }
  return bitcast<f32>(round_f64_f32(q, -2 - 103 - sa.y - sb.y, r.x != 0u || r.y != 0u));
}
`;

/**
 * The tiled FP4 kernel.
 *
 * @param dot4 use `dot4I8Packed` (needs the `packed_4x8_integer_dot_product` language feature)
 * @returns the kernel
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gemmFp4Kernel } from "@fp4lab/kernels";
 * assert.equal(gemmFp4Kernel(false).name, "gemm_fp4_i32");
 * ```
 */
export function gemmFp4Kernel(dot4: boolean): WgslKernel {
  const pack = dot4
    ? "pack4xI8(vec4<i32>(LUT[c & 15u], LUT[(c >> 4u) & 15u], LUT[(c >> 8u) & 15u], LUT[(c >> 12u) & 15u]))"
    : "(u32(LUT[c & 15u]) & 0xffu) | ((u32(LUT[(c >> 4u) & 15u]) & 0xffu) << 8u) | " +
      "((u32(LUT[(c >> 8u) & 15u]) & 0xffu) << 16u) | ((u32(LUT[(c >> 12u) & 15u]) & 0xffu) << 24u)";
  const dot = dot4 ? "dot4I8Packed(x, w)" : "idot4(x, w)";
  return wgslKernel(
    `gemm_fp4_${dot4 ? "dot4" : "i32"}`,
    PARAMS,
    BINDINGS,
    /* wgsl */ `
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  var acc: array<i32, 16>;
  var y: array<f32, 16>;
  for (var t = 0u; t < 16u; t++) { acc[t] = 0; y[t] = 0.0; }
  let stages = (p.k + 15u) / 16u;
  let side = li / 128u;
  let row = (li % 128u) / 2u;
  let wd = li % 2u;
  for (var s = 0u; s < stages; s++) {
    let gw = s * 2u + wd;
    var word = 0u;
    if (side == 0u) {
      let gi = row0 + row;
      if (gi < p.m && gw < p.row_words) { word = Ac[p.ac_o + gi * p.row_words + gw]; }
    } else {
      let gj = col0 + row;
      if (gj < p.n && gw < p.row_words) { word = Wc[p.wc_o + gj * p.row_words + gw]; }
    }
    let lo = pack_codes(word);
    let hi = pack_codes(word >> 16u);
    if (side == 0u) { Ta[row * 4u + wd * 2u] = lo; Ta[row * 4u + wd * 2u + 1u] = hi; }
    else { Tw[row * 4u + wd * 2u] = lo; Tw[row * 4u + wd * 2u + 1u] = hi; }
    workgroupBarrier();
    for (var kw = 0u; kw < 4u; kw++) {
      var wv: array<u32, 4>;
      for (var cc = 0u; cc < 4u; cc++) { wv[cc] = Tw[(lid.x * 4u + cc) * 4u + kw]; }
      for (var r = 0u; r < 4u; r++) {
        let x = Ta[(lid.y * 4u + r) * 4u + kw];
        for (var cc = 0u; cc < 4u; cc++) {
          let w = wv[cc];
          acc[r * 4u + cc] += ${dot};
        }
      }
    }
    workgroupBarrier();
    let end = (s + 1u) * 16u;
    if (end % p.kb == 0u || end >= p.k) {
      let b = (s * 16u) / p.kb;
      for (var r = 0u; r < 4u; r++) {
        let i = row0 + lid.y * 4u + r;
        for (var cc = 0u; cc < 4u; cc++) {
          let j = col0 + lid.x * 4u + cc;
          let t = r * 4u + cc;
          if (i < p.m && j < p.n) {
            y[t] = y[t] + f32(acc[t]) * (sa_at(i, b) * sw_at(j, b));
          }
          acc[t] = 0;
        }
      }
    }
  }
  let q = fp4_q();
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + lid.y * 4u + r;
    if (i >= p.m) { break; }
    for (var cc = 0u; cc < 4u; cc++) {
      let j = col0 + lid.x * 4u + cc;
      if (j >= p.n) { break; }
      C[p.co + i * p.n + j] = y[r * 4u + cc] * q;
    }
  }`,
    {
      workgroup: [16, 16, 1],
      requires: dot4 ? "packed_4x8_integer_dot_product" : undefined,
      prelude: `${FP4_PRELUDE}
var<workgroup> Ta: array<u32, 256>;
var<workgroup> Tw: array<u32, 256>;
fn pack_codes(c: u32) -> u32 { return ${pack}; }
fn idot4(a: u32, b: u32) -> i32 {
  let x = bitcast<i32>(a);
  let y = bitcast<i32>(b);
  return extractBits(x, 0u, 8u) * extractBits(y, 0u, 8u) +
    extractBits(x, 8u, 8u) * extractBits(y, 8u, 8u) +
    extractBits(x, 16u, 8u) * extractBits(y, 16u, 8u) +
    extractBits(x, 24u, 8u) * extractBits(y, 24u, 8u);
}`,
    },
  );
}

/**
 * The simple FP4 kernel: one output per invocation (8 × 8 workgroups), any K-block. Same sums
 * and epilogue as the tiled kernel, bit for bit.
 */
export const GEMM_FP4_SIMPLE: WgslKernel = wgslKernel(
  "gemm_fp4_simple",
  PARAMS,
  BINDINGS,
  /* wgsl */ `
  let i = gid.y;
  let j = gid.x;
  if (i >= p.m || j >= p.n) { return; }
  var y = 0.0;
  for (var b = 0u; b < p.nb; b++) {
    let k0 = b * p.kb;
    let k1 = min(p.k, k0 + p.kb);
    var acc = 0i;
    for (var c = k0; c < k1; c++) {
      let wa = Ac[p.ac_o + i * p.row_words + c / 8u];
      let ww = Wc[p.wc_o + j * p.row_words + c / 8u];
      let sh = (c % 8u) * 4u;
      acc += LUT[(wa >> sh) & 15u] * LUT[(ww >> sh) & 15u];
    }
    y = y + f32(acc) * (sa_at(i, b) * sw_at(j, b));
  }
  C[p.co + i * p.n + j] = y * fp4_q();`,
  { workgroup: [8, 8, 1], prelude: FP4_PRELUDE },
);

/** The tiled i32 kernel's source (the manifest's entry). */
export const GEMM_FP4_WGSL: string = gemmFp4Kernel(false).source;

/**
 * The FP4 GEMM kernel source (kept for callers of the earlier API: now the tiled kernel).
 *
 * @param dot4 use `dot4I8Packed`
 * @returns WGSL source
 */
export function gemmFp4Wgsl(dot4: boolean): string {
  return gemmFp4Kernel(dot4).source;
}
