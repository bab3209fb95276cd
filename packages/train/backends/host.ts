/**
 * Backends whose tensors are host typed arrays: `reference` (every operation in plain
 * TypeScript, the oracle the fast backends are tested against) and `cpu` (the same element-wise
 * operations, with the GEMMs on the kernel set's WebAssembly SIMD kernels and worker pool).
 * Both share one implementation and differ only in their GEMMs.
 *
 * @module
 */
import { parseFormat } from "@fp4lab/fp4-format";
import {
  fp4Matmul as kernelFp4Matmul,
  fp4MatmulReference,
  getThreads,
  matmul as kernelMatmul,
  matmulReference,
  type QuantizedTensor,
} from "@fp4lab/kernels";
import { randomHadamard } from "@fp4lab/quant-granularity";
import { clampOutliers, csrMatmul, type CsrMatrix } from "@fp4lab/outlier-comp";
import { applyGradientFactor } from "@fp4lab/dge";
import {
  type AdamWState,
  adamwStep,
  adamwStepReference,
  clipGradNorm,
  createAdamW,
  exportAdamWState,
  fp8AllReduce,
  importAdamWState,
} from "@fp4lab/mixed-optim";
import type {
  Backend,
  DType,
  OptimizerHandle,
  OutlierResidual,
  QuantizedOperand,
  Tensor,
} from "../backend.ts";
import {
  attentionBackward,
  attentionForward,
  embeddingBackward,
  embeddingForward,
  type MatmulFn,
  rmsnormBackward,
  rmsnormForward,
  ropeApply,
  swigluBackward,
  swigluForward,
} from "../layers.ts";
import { operandStats, quantizeOperand, quantizeOperandTensor } from "../operand.ts";

interface HostQuantized extends QuantizedOperand {
  readonly q: QuantizedTensor;
}

interface HostResidual extends OutlierResidual {
  readonly csr: CsrMatrix;
}

interface HostOptimizer extends OptimizerHandle {
  readonly state: AdamWState;
}

/** The GEMMs a host backend runs on. */
export interface HostGemms {
  /** f32 GEMM with the kernel set's `matmul` signature */
  readonly matmul: MatmulFn;
  /** exact FP4 GEMM writing into `out` */
  readonly fp4Matmul: (out: Float32Array, a: QuantizedTensor, w: QuantizedTensor) => void;
}

const referenceMatmul: MatmulFn = (a, b, m, n, k, options = {}) =>
  matmulReference(
    a,
    b,
    m,
    n,
    k,
    options.layout ?? "nn",
    options.out ?? new Float32Array(m * n),
    options.accumulate ?? false,
  );

/**
 * The `reference` backend: plain TypeScript throughout (GEMMs included), slow and obvious.
 *
 * @returns a backend
 * @example
 * ```ts
 * import { createReferenceBackend } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const be = createReferenceBackend();
 * const a = be.alloc(2), b = be.alloc(2), c = be.alloc(1);
 * be.write(a, new Float32Array([1, 2]));
 * be.write(b, new Float32Array([3, 4]));
 * be.matmul(c, a, b, 1, 1, 2, "nn", false);
 * assert.deepEqual(await be.read(c), new Float32Array([11]));
 * ```
 */
export function createReferenceBackend(): Backend {
  return createHostBackend("reference", "reference (plain TypeScript)", {
    matmul: referenceMatmul,
    fp4Matmul: (out, a, w) => out.set(fp4MatmulReference(a, w)),
  });
}

/**
 * The `cpu-host` backend: host typed arrays, GEMMs on the kernel set (WebAssembly SIMD, worker
 * pool), element-wise operations in TypeScript. The engine's default is the resident `cpu`
 * backend ({@link createCpuBackend} in `wasm.ts`); this one is kept as its plainer twin.
 *
 * @returns a backend
 * @example
 * ```ts
 * import { createHostCpuBackend } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const be = createHostCpuBackend();
 * const t = be.alloc(3);
 * be.fill(t, 2);
 * be.scale(t, 1.5);
 * assert.deepEqual(await be.read(t), new Float32Array([3, 3, 3]));
 * ```
 */
export function createHostCpuBackend(): Backend {
  return createHostBackend(
    "cpu-host",
    `cpu-host (${getThreads()} threads, WebAssembly SIMD GEMMs)`,
    {
      matmul: kernelMatmul,
      fp4Matmul: (out, a, w) => {
        kernelFp4Matmul(a, w, { out });
      },
    },
  );
}

/**
 * A backend over host typed arrays with the given GEMMs.
 *
 * @param name backend name
 * @param device report line
 * @param gemms the f32 and FP4 GEMMs
 * @returns a backend
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHostBackend } from "@fp4lab/train";
 * import { fp4Matmul, matmul } from "@fp4lab/kernels";
 * const be = createHostBackend("mine", "my GEMMs", {
 *   matmul,
 *   fp4Matmul: (out, a, w) => { fp4Matmul(a, w, { out }); },
 * });
 * assert.equal(be.name, "mine");
 * ```
 */
