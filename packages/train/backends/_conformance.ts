/**
 * Op-by-op conformance of a backend against the `reference` backend: every operation of the
 * Backend interface on odd shapes, with zero tolerance where the math is exact (rounding, codes,
 * scales, the FP4 GEMM, copies) and a stated relative tolerance where f32 summation order may
 * differ. Test helper (not published): `backend_test.ts` runs it for `cpu`; the WebAssembly and
 * WebGPU backends' tests call it for theirs.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend, Tensor } from "../backend.ts";
import type { OperandSpec } from "../recipe.ts";
import { createReferenceBackend } from "./host.ts";
import { ropeTables } from "../layers.ts";

/** Relative tolerances (of the largest magnitude in the expected result) per kind of op. */
export interface Tolerances {
  /** GEMMs and anything summing over a long axis */
  readonly sum: number;
  /** element-wise transcendental ops (exp, rsqrt, sin/cos) */
  readonly elementwise: number;
}

/** One conformance case: a name and a run that returns the tensors to compare. */
interface Case {
  readonly name: string;
  readonly tolerance: "exact" | keyof Tolerances;
  readonly run: (be: Backend) => Promise<(Float32Array | Int32Array | number)[]>;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Deterministic test data: a standard-normal-ish mix with a few outliers. */
export function testValues(n: number, seed: number, outliers = true): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const g = (r() + r() + r() + r() - 2) * 1.7;
    out[i] = outliers && r() < 0.01 ? g * 20 : g;
  }
  return out;
}

function put(be: Backend, x: Float32Array | Int32Array): Tensor {
  const t = be.alloc(x.length, x instanceof Int32Array ? "i32" : "f32");
  be.write(t, x);
  return t;
}

async function read(be: Backend, ...ts: Tensor[]): Promise<(Float32Array | Int32Array)[]> {
  const out = [];
  for (const t of ts) out.push(await be.read(t));
  return out;
}

const SPECS: readonly [string, OperandSpec][] = [
  ["E2M1 row", { format: "E2M1", granularity: "row" }],
  ["E2M1 tensor", { format: "E2M1", granularity: "tensor" }],
  ["MXFP4", { format: "E2M1", granularity: "block", blockSize: 32, scaleRule: "e8m0-floor" }],
  ["NVFP4", { format: "E2M1", granularity: "block", blockSize: 16, scaleRule: "nvfp4" }],
  ["NVFP4 2-D", { format: "E2M1", granularity: "block2d", blockSize: 16, scaleRule: "nvfp4" }],
  ["E2M1 row stochastic", { format: "E2M1", granularity: "row", rounding: "stochastic" }],
  ["E2M1 row nearest-up", { format: "E2M1", granularity: "row", rounding: "nearest-up" }],
  ["MXFP4 rceil", { format: "E2M1", granularity: "block", blockSize: 32, scaleRule: "e8m0-rceil" }],
  ["E4M3 tensor", { format: "E4M3", granularity: "tensor" }],
  ["E5M2 tensor", { format: "E5M2", granularity: "tensor" }],
  ["BF16", { format: "BF16", granularity: "none" }],
  ["fp32", { format: "fp32" }],
];

