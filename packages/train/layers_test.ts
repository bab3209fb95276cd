// Finite-difference checks of every layer's backward on the reference backend: for a random
// cotangent R and direction v, the slope of L(x + t·v) = Σ R ⊙ f(x + t·v) at t = 0 must equal
// ⟨∂L/∂x, v⟩ from the backward pass.
import assert from "node:assert/strict";
import type { Backend, Tensor } from "./backend.ts";
import { createReferenceBackend } from "./backends/host.ts";
import { testValues } from "./backends/_conformance.ts";
import { ropeTables } from "./layers.ts";

const be: Backend = createReferenceBackend();
const view = (t: Tensor) => be.view!(t) as Float32Array;
const put = (x: Float32Array): Tensor => {
  const t = be.alloc(x.length);
  be.write(t, x);
  return t;
};

/**
 * Checks one input of a layer. `f` writes the layer's output for the current input values,
 * `grad` returns ∂(Σ R ⊙ out)/∂input via the backward pass.
 */
function check(
  name: string,
  input: Tensor,
  outLength: number,
  f: () => Float32Array,
  grad: (cotangent: Tensor) => Float32Array,
  seed: number,
): void {
  const R = testValues(outLength, seed, false);
  const x0 = view(input).slice();
  const v = testValues(x0.length, seed + 1, false);
  const loss = (t: number) => {
    const x = view(input);
    for (let i = 0; i < x.length; i++) x[i] = x0[i] + t * v[i];
    const out = f();
    let s = 0;
    for (let i = 0; i < out.length; i++) s += R[i] * out[i];
    return s;
  };
  const h = 1e-2;
  const slope = (loss(h) - loss(-h)) / (2 * h);
  view(input).set(x0);
  f();
  const g = grad(put(R));
  let dot = 0, norm = 0;
  for (let i = 0; i < v.length; i++) {
    dot += g[i] * v[i];
    norm += Math.abs(g[i] * v[i]);
  }
  assert.ok(
    Math.abs(slope - dot) <= 2e-3 * norm + 1e-6,
    `${name}: finite-difference slope ${slope} vs backward ${dot} (scale ${norm})`,
  );
}

Deno.test("layers: rmsnorm backward (x and weight)", () => {
  const M = 5, D = 12;
  const x = put(testValues(M * D, 1)), w = put(testValues(D, 2)), out = be.alloc(M * D);
  const rstd = be.alloc(M);
  const f = () => (be.rmsnormForward(out, rstd, x, w, M, D, 1e-5), view(out));
  const back = (R: Tensor) => {
    const dx = be.alloc(M * D), dw = be.alloc(D);
    be.rmsnormBackward(dx, dw, R, x, w, rstd, M, D);
    return [view(dx), view(dw)];
  };
  check("rmsnorm dx", x, M * D, f, (R) => back(R)[0], 3);
  check("rmsnorm dweight", w, M * D, f, (R) => back(R)[1], 4);
});

Deno.test("layers: embedding backward", () => {
  const V = 9, D = 6, M = 11;
  const tokens = be.alloc(M, "i32");
  be.write(tokens, Int32Array.from({ length: M }, (_, i) => (i * 4) % V));
  const table = put(testValues(V * D, 5)), out = be.alloc(M * D);
  check(
    "embedding dtable",
    table,
    M * D,
    () => (be.embeddingForward(out, tokens, table, M, D), view(out)),
    (R) => {
      const d = be.alloc(V * D);
      be.embeddingBackward(d, R, tokens, M, D);
      return view(d);
    },
    6,
  );
});

Deno.test("layers: rope backward is the inverse rotation", () => {
  const B = 2, T = 6, H = 2, hd = 8, stride = 3 * H * hd;
  const tables = ropeTables(T, hd, 10000);
  const cos = put(tables.cos), sin = put(tables.sin);
  const x = put(testValues(B * T * stride, 7)), out = be.alloc(B * T * stride);
  check(
    "rope dx",
    x,
    B * T * stride,
    () => {
      be.copy(out, x);
      be.rope(out, B, T, stride, H * hd, H, hd, cos, sin, false);
      return view(out);
    },
    (R) => {
      be.rope(R, B, T, stride, H * hd, H, hd, cos, sin, true);
      return view(R);
    },
    8,
  );
});

for (const bf16 of [false]) {
  Deno.test("layers: causal attention backward (q, k and v)", () => {
    const B = 2, T = 5, D = 8, H = 2;
    const qkv = put(testValues(B * T * 3 * D, 9)), out = be.alloc(B * T * D);
    const probs = be.alloc(B * H * T * T);
    check(
      "attention dqkv",
      qkv,
      B * T * D,
      () => (be.attentionForward(out, probs, qkv, B, T, D, H, bf16), view(out)),
      (R) => {
        const d = be.alloc(B * T * 3 * D);
        be.attentionBackward(d, R, qkv, probs, B, T, D, H);
        return view(d);
      },
      10,
    );
  });
}

Deno.test("layers: swiglu backward", () => {
  const M = 4, F = 10;
  const gu = put(testValues(M * 2 * F, 11)), out = be.alloc(M * F);
  check(
    "swiglu dgateUp",
    gu,
    M * F,
    () => (be.swigluForward(out, gu, M, F), view(out)),
    (R) => {
      const d = be.alloc(M * 2 * F);
      be.swigluBackward(d, R, gu, M, F);
      return view(d);
    },
    12,
  );
});

Deno.test("layers: cross-entropy gradient is the derivative of the mean loss", () => {
  const M = 6, V = 13;
  const targets = be.alloc(M, "i32");
  be.write(targets, Int32Array.from({ length: M }, (_, i) => (i * 5) % V));
  const x = put(testValues(M * V, 13)), work = be.alloc(M * V), p = be.alloc(M);
  const meanLoss = () => {
    be.copy(work, x);
    be.crossEntropy(work, targets, p, M, V, null);
    let s = 0;
    for (const q of view(p)) s -= Math.log(q);
    return Float32Array.of(s / M);
  };
  check("cross-entropy dlogits", x, 1, meanLoss, (R) => {
    be.copy(work, x);
    be.crossEntropy(work, targets, p, M, V, view(R)[0]);
    return view(work);
  }, 14);
});

Deno.test("layers: the f32 linear layer's input and weight gradients (matmul layouts)", () => {
  const M = 7, K = 9, N = 5;
  const a = put(testValues(M * K, 15)), w = put(testValues(N * K, 16)), out = be.alloc(M * N);
  const f = () => (be.matmul(out, a, w, M, N, K, "nt", false), view(out));
  check("dA = dY·W", a, M * N, f, (R) => {
    const d = be.alloc(M * K);
    be.matmul(d, R, w, M, K, N, "nn", true);
    return view(d);
  }, 17);
  check("dW = dYᵀ·A", w, M * N, f, (R) => {
    const d = be.alloc(N * K);
    be.matmul(d, R, a, N, K, M, "tn", true);
    return view(d);
  }, 18);
});
