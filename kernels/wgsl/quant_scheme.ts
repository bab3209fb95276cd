/**
 * WGSL quantizers for every scheme of a training recipe, bit-identical to
 * `@fp4lab/quant-granularity` (`fakeQuant`, `quantizeTensor` + `dequantize`) and
 * `@fp4lab/fp4-format` (`quantize`, stochastic rounding included). Three passes over a
 * [rows, cols] operand:
 *
 * 1. {@link QUANT_AMAX_WGSL}: the absmax of every scale group (tensor, row, 1-D block along the
 *    row, 2-D tile) as atomic maxima of |x|'s bit pattern (non-negative floats order as their
 *    bits), and the tensor's amax for NVFP4.
 * 2. {@link QUANT_SCALES_WGSL}: each group's scale under its rule, computed with integer-exact
 *    arithmetic (`div_rn`: correctly rounded division, where WGSL's `/` may be off by 2.5 ulp):
 *    `absmax` (amax / maxNormal, 1 for an empty or non-finite group), `e8m0-floor` (OCP MX:
 *    2^(floor(log2 amax) − emax), NaN for a group holding ±Inf), `nvfp4` (TransformerEngine's
 *    f32 order: s_enc = 448·6 / amax_tensor, UE4M3 group scales, enc_b = 1 / (sd_b / s_enc)).
 * 3. {@link QUANT_APPLY_WGSL}: each element brought to its group's grid in f32 (divided by the
 *    scale, multiplied by its exact reciprocal for E8M0, multiplied by enc_b and clamped for
 *    NVFP4), rounded (nearest even, or stochastic with the counter-based stream at position
 *    row · cols + col) and written as the dequantized value, optionally in grid units (for DGE)
 *    and as E2M1 codes (8 per u32 word, rows padded to whole words with zero codes).
 *
 * The scale buffer of an operand holds, from `so`: the group scales [G], the encoders [G], the
 * tensor scale and the tensor amax.
 *
 * @module
 */
import { type WgslKernel, wgslKernel } from "./_kernel.ts";

/**
 * Group amax: one invocation per (row, segment of at most `seg` columns inside one group).
 * Params: rows, cols, br/bc (group height/width), gc (groups per group-row), seg, segs (segments
 * per row), xo (source offset), so (scale buffer offset), ta (tensor-amax slot), tensor (1: also
 * the tensor amax). The group slots must be zero beforehand.
 */
export const QUANT_AMAX_WGSL: WgslKernel = wgslKernel(
  "quant_amax",
  "rows:u32 cols:u32 br:u32 bc:u32 gc:u32 seg:u32 segs:u32 xo:u32 so:u32 ta:u32 tensor:u32",
  ["x: array<u32>", "amax: array<atomic<u32>>"],
  /* wgsl */ `
  let t = flat(wid, nwg, lid);
  var m = 0u;
  if (t < p.rows * p.segs) {
    let r = t / p.segs;
    let c0 = (t % p.segs) * p.seg;
    let c1 = min(p.cols, c0 + p.seg);
    for (var c = c0; c < c1; c++) { m = max(m, x[p.xo + r * p.cols + c] & 0x7fffffffu); }
    atomicMax(&amax[p.so + (r / p.br) * p.gc + c0 / p.bc], m);
  }
  if (p.tensor != 0u) {
    atomicMax(&wmax, m);
    workgroupBarrier();
    if (li == 0u) { atomicMax(&amax[p.ta], atomicLoad(&wmax)); }
  }`,
  { prelude: "var<workgroup> wmax: atomic<u32>;" },
);

/**
 * Group scales. Params: groups, rule (0 absmax, 1 e8m0-floor, 2 nvfp4), maxv (the element
 * format's maxNormal), inv_max (f32(1 / maxNormal)), emax (its largest exponent), so (group
 * scales), eo (encoders), ts (tensor-scale slot; the tensor amax follows it).
 */
