/**
 * WGSL quantize + pack (E2M1, E4M3, E5M2, BF16): round to nearest even with saturation,
 * computed on the f32 bit pattern with integer operations only (no dependence on the GPU's
 * subnormal handling or division accuracy), so the codes equal the CPU twin's bit for bit.
 * `x · scale` is a single correctly rounded multiply.
 *
 * Bindings: 0 values f32, 1 out u32 words (codes packed: 8 per word for E2M1, 4 for 8-bit,
 * 2 for BF16), 2 uniform {n, mbits, emin, maxBits, nanCode, width, ebits, scale}.
 * One invocation per output word; dispatch (ceil(words / 64), 1, 1).
 *
 * @module
 */

/** The quantize + pack kernel source. */
export const QUANTIZE_WGSL = /* wgsl */ `
struct P { n: u32, mbits: u32, emin: i32, maxBits: u32, nanCode: u32, width: u32, ebits: u32,
           scale: f32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<u32>;
@group(0) @binding(2) var<uniform> p: P;

// Code of one value (RNE, saturating, NaN -> nanCode).
fn code_of(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  let sign = bits >> 31u;
  let mag = bits & 0x7fffffffu;
  let signCode = sign << (p.ebits + p.mbits);
  if (mag > 0x7f800000u) { return p.nanCode; }
  if (mag >= p.maxBits) { return signCode | code_mag(p.maxBits); }
  let field = i32(mag >> 23u);
  let e = field - 127;
  var r: u32; // rounded magnitude as f32 bits
  if (e >= p.emin) {
    let sh = 23u - p.mbits;
    let rounded = mag + ((1u << (sh - 1u)) - 1u) + ((mag >> sh) & 1u);
    r = rounded & ~((1u << sh) - 1u);
  } else {
    // below the format's normal range: integer multiples of q = 2^(emin - mbits)
    // f32 subnormals (field 0) have no implicit bit and the exponent of field 1
    let ee = select(e, -126, field == 0);
    let s = u32(23 + p.emin - i32(p.mbits) - ee);
    var units = 0u;
    if (s < 25u) {
      let sig = select((mag & 0x7fffffu) | 0x800000u, mag, field == 0);
      let n = sig >> s;
      let rem = sig & ((1u << s) - 1u);
      let half = 1u << (s - 1u);
      units = n + select(0u, 1u, rem > half || (rem == half && (n & 1u) == 1u));
    }
    return signCode | units; // subnormal codes are the unit count (reaching minNormal works too)
  }
  if (r > p.maxBits) { r = p.maxBits; }
  return signCode | code_mag(r);
}

// Code of a magnitude that lies on the normal grid (f32 bits).
fn code_mag(r: u32) -> u32 {
  let e = i32(r >> 23u) - 127;
  let bias = 1 - p.emin;
  return (u32(e + bias) << p.mbits) | ((r >> (23u - p.mbits)) & ((1u << p.mbits) - 1u));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = gid.x;
  let per = 32u / p.width;
  var word = 0u;
  for (var q = 0u; q < per; q++) {
    let idx = w * per + q;
    if (idx >= p.n) { break; }
    // skip the multiply for scale 1: a GPU may flush subnormal products to zero
    var x = X[idx];
    if (p.scale != 1.0) { x = x * p.scale; }
    word |= code_of(x) << (q * p.width);
  }
  if (w * per < p.n) { O[w] = word; }
}
`;