function cases(): Case[] {
  const out: Case[] = [];
  const add = (name: string, tolerance: Case["tolerance"], run: Case["run"]) =>
    out.push({ name, tolerance, run });

  add("fill, copy, add, scale, transpose", "exact", async (be) => {
    const a = put(be, testValues(37 * 5, 1)), b = put(be, testValues(37 * 5, 2));
    const c = be.alloc(37 * 5), d = be.alloc(37 * 5), e = be.alloc(37 * 5);
    be.add(c, a, b);
    be.copy(d, c);
    be.scale(d, 0.375);
    be.transpose(e, a, 37, 5);
    const f = be.alloc(7);
    be.fill(f, -2.5);
    return await read(be, c, d, e, f);
  });
  for (const layout of ["nn", "nt", "tn"] as const) {
    for (const accumulate of [false, true]) {
      add(`matmul ${layout}${accumulate ? " accumulate" : ""} 33x17x65`, "sum", async (be) => {
        const m = 33, n = 17, k = 65;
        const a = put(be, testValues(m * k, 3)), b = put(be, testValues(k * n, 4));
        const c = put(be, testValues(m * n, 5));
        be.matmul(c, a, b, m, n, k, layout, accumulate);
        return await read(be, c);
      });
    }
  }
  for (const [name, spec] of SPECS) {
    add(`quantize ${name} 19x48 (+grid)`, "exact", async (be) => {
      const src = put(be, testValues(19 * 48, 6)),
        out = be.alloc(19 * 48),
        grid = be.alloc(19 * 48);
      const scaled = spec.format !== "fp32" && (spec.granularity ?? "none") !== "none";
      be.quantize(out, src, 19, 48, spec, 77, scaled ? grid : undefined);
      return await read(be, out, ...(scaled ? [grid] : []));
    });
  }
  for (const [name, spec] of SPECS.filter(([_n, s]) => s.format === "E2M1")) {
    add(`quantizeCodes + fp4Matmul ${name} 9x64 by 11x64`, "exact", async (be) => {
      const a = put(be, testValues(9 * 64, 8)), w = put(be, testValues(11 * 64, 9, false));
      const da = be.alloc(9 * 64), dw = be.alloc(11 * 64), grid = be.alloc(11 * 64);
      const out = be.alloc(9 * 11);
      const qa = be.quantizeCodes(a, 9, 64, spec, 3, da);
      const qw = be.quantizeCodes(w, 11, 64, spec, 4, dw, grid);
      be.fp4Matmul(out, qa, qw);
      be.freeQuantized(qa);
      be.freeQuantized(qw);
      return await read(be, da, dw, grid, out);
    });
  }
  add("operandStats", "elementwise", async (be) => {
    const src = put(be, testValues(13 * 40, 10)), q = be.alloc(13 * 40);
    be.quantize(q, src, 13, 40, SPECS[0][1], 0);
    const s = await be.operandStats(src, q, 13, 40);
    return [s.crestMean, s.crestMax, s.zeroFraction];
  });
  for (const scope of ["row", "tensor"] as const) {
    add(`occClamp ${scope} + residualAdd`, "exact", async (be) => {
      const src = put(be, testValues(12 * 100, 11)), clamped = be.alloc(12 * 100);
      const r = be.occClamp(clamped, src, 12, 100, 0.97, scope);
      const dense = put(be, testValues(12 * 100, 12));
      be.residualAdd(dense, r);
      const sparsity = await r.sparsity;
      be.freeResidual(r);
      return [...await read(be, clamped, dense), sparsity];
    });
    add(`occClamp ${scope} residualMatmul`, "sum", async (be) => {
      const src = put(be, testValues(12 * 100, 13)), clamped = be.alloc(12 * 100);
      const r = be.occClamp(clamped, src, 12, 100, 0.97, scope);
      const w = put(be, testValues(7 * 100, 14)), out = put(be, testValues(12 * 7, 15));
      be.residualMatmul(out, r, w, 7);
      be.freeResidual(r);
      return await read(be, out);
    });
  }
  add("dge", "elementwise", async (be) => {
    const w = put(be, testValues(10 * 33, 16, false)), wq = be.alloc(330), grid = be.alloc(330);
    be.quantize(wq, w, 10, 33, SPECS[0][1], 0, grid);
    const raw = put(be, testValues(330, 17)), acc = put(be, testValues(330, 18));
    const s = await be.dge(acc, raw, grid, "E2M1", 5, 3);
    return [...await read(be, acc), s.meanFactor, s.cappedFraction];
  });
  for (const layout of ["tn", "nt"] as const) {
    // The weight gradient with DGE: the fused op where the backend has it, else its two calls.
    add(`matmul ${layout} with DGE 13x33 over 300`, "sum", async (be) => {
      const w = put(be, testValues(13 * 33, 22, false)), grid = be.alloc(13 * 33);
      be.quantize(be.alloc(13 * 33), w, 13, 33, SPECS[0][1], 0, grid);
      const dy = put(be, testValues(300 * 13, 23)), a = put(be, testValues(300 * 33, 24));
      const dyT = be.alloc(13 * 300), aT = be.alloc(33 * 300);
      be.transpose(dyT, dy, 300, 13);
      be.transpose(aT, a, 300, 33);
      const [x, y] = layout === "tn" ? [dy, a] : [dyT, aT];
      const acc = put(be, testValues(13 * 33, 25));
      let s = be.matmulDge?.(acc, x, y, 13, 33, 300, layout, grid, "E2M1", 5, 3, true);
      if (!s) {
        const raw = be.alloc(13 * 33);
        be.matmul(raw, x, y, 13, 33, 300, layout, false);
        s = be.dge(acc, raw, grid, "E2M1", 5, 3);
      }
      const stats = await s;
      return [...await read(be, acc), stats.meanFactor, stats.cappedFraction];
    });
  }
  for (const size of [16, 32] as const) {
    add(`hadamard ${size}`, "sum", async (be) => {
      const t = put(be, testValues(5 * 96, 19));
      be.hadamard(t, 5, 96, size, 42);
      return await read(be, t);
    });
  }
  add("embedding forward and backward", "exact", async (be) => {
    const V = 11, D = 7, M = 13;
    const tokens = put(be, Int32Array.from({ length: M }, (_, i) => (i * 5) % V));
    const table = put(be, testValues(V * D, 20)), out = be.alloc(M * D);
    be.embeddingForward(out, tokens, table, M, D);
    const dtable = put(be, testValues(V * D, 21));
    be.embeddingBackward(dtable, put(be, testValues(M * D, 22)), tokens, M, D);
    return await read(be, out, dtable);
  });
  add("rmsnorm forward and backward", "elementwise", async (be) => {
    const M = 9, D = 37;
    const x = put(be, testValues(M * D, 23)), w = put(be, testValues(D, 24));
    const out = be.alloc(M * D), rstd = be.alloc(M);
    be.rmsnormForward(out, rstd, x, w, M, D, 1e-5);
    const dx = put(be, testValues(M * D, 25)), dw = put(be, testValues(D, 26));
    be.rmsnormBackward(dx, dw, put(be, testValues(M * D, 27)), x, w, rstd, M, D);
    return await read(be, out, rstd, dx, dw);
  });
  add("rope forward and inverse", "elementwise", async (be) => {
    const B = 2, T = 5, H = 3, hd = 8, stride = 3 * H * hd;
    const tables = ropeTables(T, hd, 10000);
    const cos = put(be, tables.cos), sin = put(be, tables.sin);
    const x = put(be, testValues(B * T * stride, 28)), y = put(be, testValues(B * T * stride, 29));
    be.rope(x, B, T, stride, H * hd, H, hd, cos, sin, false);
    be.rope(y, B, T, stride, 0, H, hd, cos, sin, true);
    return await read(be, x, y);
  });
  for (const bf16 of [false, true]) {
    add(`attention forward and backward${bf16 ? " (BF16 P)" : ""}`, "sum", async (be) => {
      const B = 2, T = 7, D = 12, H = 3;
      const qkv = put(be, testValues(B * T * 3 * D, 30)), out = be.alloc(B * T * D);
      const probs = be.alloc(B * H * T * T);
      be.attentionForward(out, probs, qkv, B, T, D, H, bf16);
      const dqkv = put(be, testValues(B * T * 3 * D, 31));
      be.attentionBackward(dqkv, put(be, testValues(B * T * D, 32)), qkv, probs, B, T, D, H);
      return await read(be, out, probs, dqkv);
    });
  }
  add("swiglu forward and backward", "elementwise", async (be) => {
    const M = 7, F = 19;
    const gu = put(be, testValues(M * 2 * F, 33)), out = be.alloc(M * F);
    be.swigluForward(out, gu, M, F);
    const dgu = put(be, testValues(M * 2 * F, 34));
    be.swigluBackward(dgu, put(be, testValues(M * F, 35)), gu, M, F);
    return await read(be, out, dgu);
  });
  for (const gradScale of [null, 1, 1024]) {
    add(`crossEntropy gradScale ${gradScale}`, "elementwise", async (be) => {
      const M = 9, V = 70;
      const logits = put(be, testValues(M * V, 36));
      const targets = put(be, Int32Array.from({ length: M }, (_, i) => (i * 13) % V));
      const p = be.alloc(M);
      be.crossEntropy(logits, targets, p, M, V, gradScale);
      return await read(be, logits, p);
    });
  }
  add("hasNonFinite", "exact", async (be) => {
    const a = put(be, testValues(50, 37)), b = put(be, testValues(50, 38));
    be.scale(b, Infinity);
    return [Number(await be.hasNonFinite(a)), Number(await be.hasNonFinite(b))];
  });
  add("unscale and clipGradNorm", "sum", async (be) => {
    const g = [put(be, testValues(100, 39)), put(be, testValues(33, 40))];
    const finite = await be.unscale(g, 1 / 64);
    const norm = await be.clipGradNorm(g, 0.5);
    return [Number(finite), norm, ...await read(be, ...g)];
  });
  add("fp8AllReduce over 3 ranks", "exact", async (be) => {
    const ranks = [0, 1, 2].map((
      r,
    ) => [put(be, testValues(64, 41 + r)), put(be, testValues(9, 50 + r))]);
    const bytes = await be.fp8AllReduce(ranks);
    return [bytes, ...await read(be, ...ranks.flat())];
  });
  for (const [m1, m2] of [["f32", "f32"], ["E4M3", "FP16"]] as const) {
    add(`adamw ${m1}/${m2}: three steps and export`, "elementwise", async (be) => {
      const params = [put(be, testValues(40, 60)), put(be, testValues(7, 61))];
      const opt = be.adamwCreate(params, { weightDecay: [0.1, 0], m1Format: m1, m2Format: m2 });
      for (let s = 0; s < 3; s++) {
        be.adamwStep(opt, [put(be, testValues(40, 62 + s)), put(be, testValues(7, 70 + s))], 1e-2);
      }
      const ck = await be.adamwExport(opt);
      const restored = be.adamwImport(params, ck);
      be.adamwStep(restored, [put(be, testValues(40, 80)), put(be, testValues(7, 81))], 1e-2);
      return [ck.step, ...ck.m1Scales, ...ck.m2Scales, ...await read(be, ...params)];
    });
  }
  return out;
}