export function createHostBackend(name: string, device: string, gemms: HostGemms): Backend {
  const buffers = new Map<number, Float32Array | Int32Array>();
  let nextId = 1;
  const get = (t: Tensor): Float32Array | Int32Array => {
    const buf = buffers.get(t.buffer);
    if (!buf) throw new RangeError(`tensor buffer ${t.buffer} is not allocated on ${name}`);
    return t.offset === 0 && t.length === buf.length
      ? buf
      : buf.subarray(t.offset, t.offset + t.length);
  };
  const f = (t: Tensor): Float32Array => {
    if (t.dtype !== "f32") throw new TypeError(`expected an f32 tensor, got ${t.dtype}`);
    return get(t) as Float32Array;
  };
  const i32 = (t: Tensor): Int32Array => {
    if (t.dtype !== "i32") throw new TypeError(`expected an i32 tensor, got ${t.dtype}`);
    return get(t) as Int32Array;
  };
  const { matmul } = gemms;

  return {
    name,
    device,
    alloc(length: number, dtype: DType = "f32"): Tensor {
      if (!Number.isInteger(length) || length < 0) {
        throw new RangeError(`alloc: length must be a non-negative integer, got ${length}`);
      }
      const id = nextId++;
      buffers.set(id, dtype === "f32" ? new Float32Array(length) : new Int32Array(length));
      return { buffer: id, offset: 0, length, dtype };
    },
    free(t) {
      buffers.delete(t.buffer);
    },
    write(t, data) {
      if (data.length !== t.length) {
        throw new RangeError(`write: ${data.length} values into a tensor of ${t.length}`);
      }
      get(t).set(data);
    },
    read(t) {
      return Promise.resolve(get(t).slice());
    },
    view: get,
    sync: () => Promise.resolve(),
    dispose() {
      buffers.clear();
    },

    fill(t, value) {
      get(t).fill(value);
    },
    copy(dst, src) {
      get(dst).set(get(src));
    },
    add(out, a, b) {
      const o = f(out), x = f(a), y = f(b);
      for (let i = 0; i < o.length; i++) o[i] = x[i] + y[i];
    },
    scale(t, s) {
      const x = f(t);
      for (let i = 0; i < x.length; i++) x[i] *= s;
    },
    transpose(dst, src, rows, cols) {
      const d = f(dst), s = f(src);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) d[c * rows + r] = s[r * cols + c];
      }
    },

    matmul(out, a, b, m, n, k, layout, accumulate) {
      matmul(f(a), f(b), m, n, k, { layout, out: f(out), accumulate });
    },
    fp4Matmul(out, a, w) {
      gemms.fp4Matmul(f(out), (a as HostQuantized).q, (w as HostQuantized).q);
    },

    quantize(out, src, rows, cols, spec, seed, grid) {
      quantizeOperand(f(src), rows, cols, spec, f(out), seed, grid ? f(grid) : undefined);
    },
    quantizeCodes(src, rows, cols, spec, seed, dequantized, grid): HostQuantized {
      const q = quantizeOperandTensor(
        f(src),
        rows,
        cols,
        spec,
        dequantized ? f(dequantized) : new Float32Array(rows * cols),
        seed,
        grid ? f(grid) : undefined,
      );
      return { rows, cols, q };
    },
    freeQuantized() {},
    operandStats(src, rounded, rows, cols) {
      return Promise.resolve(operandStats(f(src), f(rounded), rows, cols));
    },
    occClamp(clamped, src, rows, cols, alpha, scope): HostResidual {
      const r = clampOutliers(f(src), rows, cols, { alpha, scope, out: f(clamped) });
      return { rows, cols, csr: r.residual, sparsity: Promise.resolve(r.sparsity) };
    },
    residualMatmul(out, residual, w, n) {
      csrMatmul((residual as HostResidual).csr, f(w), n, f(out), true, "nt");
    },
    residualAdd(dense, residual) {
      const { rowOffsets, columnIndices, values, rows, cols } = (residual as HostResidual).csr;
      const d = f(dense);
      for (let r = 0; r < rows; r++) {
        for (let e = rowOffsets[r]; e < rowOffsets[r + 1]; e++) {
          d[r * cols + columnIndices[e]] += values[e];
        }
      }
    },
    freeResidual() {},
    dge(acc, raw, grid, format, k, cap) {
      const r = f(raw), a = f(acc);
      const { meanFactor, cappedFraction } = applyGradientFactor(r, f(grid), parseFormat(format), {
        k,
        cap,
        out: r,
      });
      for (let i = 0; i < a.length; i++) a[i] += r[i];
      return Promise.resolve({ meanFactor, cappedFraction });
    },
    hadamard(t, rows, cols, size, seed) {
      const x = f(t);
      randomHadamard(x, rows, cols, { size, seed, out: x });
    },

    embeddingForward(out, tokens, table, M, D) {
      embeddingForward(f(out), i32(tokens), f(table), M, D);
    },
    embeddingBackward(dtable, dout, tokens, M, D) {
      embeddingBackward(f(dtable), f(dout), i32(tokens), M, D);
    },
    rmsnormForward(out, rstd, x, weight, M, D, eps) {
      rmsnormForward(f(out), f(rstd), f(x), f(weight), M, D, eps);
    },
    rmsnormBackward(dx, dweight, dout, x, weight, rstd, M, D) {
      rmsnormBackward(f(dx), f(dweight), f(dout), f(x), f(weight), f(rstd), M, D);
    },
    rope(x, B, T, stride, offset, heads, headDim, cos, sin, inverse) {
      ropeApply(f(x), B, T, stride, offset, heads, headDim, f(cos), f(sin), inverse);
    },
    attentionForward(out, probs, qkv, B, T, D, H, bf16) {
      attentionForward(f(out), f(probs), f(qkv), B, T, D, H, bf16, matmul);
    },
    attentionBackward(dqkv, dout, qkv, probs, B, T, D, H) {
      attentionBackward(f(dqkv), f(dout), f(qkv), f(probs), B, T, D, H, matmul);
    },
    swigluForward(out, gateUp, M, F) {
      swigluForward(f(out), f(gateUp), M, F);
    },
    swigluBackward(dgateUp, dout, gateUp, M, F) {
      swigluBackward(f(dgateUp), f(dout), f(gateUp), M, F);
    },
    crossEntropy(logits, targets, targetProbs, M, V, gradScale) {
      softmaxCrossEntropy(f(logits), i32(targets), f(targetProbs), M, V, gradScale);
    },
    hasNonFinite(t) {
      const x = get(t);
      for (let i = 0; i < x.length; i++) {
        if (!Number.isFinite(x[i])) return Promise.resolve(true);
      }
      return Promise.resolve(false);
    },

    unscale(grads, inverseScale) {
      let finite = true;
      for (const t of grads) {
        const g = f(t);
        for (let i = 0; i < g.length; i++) {
          const x = g[i] * inverseScale;
          g[i] = x;
          if (x - x !== 0) finite = false;
        }
      }
      return Promise.resolve(finite);
    },
    clipGradNorm(grads, maxNorm) {
      return Promise.resolve(clipGradNorm(grads.map(f), maxNorm));
    },
    fp8AllReduce(rankGrads) {
      return Promise.resolve(fp8AllReduce(rankGrads.map((g) => g.map(f))).totalBytes);
    },
    adamwCreate(params, options): HostOptimizer {
      const state = createAdamW(params.map(f), {
        weightDecay: [...options.weightDecay],
        m1Format: options.m1Format,
        m2Format: options.m2Format,
      });
      return {
        state,
        get step() {
          return state.step;
        },
      };
    },
    adamwImport(params, checkpoint): HostOptimizer {
      const state = importAdamWState(params.map(f), checkpoint);
      return {
        state,
        get step() {
          return state.step;
        },
      };
    },
    adamwStep(opt, grads, lr) {
      // The oracle stays plain TypeScript: mixed-optim's adamwStep runs on the kernel set.
      (name === "reference" ? adamwStepReference : adamwStep)(
        (opt as HostOptimizer).state,
        grads.map(f),
        lr,
      );
    },
    adamwExport(opt) {
      return Promise.resolve(exportAdamWState((opt as HostOptimizer).state));
    },
  };
}

