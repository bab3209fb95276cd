// One WGSL compute kernel as data: its uniform parameters (named, 4-byte scalars, at binding 0),
// its storage bindings (1..n, all read_write; so one buffer may not appear at two bindings of
// a dispatch, which WebGPU forbids for writable bindings: callers bind distinct buffers) and its
// body. The uniform struct is generated from the parameter list, so the
// host encodes parameters by name and cannot disagree with the shader about their order.

/** A scalar type of a uniform parameter. */
export type ParamType = "u32" | "i32" | "f32";

/** A WGSL compute kernel with named uniform parameters. */
export interface WgslKernel {
  /** Stable kernel name (pipeline cache key). */
  readonly name: string;
  /** The full WGSL source (uniform struct `Params` at binding 0 as `p`, storage at 1..n). */
  readonly source: string;
  /** Uniform parameters in struct order. */
  readonly params: readonly (readonly [string, ParamType])[];
  /** Storage bindings, e.g. `x: array<f32>`, at bindings 1, 2, … */
  readonly bindings: readonly string[];
  /** Workgroup size (x, y, z). */
  readonly workgroup: readonly [number, number, number];
  /** The WGSL language feature the kernel requires, if any. */
  readonly requires?: string;
}

/** Options of {@link wgslKernel}. */
export interface KernelOptions {
  /** workgroup size, default [256, 1, 1] */
  readonly workgroup?: readonly [number, number, number];
  /** helper functions and module-scope declarations placed before `main` */
  readonly prelude?: string;
  /** a WGSL language feature to require (`packed_4x8_integer_dot_product`) */
  readonly requires?: string;
}

/**
 * Builds a kernel: `params` like `"n:u32 xo:u32 s:f32"`, `bindings` like
 * `["x: array<f32>"]`, and the body of `main(wid, lid, nwg, gid, li)`.
 */
export function wgslKernel(
  name: string,
  params: string,
  bindings: readonly string[],
  body: string,
  options: KernelOptions = {},
): WgslKernel {
  const list = params.trim().split(/\s+/).filter((s) => s).map((s) => {
    const [n, t] = s.split(":");
    if (t !== "u32" && t !== "i32" && t !== "f32") throw new Error(`bad param ${s} in ${name}`);
    return [n, t] as const;
  });
  if (list.length === 0) list.push(["unused", "u32"]);
  if (list.length > 64) throw new Error(`${name}: more than 64 parameters`);
  const wg = options.workgroup ?? [256, 1, 1];
  const source = `${options.requires ? `requires ${options.requires};\n` : ""}struct Params { ${
    list.map(([n, t]) => `${n}: ${t}`).join(", ")
  } }
@group(0) @binding(0) var<uniform> p: Params;
${
    bindings.map((b, i) => {
      const [v, ...rest] = b.split(":");
      return `@group(0) @binding(${i + 1}) var<storage, read_write> ${v.trim()}:${rest.join(":")};`;
    }).join("\n")
  }
${COMMON_WGSL}
${options.prelude ?? ""}
@compute @workgroup_size(${wg.join(", ")})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
${body}
}
`;
  return { name, source, params: list, bindings, workgroup: wg, requires: options.requires };
}

/**
 * WGSL helpers every kernel may call. All exact: integer operations on f32 bit patterns, so the
 * results do not depend on a GPU's division accuracy (WGSL allows 2.5 ulp) or transcendentals.
 *
 * - `flat(wid, nwg, lid)`: the 1-D invocation index of a 2-D grid of 256-wide workgroups.
 * - `pow2(e)`: 2^e as an f32 for e in [-149, 127] (subnormals included).
 * - `div_rn(a, b)`: a / b correctly rounded to nearest even (IEEE), subnormals and specials
 *   included: bit-identical to `Math.fround(a / b)` for f32 a and b.
 * - `round_rn(x, mbits, emin, maxv, ties_up)`: as `round_rne`, with exact ties toward +∞ when
 *   `ties_up` (the FP4 paper's `nearest-up` look-up table);
 * - `round_rne(x, mbits, emin, maxv)`: x rounded to nearest even onto an ExMy grid with
 *   saturation at ±maxv (±Inf saturates, NaN stays NaN, −0 stays −0): `@fp4lab/fp4-format`'s
 *   `quantize` bit for bit.
 * - `round_sr(x, mbits, emin, maxv, u)`: the same grid, stochastic: up with probability
 *   frac, using the uniform draw `u` (fp4-format's `roundStochastic`, saturating).
 * - `mix32`, `uniform_at(key, index)`: fp4-format's counter-based random numbers.
 */