function flatten(xs: (Float32Array | Int32Array | number)[]): number[] {
  const out: number[] = [];
  for (const x of xs) {
    if (typeof x === "number") out.push(x);
    else for (const v of x) out.push(v);
  }
  return out;
}

/**
 * Registers one `Deno.test` step per operation comparing `make()`'s backend with `reference`.
 *
 * @param t the test context
 * @param make creates the backend under test
 * @param tolerances relative tolerances for non-exact ops
 * @param refuses case names (substrings) the backend must refuse with a "not supported" error
 */
export async function checkConformance(
  t: Deno.TestContext,
  make: () => Backend | Promise<Backend>,
  tolerances: Tolerances = { sum: 1e-5, elementwise: 1e-6 },
  refuses: readonly string[] = [],
): Promise<void> {
  const ref = createReferenceBackend();
  const be = await make();
  try {
    for (const c of cases()) {
      await t.step(c.name, async () => {
        if (refuses.some((r) => c.name.includes(r))) {
          // A backend may refuse a scheme it does not implement, but clearly, never silently.
          await assert.rejects(() => c.run(be), /not supported/);
          return;
        }
        const want = flatten(await c.run(ref));
        const got = flatten(await c.run(be));
        assert.equal(got.length, want.length, "result sizes");
        if (c.tolerance === "exact") {
          for (let i = 0; i < want.length; i++) {
            if (!Object.is(got[i], want[i]) && !(got[i] === want[i])) {
              assert.fail(`element ${i}: ${got[i]} vs reference ${want[i]} (exact)`);
            }
          }
          return;
        }
        const tol = tolerances[c.tolerance];
        let scale = 0;
        for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < want.length; i++) {
          const ok = Number.isNaN(want[i])
            ? Number.isNaN(got[i])
            : Math.abs(got[i] - want[i]) <= tol * Math.max(scale, 1e-30);
          if (!ok) {
            assert.fail(
              `element ${i}: ${got[i]} vs reference ${want[i]} (tolerance ${tol} of ${scale})`,
            );
          }
        }
      });
    }
  } finally {
    be.dispose();
    ref.dispose();
  }
}
