// The plain-SIMD build (no relaxed SIMD) is what runtimes without relaxed SIMD load; the main
// tests exercise whichever build this runtime picks, so this file runs the other one directly.
import assert from "node:assert/strict";
import { assertBitsEqual } from "../tests/_util/assert.ts";
import {
  WASM_INITIAL_PAGES,
  WASM_MAXIMUM_PAGES,
  WASM_RELAXED_SIMD_BASE64,
  WASM_SIMD_BASE64,
} from "./_wasm.generated.ts";
import { fp4Plan } from "./fp4_matmul.ts";
import { fp4MatmulReference, matmulReference } from "./reference.ts";
import { lcg, randomFp4 } from "./_testdata.ts";
import { type KernelExports, usesRelaxedSimd } from "./runtime.ts";

function instantiate(b64: string) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const memory = new WebAssembly.Memory({
    initial: WASM_INITIAL_PAGES,
    maximum: WASM_MAXIMUM_PAGES,
    shared: true,
  });
  memory.grow(64);
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as KernelExports;
  return { ex, memory };
}

Deno.test("the plain-SIMD build has no relaxed SIMD and computes the same GEMMs", () => {
  const { ex, memory } = instantiate(WASM_SIMD_BASE64);
  assert.equal(ex.usesRelaxedSimd(), 0);
  const rnd = lcg(4);
  for (const [m, n, k, layout] of [[7, 13, 300, 0], [20, 9, 5, 1], [3, 17, 64, 2]]) {
    const a = Float32Array.from({ length: m * k }, () => rnd() - 0.5);
    const b = Float32Array.from({ length: k * n }, () => rnd() - 0.5);
    const base = 4 << 20, aP = base, bP = aP + a.length * 4, cP = bP + b.length * 4;
    new Float32Array(memory.buffer, aP, a.length).set(a);
    new Float32Array(memory.buffer, bP, b.length).set(b);
    const tasks = ex.gemmF32Tasks(m, n, 72, 256);
    for (let t = 0; t < tasks; t++) {
      ex.gemmF32Task(layout, aP, bP, cP, m, n, k, 0, 72, 256, t, 65536);
    }
    const got = new Float32Array(memory.buffer, cP, m * n);
    const want = matmulReference(a, b, m, n, k, (["nn", "nt", "tn"] as const)[layout]);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `${i}`);
  }
});

Deno.test("the loader picks the relaxed build exactly when the runtime validates it", () => {
  const bytes = Uint8Array.from(atob(WASM_RELAXED_SIMD_BASE64), (c) => c.charCodeAt(0));
  const ok = WebAssembly.validate(bytes);
  assert.equal(usesRelaxedSimd(), ok);
  if (ok) assert.equal(instantiate(WASM_RELAXED_SIMD_BASE64).ex.usesRelaxedSimd(), 1);
});

Deno.test("the plain-SIMD FP4 GEMM (i32x4.dot_i16x8_s) is bit-identical to the reference", () => {
  const { ex, memory } = instantiate(WASM_SIMD_BASE64);
  const rnd = lcg(8);
  for (const [m, n, k, bc] of [[9, 19, 70, 0], [6, 16, 96, 32], [5, 11, 48, 16]]) {
    const a = randomFp4(m, k, 1, bc || k, bc === 16 ? "ue4m3" : "e8m0", rnd, bc === 16 ? 3 : 1);
    const w = randomFp4(n, k, 1, bc || k, bc === 16 ? "ue4m3" : "e8m0", rnd, bc === 16 ? 5 : 1);
    const p = fp4Plan(a, w);
    const kbp = Math.ceil(p.kb / 4) * 4, kp = p.nb * kbp, rowBytes = Math.ceil(k / 2);
    let off = 4 << 20;
    const put = (bytes: number) => {
      const at = off;
      off += Math.ceil(bytes / 16) * 16;
      return at;
    };
    const oA = put(a.data.length), oW = put(w.data.length);
    const oAp = put(p.mpad * kp), oWp = put(p.npad * kp);
    const oSA = put(p.sA.length * 4), oSW = put(p.sWt.length * 4), oSum = put(p.mpad * p.nb * 4);
    const oC = put(m * n * 4);
    const mem = memory.buffer;
    new Uint8Array(mem, oA, a.data.length).set(a.data);
    new Uint8Array(mem, oW, w.data.length).set(w.data);
    new Float32Array(mem, oSA, p.sA.length).set(p.sA);
    new Float32Array(mem, oSW, p.sWt.length).set(p.sWt);
    for (let t = 0; t < p.mpad / 4; t++) {
      ex.fp4PackTask(oA, m, k, rowBytes, p.kb, p.nb, kbp, 4, 0, oAp, oSum, t, 65536);
    }
    for (let t = 0; t < p.npad / 8; t++) {
      ex.fp4PackTask(oW, n, k, rowBytes, p.kb, p.nb, kbp, 8, 12, oWp, 0, t, 65536);
    }
    const tasks = ex.fp4GemmTasks(m, n, 64, 128);
    for (let t = 0; t < tasks; t++) {
      ex.fp4GemmTask(oAp, oWp, oSA, oSW, oSum, m, n, p.nb, kbp, p.q, oC, 64, 128, t, 65536);
    }
    assertBitsEqual(new Float32Array(mem, oC, m * n).slice(), fp4MatmulReference(a, w));
  }
});