export const COMMON_WGSL = /* wgsl */ `
fn flat(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * 256u + lid.x;
}
// A float from its bits at run time: WGSL refuses NaN and ±Inf in constant expressions (Tint, in
// Chromium, rejects f32_from_bits(0x7fc00000u) outright), so non-finite constants go through here.
fn f32_from_bits(b: u32) -> f32 {
  return bitcast<f32>(b);
}
fn pow2(e: i32) -> f32 {
  if (e >= -126) { return bitcast<f32>(u32(e + 127) << 23u); }
  return bitcast<f32>(1u << u32(e + 149));
}
// Integer significand (in [2^23, 2^24)) and exponent of a positive finite non-zero f32.
fn split_f32(bits: u32) -> vec2<i32> {
  let field = i32(bits >> 23u);
  let frac = bits & 0x7fffffu;
  if (field == 0) {
    let lz = i32(countLeadingZeros(frac)) - 8;
    return vec2<i32>(i32(frac << u32(lz)), -149 - lz);
  }
  return vec2<i32>(i32(frac | 0x800000u), field - 150);
}
// Rounds q · 2^e (q < 2^31, extra bits below q summarised by 'sticky') to the nearest f32, ties
// to even, with subnormals and overflow to Inf. The sign is added by the caller.
fn assemble_f32(q: u32, e: i32, sticky: bool) -> u32 {
  if (q == 0u) { return 0u; }
  let top = 31 - i32(countLeadingZeros(q));
  var er = top + e; // exponent of the leading bit
  var shift = top - 23;
  if (er < -126) { shift += -126 - er; }
  if (shift > top + 1) { return 0u; } // below half the smallest subnormal
  var m: u32;
  if (shift <= 0) {
    m = q << u32(-shift);
  } else {
    m = q >> u32(shift);
    let rem = q & ((1u << u32(shift)) - 1u);
    let half = 1u << u32(shift - 1);
    if (rem > half || (rem == half && (sticky || (m & 1u) == 1u))) { m += 1u; }
  }
  if (er < -126) { return m; } // subnormal (m reaching 2^23 is the smallest normal: same bits)
  if (m == 0x1000000u) { m = 0x800000u; er += 1; }
  if (er > 127) { return 0x7f800000u; }
  return (u32(er + 127) << 23u) | (m & 0x7fffffu);
}
fn div_rn(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let bb = bitcast<u32>(b);
  let sign = (ab ^ bb) & 0x80000000u;
  let am = ab & 0x7fffffffu;
  let bm = bb & 0x7fffffffu;
  if (am > 0x7f800000u || bm > 0x7f800000u) { return f32_from_bits(0x7fc00000u); }
  if (am == 0x7f800000u) {
    if (bm == 0x7f800000u) { return f32_from_bits(0x7fc00000u); }
    return bitcast<f32>(sign | 0x7f800000u);
  }
  if (bm == 0x7f800000u) { return bitcast<f32>(sign); }
  if (bm == 0u) {
    if (am == 0u) { return f32_from_bits(0x7fc00000u); }
    return bitcast<f32>(sign | 0x7f800000u);
  }
  if (am == 0u) { return bitcast<f32>(sign); }
  let sa = split_f32(am);
  let sb = split_f32(bm);
  let ma = u32(sa.x);
  let mb = u32(sb.x);
  // Long division: 27 quotient bits of ma / mb (in (1/2, 2)), remainder as the sticky bit.
  var r = ma;
  var q = 0u;
  for (var i = 0; i < 27; i++) {
    q = q << 1u;
    if (r >= mb) { r -= mb; q |= 1u; }
    r = r << 1u;
  }
  return bitcast<f32>(sign | assemble_f32(q, sa.y - sb.y - 26, r != 0u));
}
fn round_rne(x: f32, mbits: u32, emin: i32, maxv: f32) -> f32 {
  return round_rn(x, mbits, emin, maxv, false);
}
fn round_rn(x: f32, mbits: u32, emin: i32, maxv: f32, ties_up: bool) -> f32 {
  let bits = bitcast<u32>(x);
  let sign = bits & 0x80000000u;
  let mag = bits & 0x7fffffffu;
  if (mag > 0x7f800000u) { return x; }
  let maxBits = bitcast<u32>(maxv);
  if (mag >= maxBits) { return bitcast<f32>(sign | maxBits); }
  let field = i32(mag >> 23u);
  let e = select(field - 127, -126, field == 0);
  var r: u32;
  if (e >= emin) {
    // on the format's normal grid (f32 subnormals too when the format shares f32's range)
    let sh = 23u - mbits;
    // ties: to the even code, or toward +inf (up in magnitude for x > 0, down for x < 0)
    let tie = select((mag >> sh) & 1u, select(1u, 0u, sign != 0u), ties_up);
    r = (mag + ((1u << (sh - 1u)) - 1u) + tie) & ~((1u << sh) - 1u);
  } else {
    // below the format's normal range: integer multiples of 2^(emin - mbits)
    let s = u32(23 + emin - i32(mbits) - e);
    let sig = select((mag & 0x7fffffu) | 0x800000u, mag, field == 0);
    var units = 0u;
    if (s < 25u) {
      let n = sig >> s;
      let rem = sig & ((1u << s) - 1u);
      let half = 1u << (s - 1u);
      let tie_up = select((n & 1u) == 1u, sign == 0u, ties_up);
      units = n + select(0u, 1u, rem > half || (rem == half && tie_up));
    }
    r = bitcast<u32>(f32(units) * pow2(emin - i32(mbits)));
  }
  if (r > maxBits) { r = maxBits; }
  return bitcast<f32>(sign | r);
}
fn round_sr(x: f32, mbits: u32, emin: i32, maxv: f32, u: f32) -> f32 {
  let bits = bitcast<u32>(x);
  let sign = bits & 0x80000000u;
  let mag = bits & 0x7fffffffu;
  if (mag > 0x7f800000u) { return x; }
  if (mag == 0x7f800000u) { return bitcast<f32>(sign | bitcast<u32>(maxv)); }
  let field = i32(mag >> 23u);
  let e = max(select(field - 127, -127, field == 0), emin);
  let k = i32(mbits) - e; // 1 / ulp = 2^k, applied in two exact halves
  let h = k / 2;
  let q = (bitcast<f32>(mag) * pow2(h)) * pow2(k - h);
  let fl = floor(q);
  var r = select(fl, fl + 1.0, u < q - fl);
  r = r * pow2(e - i32(mbits));
  if (r > maxv) { r = maxv; }
  return bitcast<f32>(sign | bitcast<u32>(r));
}
fn u64_ge(a: vec2<u32>, b: vec2<u32>) -> bool { return a.x > b.x || (a.x == b.x && a.y >= b.y); }
fn u64_sub(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x - select(0u, 1u, a.y < b.y), a.y - b.y);
}
fn u64_shl1(a: vec2<u32>) -> vec2<u32> { return vec2<u32>((a.x << 1u) | (a.y >> 31u), a.y << 1u); }
fn u64_shr(a: vec2<u32>, s: u32) -> vec2<u32> { // 0 < s < 32
  return vec2<u32>(a.x >> s, (a.y >> s) | (a.x << (32u - s)));
}
fn mul_24x24(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu; let ah = a >> 16u;
  let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl;
  let mid = al * bh + ah * bl;
  let lo = ll + (mid << 16u);
  return vec2<u32>(ah * bh + (mid >> 16u) + select(0u, 1u, lo < ll), lo);
}
// q (top bit at 54..62 of the u64) times 2^e, the bits below summarised by sticky: rounded to 53
// bits (f64, ties to even), then to f32 bits (subnormals included).
fn round_f64_f32(q: vec2<u32>, e0: i32, sticky: bool) -> u32 {
  let top = 63u - countLeadingZeros(q.x);
  let s = top - 52u;
  var m = u64_shr(q, s);
  let rem = q.y & ((1u << s) - 1u);
  let half = 1u << (s - 1u);
  if (rem > half || (rem == half && (sticky || (m.y & 1u) == 1u))) {
    m.y += 1u;
    if (m.y == 0u) { m.x += 1u; }
  }
  let e = e0 + i32(s);
  return assemble_f32(u64_shr(m, 22u).y, e + 22, (m.y & 0x3fffffu) != 0u);
}
fn mul_div_rn(x: f32, t: f32, s: f32) -> f32 {
  let xb = bitcast<u32>(x);
  let sign = xb & 0x80000000u;
  let xm = xb & 0x7fffffffu;
  if (xm == 0u) { return x; }
  if (xm >= 0x7f800000u) { return div_rn(x * t, s); }
  let sx = split_f32(xm);
  let st = split_f32(bitcast<u32>(t));
  let sd = split_f32(bitcast<u32>(s));
  let n = mul_24x24(u32(sx.x), u32(st.x)); // exact, < 2^48
  let d = u32(sd.x);
  // Q = floor(n · 2^33 / d): 81 dividend bits from the top, the remainder below 2^25.
  var r = 0u;
  var q = vec2<u32>(0u, 0u);
  for (var i = 80; i >= 0; i--) {
    var bit = 0u;
    if (i >= 33) {
      let j = u32(i - 33);
      bit = select((n.y >> j) & 1u, (n.x >> (j - 32u)) & 1u, j >= 32u);
    }
    r = (r << 1u) | bit;
    q = u64_shl1(q);
    if (r >= d) { r -= d; q.y |= 1u; }
  }
  return bitcast<f32>(sign | round_f64_f32(q, sx.y + st.y - sd.y - 33, r != 0u));
}
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
fn uniform_at(key: u32, index: u32) -> f32 {
  return f32(mix32(mix32(index) ^ key) >> 8u) * 5.9604644775390625e-8;
}
`;
