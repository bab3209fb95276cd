// Quantize and encode+pack 16 M values, each as a ratio to a plain Float32Array copy of the same
// data measured in the same run (deno bench prints "x times slower than" the baseline).
// Target (issue 3): nearest-even quantize within 4x of the copy.
import { E2M1, E4M3, encodePacked, quantize } from "@fp4lab/fp4-format";
import { fakeQuantize, quantizePack } from "@fp4lab/kernels";

const n = 16 * 1024 * 1024;
const x = new Float32Array(n);
let s = 1;
for (let i = 0; i < n; i++) {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  x[i] = (s / 2 ** 32 - 0.5) * 12;
}
const out = new Float32Array(n);
const packed = new Uint8Array(n / 2);

Deno.bench("copy (Float32Array.prototype.set)", { group: "16M", baseline: true }, () => {
  out.set(x);
});
Deno.bench("quantize E2M1 nearest-even", { group: "16M" }, () => {
  quantize(x, E2M1, { out });
});
Deno.bench("quantize E4M3 nearest-even", { group: "16M" }, () => {
  quantize(x, E4M3, { out });
});
Deno.bench("quantize E2M1 stochastic", { group: "16M" }, () => {
  quantize(x, E2M1, { out, rounding: "stochastic", seed: 1 });
});
Deno.bench("encode + pack E2M1 (bytes out)", { group: "16M" }, () => {
  encodePacked(x, E2M1, { out: packed });
});

// The same jobs through the kernel set's WebAssembly SIMD twins (bit-identical to the above).
Deno.bench("kernels fakeQuantize E2M1 (wasm)", { group: "16M" }, () => {
  fakeQuantize(x, E2M1, {}, out);
});
Deno.bench("kernels fakeQuantize E4M3 (wasm)", { group: "16M" }, () => {
  fakeQuantize(x, E4M3, {}, out);
});
Deno.bench("kernels quantizePack E2M1 (wasm, bytes out)", { group: "16M" }, () => {
  quantizePack(x, E2M1);
});