export const QUANT_SCALES_WGSL: WgslKernel = wgslKernel(
  "quant_scales",
  "groups:u32 rule:u32 maxv:f32 inv_max:f32 emax:i32 so:u32 eo:u32 ts:u32",
  ["s: array<f32>"],
  /* wgsl */ `
  let g = flat(wid, nwg, lid);
  let FLT_MAX = bitcast<f32>(0x7f7fffffu);
  var s_enc = 1.0;
  if (p.rule == 2u) {
    let tamax = s[p.ts + 1u];
    if (tamax != 0.0) { s_enc = min(div_rn(448.0 * p.maxv, tamax), FLT_MAX); }
  }
  if (g == 0u) { s[p.ts] = s_enc; }
  if (g >= p.groups) { return; }
  let abits = bitcast<u32>(s[p.so + g]);
  let a = bitcast<f32>(abits);
  var scale = 1.0;
  var enc = 1.0;
  if (p.rule == 0u) {
    if (abits != 0u && abits < 0x7f800000u) {
      scale = div_rn(a, p.maxv);
      if (scale == 0.0) { scale = 1.0; }
    }
    enc = scale;
  } else if (p.rule == 1u) {
    if (abits >= 0x7f800000u) {
      scale = f32_from_bits(0x7fc00000u); // a block holding ±Inf reads back as NaN (OCP MX)
    } else if (abits == 0u) {
      scale = pow2(-127);
    } else {
      let field = i32(abits >> 23u);
      var fl = field - 127;
      if (field == 0) { fl = -118 - i32(countLeadingZeros(abits)); } // floor(log2) of a subnormal
      let e = clamp(fl - p.emax, -127, 127);
      scale = pow2(e);
    }
    enc = scale;
  } else {
    let s_dec = div_rn(1.0, s_enc);
    let per = s_enc * p.inv_max;
    let v = min(a * per, 448.0);
    scale = round_rne(v, 3u, -6, 448.0); // UE4M3, nearest even
    enc = min(div_rn(1.0, scale * s_dec), FLT_MAX);
  }
  s[p.so + g] = scale;
  s[p.eo + g] = enc;`,
);

/**
 * Rounding and writing: one invocation per (row, 8 columns). Params: rows, cols, br, bc, gc,
 * words (u32 code words per row), mode (0 unscaled, 1 divide by the scale, 2 multiply by the
 * exact reciprocal (E8M0), 3 multiply by enc_b and clamp (NVFP4)), mbits, emin, maxv (the
 * element grid), sr (1: stochastic, 2: nearest with ties toward +∞), key (`seedKey(seed)`), xo (source), oo (dequantized output),
 * go (grid units), so (scales), eo (encoders), ts (tensor-scale slot), co (codes), flags (1 out,
 * 2 grid, 4 codes).
 */
export const QUANT_APPLY_WGSL: WgslKernel = wgslKernel(
  "quant_apply",
  "rows:u32 cols:u32 br:u32 bc:u32 gc:u32 words:u32 mode:u32 mbits:u32 emin:i32 maxv:f32 " +
    "sr:u32 key:u32 xo:u32 oo:u32 go:u32 so:u32 eo:u32 ts:u32 co:u32 flags:u32",
  ["x: array<f32>", "o: array<f32>", "grid: array<f32>", "s: array<f32>", "codes: array<u32>"],
  /* wgsl */ `
  let t = flat(wid, nwg, lid);
  if (t >= p.rows * p.words) { return; }
  let r = t / p.words;
  let w = t % p.words;
  var tscale = 1.0;
  if (p.mode != 0u) { tscale = s[p.ts]; }
  var word = 0u;
  for (var q = 0u; q < 8u; q++) {
    let c = w * 8u + q;
    if (c >= p.cols) { break; }
    let i = r * p.cols + c;
    let xv = x[p.xo + i];
    var v = xv;
    var scale = 1.0;
    var nan_group = false;
    if (p.mode != 0u) {
      let g = (r / p.br) * p.gc + c / p.bc;
      scale = s[p.so + g];
      let enc = s[p.eo + g];
      if (enc != enc) {
        nan_group = true;
      } else if (p.mode == 1u) {
        v = div_rn(xv, enc);
      } else if (p.mode == 2u) {
        v = xv * div_rn(1.0, enc);
      } else {
        v = clamp(xv * enc, -p.maxv, p.maxv);
      }
    }
    var rounded = 0.0;
    if (!nan_group) {
      if (p.sr == 1u) {
        rounded = round_sr(v, p.mbits, p.emin, p.maxv, uniform_at(p.key, i));
      } else {
        rounded = round_rn(v, p.mbits, p.emin, p.maxv, p.sr == 2u);
      }
    }
    if ((p.flags & 1u) != 0u) {
      var out = rounded;
      if (p.mode != 0u) {
        out = rounded * scale;
        if (tscale != 1.0) { out = div_rn(out, tscale); }
      }
      o[p.oo + i] = out;
    }
    if ((p.flags & 2u) != 0u) {
      var gv = xv;
      if (p.mode != 0u) {
        gv = 0.0;
        if (scale > 0.0) {
          if (tscale == 1.0) { gv = div_rn(xv, scale); } else { gv = mul_div_rn(xv, tscale, scale); }
        }
      }
      grid[p.go + i] = gv;
    }
    if ((p.flags & 4u) != 0u) {
      let bits = bitcast<u32>(rounded);
      let v2 = u32(abs(rounded) * 2.0);
      var code = min(v2, 4u);
      if (v2 == 6u) { code = 5u; } else if (v2 == 8u) { code = 6u; } else if (v2 == 12u) { code = 7u; }
      word |= ((code | ((bits >> 28u) & 8u)) << (q * 4u));
    }
  }
  if ((p.flags & 4u) != 0u) { codes[p.co + r * p.words + w] = word; }`,
);