/**
 * Row-wise softmax cross-entropy in place: probabilities, each row's target probability, and
 * with `gradScale` the gradient of the mean loss times `gradScale` (a power of two: exact).
 *
 * @param logits [M, V] logits, replaced
 * @param targets M target ids
 * @param targetProbs M: p[target] per row
 * @param M rows
 * @param V vocabulary
 * @param gradScale null for probabilities only
 * @example
 * ```ts
 * import { softmaxCrossEntropy } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const logits = new Float32Array([0, 0]), p = new Float32Array(1);
 * softmaxCrossEntropy(logits, new Int32Array([1]), p, 1, 2, 1);
 * assert.deepEqual([...p, ...logits], [0.5, 0.5, -0.5]);
 * ```
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  targets: Int32Array,
  targetProbs: Float32Array,
  M: number,
  V: number,
  gradScale: number | null,
): void {
  for (let m = 0; m < M; m++) {
    const o = m * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
    let sum = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(logits[o + v] - max);
      logits[o + v] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let v = 0; v < V; v++) logits[o + v] *= inv;
    // A NaN logit makes max NaN and every probability NaN: the loss reports it.
    targetProbs[m] = Number.isNaN(max) ? NaN : logits[o + targets[m]];
  }
  if (gradScale === null) return;
  const invM = 1 / M;
  for (let m = 0; m < M; m++) {
    const o = m * V;
    for (let v = 0; v < V; v++) logits[o + v] = logits[o + v] * invM;
    logits[o + targets[m]] -= invM;
  }
  if (gradScale !== 1) { for (let i = 0; i < M * V; i++) logits[i] *= gradScale; }
}