/**
 * Per-row statistics of a rounded operand: crest factor max|x| / rms(x) and the count of entries
 * that were non-zero and rounded to zero. One workgroup per row. Params: rows, cols, xo
 * (source), ro (rounded), so (output: crest [rows] then zeros [rows]).
 */
export const OPERAND_STATS_WGSL: WgslKernel = wgslKernel(
  "operand_stats",
  "rows:u32 cols:u32 xo:u32 ro:u32 so:u32",
  ["x: array<f32>", "rd: array<f32>", "st: array<f32>"],
  /* wgsl */ `
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) { return; }
  var mx = 0.0;
  var ss = 0.0;
  var zeros = 0u;
  for (var c = lid.x; c < p.cols; c += 256u) {
    let v = x[p.xo + r * p.cols + c];
    mx = max(mx, abs(v));
    ss += v * v;
    if (v != 0.0 && rd[p.ro + r * p.cols + c] == 0.0) { zeros += 1u; }
  }
  rmax[li] = mx;
  rsum[li] = ss;
  rcnt[li] = zeros;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (li < h) {
      rmax[li] = max(rmax[li], rmax[li + h]);
      rsum[li] += rsum[li + h];
      rcnt[li] += rcnt[li + h];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let rms = sqrt(rsum[0] / f32(p.cols));
    st[p.so + r] = select(0.0, rmax[0] / rms, rms > 0.0);
    st[p.so + p.rows + r] = f32(rcnt[0]);
  }`,
  {
    prelude: `var<workgroup> rmax: array<f32, 256>;
var<workgroup> rsum: array<f32, 256>;
var<workgroup> rcnt: array<u32, 256>;`,
  },
);

/**
 * In place, the random Hadamard transform of `@fp4lab/quant-granularity`'s `randomHadamard`
 * on every block of `size` (16 or 32) along rows: x · signs, f32 butterflies in Sylvester order,
 * then · f32(1/√size). Bit-identical. One invocation per block. Params: blocks, size, o, key
 * (`seedKey(seed)`), norm.
 */
export const HADAMARD_WGSL: WgslKernel = wgslKernel(
  "hadamard",
  "blocks:u32 size:u32 o:u32 key:u32 norm:f32",
  ["t: array<f32>"],
  /* wgsl */ `
  let b = flat(wid, nwg, lid);
  if (b >= p.blocks) { return; }
  var v: array<f32, 32>;
  let base = p.o + b * p.size;
  for (var i = 0u; i < p.size; i++) {
    let sign = select(1.0, -1.0, uniform_at(p.key, i) < 0.5);
    v[i] = t[base + i] * sign;
  }
  for (var h = 1u; h < p.size; h <<= 1u) {
    for (var i = 0u; i < p.size; i += h << 1u) {
      for (var j = i; j < i + h; j++) {
        let a = v[j];
        let c = v[j + h];
        v[j] = a + c;
        v[j + h] = a - c;
      }
    }
  }
  for (var i = 0u; i < p.size; i++) { t[base + i] = v[i] * p.norm; }`,
);
