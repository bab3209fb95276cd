/**
 * The resident CPU backend: every tensor of the run (parameters, gradients, activations,
 * optimizer moments, quantized operands, OCC residuals) lives in the kernel set's shared
 * WebAssembly memory from allocation to release, and every operation is a WebAssembly SIMD kernel
 * of `@fp4lab/kernels` run in place, spread over its worker pool. Nothing is copied in or out per
 * call; {@link Backend.read} and {@link Backend.view} are the only edges.
 *
 * Exactness follows the interface: rounding, codes, scales, the FP4 GEMM, the OCC clamp and its
 * residual product, AdamW's update and moment rounding are bit-identical to the plain TypeScript
 * of the packages; sums of f32 products (GEMMs, norms, softmax, attention) differ from the
 * `reference` backend in summation order only.
 *
 * @module
 */
import {
  ensureScratch,
  fp4MatmulAt,
  getThreads,
  heapAlloc,
  heapFree,
  kernelExports,
  matmulAt,
  matmulCodesAt,
  matmulDgeAt,
  memoryBuffer,
  runTasks,
  setThreads,
  usesRelaxedSimd,
} from "@fp4lab/kernels";
import { type FloatFormat, parseFormat, seedKey } from "@fp4lab/fp4-format";
import { hadamardSigns } from "@fp4lab/quant-granularity";
import { quantileRanks } from "@fp4lab/outlier-comp";
import { gridPoints } from "@fp4lab/dge";
import {
  type AdamWCheckpoint,
  type AdamWState,
  createAdamW,
  exportAdamWState,
  fp8AllReduce as hostFp8AllReduce,
  importAdamWState,
  type MomentFormat,
  pow2Scale,
} from "@fp4lab/mixed-optim";
import type {
  Backend,
  BackendAdamWOptions,
  DgeStats,
  DType,
  GemmLayout,
  OperandStats,
  OptimizerHandle,
  OutlierResidual,
  QuantizedOperand,
  Tensor,
} from "../backend.ts";
import type { OperandSpec } from "../recipe.ts";
import { quantizeOperand, quantizeOperandTensor } from "../operand.ts";

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /** Threads of the kernel pool (the process-wide setting); default: leave it as it is. */
  readonly threads?: number;
}

interface Allocation {
  ptr: number;
  length: number;
  dtype: DType;
}

interface WasmQuantized extends QuantizedOperand {
  readonly codes: number; // nibble-packed codes, rows x ceil(cols / 2) bytes
  readonly scales: number; // f32 per (group row, group column), group rows padded to 8
  readonly blockRows: number;
  readonly blockCols: number;
  readonly tensorScale: number;
  readonly block: number; // the heap block holding both
}

interface WasmResidual extends OutlierResidual {
  readonly cap: number;
  readonly values: number;
  readonly columns: number;
  readonly counts: number;
  readonly block: number;
}

interface WasmOptimizer extends OptimizerHandle {
  step: number;
  readonly params: readonly Tensor[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: readonly number[];
  readonly m1Format: MomentFormat;
  readonly m2Format: MomentFormat;
  readonly m1: Tensor[];
  readonly m2: Tensor[];
  readonly m1Scales: Float64Array;
  readonly m2Scales: Float64Array;
  /** pending rounding ratio of each stored moment (previous scale / current scale) */
  readonly m1Ratio: Float64Array;
  readonly m2Ratio: Float64Array;
}

/** Elements per task of the element-wise kernels (measured: see the backend's README). */
const ELEMENTS_PER_TASK = 1 << 15;
/** Below this many elements an element-wise op runs on the calling thread only. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;
/** Below this much work (elements touched) a row-wise op runs on the calling thread only. */
const PARALLEL_MIN_WORK = 1 << 16;

const MOMENT_CODE: Record<string, number> = { f32: 0, E4M3: 1, FP16: 2, BF16: 3 };

/**
 * Creates the resident CPU backend.
 *
 * @param options kernel threads
 * @returns a {@link Backend} named `cpu`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createWasmBackend } from "./wasm.ts";
 * const be = createWasmBackend();
 * const t = be.alloc(4);
 * be.fill(t, 2);
 * be.scale(t, 1.5);
 * assert.deepEqual(Array.from(await be.read(t)), [3, 3, 3, 3]);
 * be.dispose();
 * ```
 */
export function createWasmBackend(options: WasmBackendOptions = {}): Backend {
  if (options.threads !== undefined) setThreads(options.threads);
  const handles = new Map<number, Allocation>();
  let nextHandle = 1;
  const quantized = new Set<WasmQuantized>();
  const residuals = new Set<WasmResidual>();
  // A small block for kernel parameters and partial results, grown on demand.
  let workPtr = 0, workBytes = 0;
  const work = (bytes: number): number => {
    if (bytes > workBytes) {
      if (workPtr) heapFree(workPtr);
      workBytes = Math.max(bytes, 65536, workBytes * 2);
      workPtr = heapAlloc(workBytes);
    }
    return workPtr;
  };
  const kx = kernelExports();
  // The residual product's transposed W, kept between calls and grown on demand.
  let wTPtr = 0, wTBytes = 0;
  const transposeScratch = (bytes: number): number => {
    if (bytes > wTBytes) {
      if (wTPtr) heapFree(wTPtr);
      wTBytes = bytes;
      wTPtr = heapAlloc(wTBytes);
    }
    return wTPtr;
  };

  function alloc(length: number, dtype: DType = "f32"): Tensor {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`length must be a non-negative integer, got ${length}`);
    }
    const ptr = heapAlloc(length * 4);
    const buffer = nextHandle++;
    handles.set(buffer, { ptr, length, dtype });
    return { buffer, offset: 0, length, dtype };
  }

  function addr(t: Tensor): number {
    const a = handles.get(t.buffer);
    if (!a) throw new RangeError(`tensor ${t.buffer} is not allocated on this backend`);
    return a.ptr + t.offset * 4;
  }

  function f32(t: Tensor): Float32Array {
    return new Float32Array(memoryBuffer(), addr(t), t.length);
  }

  function view(t: Tensor): Float32Array | Int32Array {
    return t.dtype === "i32" ? new Int32Array(memoryBuffer(), addr(t), t.length) : f32(t);
  }

  const threads = () => getThreads();

  /** Element-wise job over n elements: tasks of ELEMENTS_PER_TASK. */
  function elementwise(name: string, args: number[], n: number, trailing: number[] = []): void {
    if (n <= 0) return;
    const per = ELEMENTS_PER_TASK;
    const total = Math.ceil(n / per);
    runTasks(name, [...args, per, ...trailing], total, n >= PARALLEL_MIN_ELEMENTS);
  }

  /** Row-wise job: rows split into about 4 tasks per thread once the work pays for waking. */
  function rowwise(name: string, args: number[], rows: number, rowWork: number): void {
    if (rows <= 0) return;
    const parallel = rows * rowWork >= PARALLEL_MIN_WORK && threads() > 1;
    const per = parallel ? Math.max(1, Math.ceil(rows / (4 * threads()))) : rows;
    runTasks(name, [...args, per], Math.ceil(rows / per), parallel);
  }

  function freeBuffer(t: Tensor): void {
    const a = handles.get(t.buffer);
    if (!a) return;
    heapFree(a.ptr);
    handles.delete(t.buffer);
  }

  // ---- quantization ------------------------------------------------------------------------

  interface Plan {
    format: FloatFormat;
    rule: number;
    blockRows: number;
    blockCols: number;
    stochastic: boolean;
  }

  // What the resident quantizer kernels implement; any other spec (the paper's nearest-up ties,
  // the other E8M0 rules, pow2-floor, taller 2-D blocks) runs the TypeScript quantizer on views
  // of the shared memory: slower, the same bits.
  function kernelSupports(spec: OperandSpec): boolean {
    const rule = spec.scaleRule ?? "absmax";
    return spec.rounding !== "nearest-up" && spec.blockRows === undefined &&
      (rule === "absmax" || rule === "e8m0-floor" || rule === "nvfp4");
  }

  function planOf(spec: OperandSpec, rows: number, cols: number): Plan {
    const format = parseFormat(spec.format);
    const granularity = spec.granularity ?? "none";
    const scaleRule = spec.scaleRule ?? "absmax";
    const rule = granularity === "none"
      ? 0
      : scaleRule === "absmax"
      ? 1
      : scaleRule === "e8m0-floor"
      ? 2
      : 3;
    let blockRows = 1, blockCols = cols;
    if (granularity === "tensor") [blockRows, blockCols] = [rows, cols];
    else if (granularity === "block") blockCols = spec.blockSize ?? 32;
    else if (granularity === "block2d") {
      blockCols = spec.blockSize ?? 16;
      blockRows = blockCols;
    }
    return { format, rule, blockRows, blockCols, stochastic: spec.rounding === "stochastic" };
  }

  /** Largest |x| over n elements at p (the tensor scales). */
  function tensorAmax(p: number, n: number): number {
    const per = ELEMENTS_PER_TASK;
    const total = Math.ceil(n / per);
    const out = work(total * 4 + 64);
    runTasks("amaxTask", [p, n, per, out], total, n >= PARALLEL_MIN_ELEMENTS);
    const bits = new Uint32Array(memoryBuffer(), out, total);
    let m = 0;
    for (let i = 0; i < total; i++) if (bits[i] > m) m = bits[i];
    return new Float32Array(new Uint32Array([m]).buffer)[0];
  }

  /**
   * Runs the quantizer kernel: dequantized values / codes / grid units / group scales, as the
   * pointers ask (0: not wanted).
   */
  function runQuant(
    src: number,
    rows: number,
    cols: number,
    plan: Plan,
    seed: number,
    deq: number,
    codes: number,
    grid: number,
    scales: number,
  ): number {
    const { format, rule, blockRows, blockCols } = plan;
    let given = -1, perAmax = 0, sDec = 0, tensorScale = 1;
    const tensorScope = blockRows === rows && blockCols === cols && rule !== 0;
    if (tensorScope || rule === 3) {
      const amax = tensorAmax(src, rows * cols);
      if (tensorScope) given = amax;
      if (rule === 3) {
        // NVFP4's tensor-level scale, in TransformerEngine's f32 order.
        const fr = Math.fround;
        const sEnc = amax === 0
          ? 1
          : Math.min(fr(fr(448 * format.maxNormal) / amax), 3.4028234663852886e38);
        tensorScale = sEnc;
        sDec = fr(1 / sEnc);
        perAmax = fr(sEnc * fr(1 / format.maxNormal));
      }
    }
    const groupCols = Math.ceil(cols / blockCols);
    const p = work(256);
    const i32 = new Int32Array(memoryBuffer(), p, 24);
    const f = new Float32Array(memoryBuffer(), p, 24);
    i32[0] = src;
    i32[1] = rows;
    i32[2] = cols;
    const parallel = rows * cols >= PARALLEL_MIN_WORK && threads() > 1;
    let per = parallel ? Math.ceil(rows / (4 * threads())) : rows;
    if (blockRows > 1 && blockRows < rows) per = Math.ceil(per / blockRows) * blockRows;
    if (tensorScope) per = parallel ? per : rows;
    i32[3] = per;
    i32[4] = tensorScope ? rows : blockRows;
    i32[5] = blockCols;
    i32[6] = format.mantissaBits;
    i32[7] = format.exponentBits;
    i32[8] = format.bias;
    f[9] = format.maxNormal;
    i32[10] = rule;
    i32[11] = plan.stochastic ? 1 : 0;
    i32[12] = plan.stochastic ? seedKey(seed) | 0 : 0;
    i32[13] = deq;
    i32[14] = codes;
    i32[15] = grid;
    i32[16] = scales;
    f[17] = given;
    f[18] = perAmax;
    f[19] = sDec;
    f[20] = tensorScale;
    i32[21] = format.emax;
    i32[22] = 0;
    i32[23] = groupCols;
    if (tensorScope) {
      // One group: every task recomputes the same scale from the given amax.
      i32[4] = per;
    }
    ensureScratch(groupCols * 8 + cols + 64);
    runTasks("quantTask", [p], Math.ceil(rows / per), parallel);
    return tensorScale;
  }

  function quantize(
    out: Tensor,
    src: Tensor,
    rows: number,
    cols: number,
    spec: OperandSpec,
    seed: number,
    grid?: Tensor,
  ): void {
    const n = rows * cols;
    const s = addr(src), o = addr(out);
    if (spec.format === "fp32") {
      if (o !== s) elementwise("copyTask", [o, s, n], n);
      if (grid) elementwise("copyTask", [addr(grid), s, n], n);
      return;
    }
    if (!kernelSupports(spec)) {
      quantizeOperand(f32(src), rows, cols, spec, f32(out), seed, grid ? f32(grid) : undefined);
      return;
    }
    const plan = planOf(spec, rows, cols);
    if (plan.rule === 0) {
      if (grid) elementwise("copyTask", [addr(grid), s, n], n);
      if (!plan.stochastic) {
        const f = plan.format;
        elementwise(
          "fakeQuantTask",
          [s, o, n, f.exponentBits, f.mantissaBits, f.bias, f.maxNormal],
          n,
        );
        return;
      }
      runQuant(s, rows, cols, plan, seed, o, 0, 0, 0);
      return;
    }
    if (grid) {
      const gp = addr(grid);
      if (gp === s) throw new RangeError("quantize: grid must not alias src");
      if (o === s) {
        // In place with grid units: the grid is read from the source, so round into a temporary.
        const tmp = alloc(n);
        runQuant(s, rows, cols, plan, seed, addr(tmp), 0, gp, 0);
        elementwise("copyTask", [o, addr(tmp), n], n);
        freeBuffer(tmp);
        return;
      }
      runQuant(s, rows, cols, plan, seed, o, 0, gp, 0);
      return;
    }
    runQuant(s, rows, cols, plan, seed, o, 0, 0, 0);
  }

  // The TypeScript quantizer's codes and scales, copied into the layout the FP4 GEMM kernel reads.
  function hostQuantizeCodes(
    src: Tensor,
    rows: number,
    cols: number,
    spec: OperandSpec,
    seed: number,
    dequantized: Tensor,
    grid?: Tensor,
  ): QuantizedOperand {
    const q = quantizeOperandTensor(
      f32(src),
      rows,
      cols,
      spec,
      f32(dequantized),
      seed,
      grid ? f32(grid) : undefined,
    );
    const rowBytes = Math.ceil(cols / 2);
    const groupRows = Math.ceil(rows / q.blockRows);
    const groupCols = Math.ceil(cols / q.blockCols);
    const codeBytes = Math.ceil((rows * rowBytes) / 64) * 64;
    const scaleRows = Math.ceil(Math.max(groupRows, rows) / 8) * 8;
    const block = heapAlloc(codeBytes + scaleRows * groupCols * 4);
    new Uint8Array(memoryBuffer(), block, rows * rowBytes).set(q.data.subarray(0, rows * rowBytes));
    new Float32Array(memoryBuffer(), block + codeBytes, q.scales.length).set(q.scales);
    const out: WasmQuantized = {
      rows,
      cols,
      codes: block,
      scales: block + codeBytes,
      blockRows: q.blockRows,
      blockCols: q.blockCols,
      tensorScale: q.tensorScale,
      block,
    };
    quantized.add(out);
    return out;
  }

  function quantizeCodes(
    src: Tensor,
    rows: number,
    cols: number,
    spec: OperandSpec,
    seed: number,
    dequantized: Tensor | null,
    grid?: Tensor,
  ): QuantizedOperand {
    const plan = planOf(spec, rows, cols);
    if (plan.format.name !== "E2M1" || plan.rule === 0) {
      throw new RangeError(`quantizeCodes needs a scaled E2M1 spec, got ${JSON.stringify(spec)}`);
    }
    if (!kernelSupports(spec)) {
      // The TypeScript quantizer always writes the values: a temporary when none is wanted.
      const tmp = dequantized ?? alloc(rows * cols);
      const q = hostQuantizeCodes(src, rows, cols, spec, seed, tmp, grid);
      if (!dequantized) freeBuffer(tmp);
      return q;
    }
    const rowBytes = Math.ceil(cols / 2);
    const groupRows = Math.ceil(rows / plan.blockRows);
    const groupCols = Math.ceil(cols / plan.blockCols);
    const codeBytes = Math.ceil((rows * rowBytes) / 64) * 64;
    const scaleRows = Math.ceil(Math.max(groupRows, rows) / 8) * 8;
    const block = heapAlloc(codeBytes + scaleRows * groupCols * 4);
    const codes = block, scales = block + codeBytes;
    const tensorScale = runQuant(
      addr(src),
      rows,
      cols,
      plan,
      seed,
      dequantized ? addr(dequantized) : 0,
      codes,
      grid ? addr(grid) : 0,
      scales,
    );
    const q: WasmQuantized = {
      rows,
      cols,
      codes,
      scales,
      blockRows: plan.blockRows === rows && plan.blockCols === cols ? rows : plan.blockRows,
      blockCols: plan.blockCols,
      tensorScale,
      block,
    };
    quantized.add(q);
    return q;
  }

  function fp4Matmul(out: Tensor, a: QuantizedOperand, w: QuantizedOperand): void {
    const qa = a as WasmQuantized, qw = w as WasmQuantized;
    if (!quantized.has(qa) || !quantized.has(qw)) {
      throw new RangeError("fp4Matmul needs operands from this backend's quantizeCodes");
    }
    const m = qa.rows, n = qw.rows, k = qa.cols;
    if (qw.cols !== k) throw new RangeError(`K differs: a has ${k}, w has ${qw.cols}`);
    const kbA = Math.min(qa.blockCols, k), kbW = Math.min(qw.blockCols, k);
    const kb = Math.min(kbA, kbW);
    if (Math.max(kbA, kbW) % kb !== 0 && Math.max(kbA, kbW) !== k) {
      throw new RangeError(`the K-blocks of a (${kbA}) and w (${kbW}) must nest`);
    }
    const nb = Math.ceil(k / kb);
    const mpad = Math.ceil(m / 4) * 4, npad = Math.ceil(n / 8) * 8;
    const nbA = Math.ceil(k / qa.blockCols), nbW = Math.ceil(k / qw.blockCols);
    // Scales in the GEMM's epilogue layout: A's per (row, block) row-major, W's block-major.
    // Per-row A with its own block is already laid out so (rows padded at allocation).
    let sA = qa.scales;
    const bytes = (mpad + npad) * nb * 4;
    // (work may grow the memory: take the buffer after it)
    const tmp = work(bytes + 64);
    const mem = memoryBuffer();
    if (!(qa.blockRows === 1 && kbA === kb)) {
      const src = new Float32Array(mem, qa.scales, Math.ceil(m / qa.blockRows) * nbA);
      const dst = new Float32Array(mem, tmp, mpad * nb);
      dst.fill(0);
      for (let i = 0; i < m; i++) {
        const base = Math.floor(i / qa.blockRows) * nbA;
        for (let b = 0; b < nb; b++) dst[i * nb + b] = src[base + Math.floor((b * kb) / kbA)];
      }
      sA = tmp;
    }
    let sWt = qw.scales;
    if (!(qw.blockRows === 1 && nb === 1 && nbW === 1)) {
      const src = new Float32Array(mem, qw.scales, Math.ceil(n / qw.blockRows) * nbW);
      const at = tmp + mpad * nb * 4;
      const dst = new Float32Array(mem, at, npad * nb);
      dst.fill(0);
      for (let j = 0; j < n; j++) {
        const base = Math.floor(j / qw.blockRows) * nbW;
        for (let b = 0; b < nb; b++) dst[b * npad + j] = src[base + Math.floor((b * kb) / kbW)];
      }
      sWt = at;
    }
    const fr = Math.fround;
    const q = fr(0.25 / (fr(qa.tensorScale) * fr(qw.tensorScale)));
    fp4MatmulAt(qa.codes, qw.codes, sA, sWt, addr(out), m, n, k, kb, q);
  }

  function freeQuantized(q: QuantizedOperand): void {
    const w = q as WasmQuantized;
    if (!quantized.delete(w)) return;
    heapFree(w.block);
  }

  // ---- OCC -------------------------------------------------------------------------------------

  function occClamp(
    clamped: Tensor,
    src: Tensor,
    rows: number,
    cols: number,
    alpha: number,
    scope: "row" | "tensor",
  ): OutlierResidual {
    return occRun(addr(clamped), src, rows, cols, alpha, scope, 0, 0);
  }

  // The fused kernel's scheme: E2M1, one absmax scale per row, nearest-even (the fp4 recipe's
  // forward activation).
  function fusesOcc(spec: OperandSpec, scope: "row" | "tensor"): boolean {
    const g = spec.granularity ?? "none";
    return scope === "row" && spec.format === "E2M1" && (spec.scaleRule ?? "absmax") === "absmax" &&
      (spec.rounding ?? "nearest-even") === "nearest-even" && spec.blockRows === undefined &&
      (g === "row" || g === "token" || g === "channel");
  }

  function occQuantizeCodes(
    src: Tensor,
    rows: number,
    cols: number,
    alpha: number,
    scope: "row" | "tensor",
    spec: OperandSpec,
    _seed: number,
    dequantized: Tensor,
  ): { q: QuantizedOperand; residual: OutlierResidual } | null {
    if (!fusesOcc(spec, scope)) return null;
    const rowBytes = Math.ceil(cols / 2);
    const codeBytes = Math.ceil((rows * rowBytes) / 64) * 64;
    const scaleRows = Math.ceil(rows / 8) * 8;
    const block = heapAlloc(codeBytes + scaleRows * 4);
    const q: WasmQuantized = {
      rows,
      cols,
      codes: block,
      scales: block + codeBytes,
      blockRows: 1,
      blockCols: cols,
      tensorScale: 1,
      block,
    };
    const residual = occRun(addr(dequantized), src, rows, cols, alpha, scope, q.codes, q.scales);
    quantized.add(q);
    return { q, residual };
  }

  function occRun(
    dst: number,
    src: Tensor,
    rows: number,
    cols: number,
    alpha: number,
    scope: "row" | "tensor",
    codes: number,
    scales: number,
  ): OutlierResidual {
    const n = rows * cols;
    const group = scope === "row" ? cols : n;
    const [kLo, kHi] = quantileRanks(group, alpha);
    const cap = scope === "row" ? Math.max(1, kLo + (cols - 1 - kHi)) : cols;
    const slots = Math.ceil((rows * cap * 4) / 64) * 64;
    const block = heapAlloc(2 * slots + rows * 4);
    const values = block, columns = block + slots, counts = block + 2 * slots;
    const thr = work(64);
    if (scope === "tensor") {
      const tmp = heapAlloc(n * 4);
      kx.occTensorThresholds(addr(src), n, kLo, kHi, tmp, thr);
      heapFree(tmp);
    }
    // selection buffer; fused: also the clamped row and its byte codes
    ensureScratch(cols * 9 + 256);
    rowwise(
      "occClampTask",
      [
        dst,
        addr(src),
        rows,
        cols,
        kLo,
        kHi,
        scope === "tensor" ? 1 : 0,
        thr,
        values,
        columns,
        counts,
        cap,
        codes,
        scales,
      ],
      rows,
      cols,
    );
    const c = new Int32Array(memoryBuffer(), counts, rows);
    let nnz = 0;
    for (let r = 0; r < rows; r++) nnz += c[r];
    const r: WasmResidual = {
      rows,
      cols,
      sparsity: Promise.resolve(nnz / n),
      cap,
      values,
      columns,
      counts,
      block,
    };
    residuals.add(r);
    return r;
  }

  function residualOf(r: OutlierResidual): WasmResidual {
    const w = r as WasmResidual;
    if (!residuals.has(w)) throw new RangeError("not a residual of this backend");
    return w;
  }

  // ---- DGE -------------------------------------------------------------------------------------

  const dgePlans = new Map<string, number>();
  function dgePlan(formatName: string, k: number, cap: number): number {
    const key = `${formatName}/${k}/${cap}`;
    let p = dgePlans.get(key);
    if (p !== undefined) return p;
    const grid = gridPoints(parseFormat(formatName));
    const intervals = grid.length - 1;
    const lo = grid[0], hi = grid[intervals];
    let cell = Infinity;
    for (let i = 0; i < intervals; i++) cell = Math.min(cell, grid[i + 1] - grid[i]);
    const cellCount = (hi - lo) / cell;
    if (cellCount > 8192 || !grid.every((g) => Number.isInteger((g - lo) / cell))) {
      throw new RangeError(`DGE on ${formatName}: its grid is not made of whole cells`);
    }
    const words = 9 + 2 * intervals;
    p = heapAlloc(words * 8 + cellCount * 4);
    const f64 = new Float64Array(memoryBuffer(), p, words);
    const slack = 2 ** -20;
    f64.set([
      lo,
      lo - Math.abs(lo) * slack,
      hi + Math.abs(hi) * slack,
      1 / cell,
      cellCount - 1,
      1 / k,
      1 / k - 1,
      cap,
      intervals,
    ]);
    for (let i = 0; i < intervals; i++) {
      f64[9 + i] = (grid[i] + grid[i + 1]) / 2;
      f64[9 + intervals + i] = 1 / ((grid[i + 1] - grid[i]) / 2);
    }
    const cells = new Int32Array(memoryBuffer(), p + words * 8, cellCount);
    for (let i = 0; i < intervals; i++) {
      cells.fill(i, (grid[i] - lo) / cell, (grid[i + 1] - lo) / cell);
    }
    dgePlans.set(key, p);
    return p;
  }

  /** dgeTask over the grid: acc += raw ⊙ f′(grid) (acc = 0: the statistics only). */
  function dgeRun(
    acc: number,
    raw: number,
    grid: Tensor,
    format: string,
    k: number,
    cap: number,
  ): Promise<DgeStats> {
    const n = grid.length;
    const plan = dgePlan(format, k, cap);
    const per = ELEMENTS_PER_TASK, total = Math.ceil(n / per);
    const out = work(total * 16 + 64);
    runTasks(
      "dgeTask",
      [acc, raw, addr(grid), n, plan, per, out],
      total,
      n >= PARALLEL_MIN_ELEMENTS / 4,
    );
    const r = new Float64Array(memoryBuffer(), out, total * 2);
    let sum = 0, capped = 0;
    for (let t = 0; t < total; t++) {
      sum += r[2 * t];
      capped += r[2 * t + 1];
    }
    return Promise.resolve({
      meanFactor: n === 0 ? 0 : sum / n,
      cappedFraction: n === 0 ? 0 : capped / n,
    });
  }

  // ---- optimizer helpers ----------------------------------------------------------------------

  /** Byte ranges of a tensor list, adjacent ranges merged (one job instead of one per tensor). */
  function ranges(list: readonly Tensor[]): [number, number][] {
    const out: [number, number][] = [];
    const sorted = list.map((t) => [addr(t), t.length] as [number, number]).sort((a, b) =>
      a[0] - b[0]
    );
    for (const [p, n] of sorted) {
      const last = out[out.length - 1];
      if (last && last[0] + last[1] * 4 === p) last[1] += n;
      else out.push([p, n]);
    }
    return out;
  }

  /** f64 Σx² over the list and whether any element is NaN or ±Inf. */
  function sumSquares(list: readonly Tensor[]): { sum: number; nonFinite: boolean } {
    let sum = 0, nonFinite = false;
    for (const [p, n] of ranges(list)) {
      if (n === 0) continue;
      const per = ELEMENTS_PER_TASK, total = Math.ceil(n / per);
      const out = work(total * 16 + 64);
      runTasks("sumSquaresTask", [p, n, per, out], total, n >= PARALLEL_MIN_ELEMENTS);
      const r = new Float64Array(memoryBuffer(), out, total * 2);
      for (let t = 0; t < total; t++) {
        sum += r[2 * t];
        if (r[2 * t + 1] !== 0) nonFinite = true;
      }
    }
    return { sum, nonFinite };
  }

  /** x = f32(x · s) in f64 over the list; returns whether everything is finite afterwards. */
  function scaleList(list: readonly Tensor[], s: number): boolean {
    let finite = true;
    for (const [p, n] of ranges(list)) {
      if (n === 0) continue;
      const per = ELEMENTS_PER_TASK, total = Math.ceil(n / per);
      const out = work(total * 4 + 64);
      runTasks("scale64Task", [p, n, s, per, out], total, n >= PARALLEL_MIN_ELEMENTS);
      const r = new Int32Array(memoryBuffer(), out, total);
      for (let t = 0; t < total; t++) if (r[t] !== 0) finite = false;
    }
    return finite;
  }

  function optimizerOf(h: OptimizerHandle): WasmOptimizer {
    return h as WasmOptimizer;
  }

  function makeOptimizer(params: readonly Tensor[], state: AdamWState): WasmOptimizer {
    const m1: Tensor[] = [], m2: Tensor[] = [];
    for (let i = 0; i < params.length; i++) {
      const a = alloc(params[i].length), b = alloc(params[i].length);
      f32(a).set(state.m1[i]);
      f32(b).set(state.m2[i]);
      m1.push(a);
      m2.push(b);
    }
    return {
      step: state.step,
      params: params.slice(),
      beta1: state.beta1,
      beta2: state.beta2,
      eps: state.eps,
      weightDecay: state.weightDecay.slice(),
      m1Format: state.m1Format,
      m2Format: state.m2Format,
      m1,
      m2,
      m1Scales: Float64Array.from(state.m1Scales),
      m2Scales: Float64Array.from(state.m2Scales),
      m1Ratio: new Float64Array(params.length).fill(1),
      m2Ratio: new Float64Array(params.length).fill(1),
    };
  }

  /** Applies the pending moment rounding in place (before export). */
  function settle(opt: WasmOptimizer): void {
    for (let k = 0; k < opt.params.length; k++) {
      const f1 = MOMENT_CODE[opt.m1Format], f2 = MOMENT_CODE[opt.m2Format];
      if (f1 !== 0) kx.adamwRound(addr(opt.m1[k]), opt.m1[k].length, opt.m1Ratio[k], f1);
      if (f2 !== 0) kx.adamwRound(addr(opt.m2[k]), opt.m2[k].length, opt.m2Ratio[k], f2);
      opt.m1Ratio[k] = 1;
      opt.m2Ratio[k] = 1;
    }
  }

  function hostState(opt: WasmOptimizer): AdamWState {
    settle(opt);
    return {
      params: opt.params.map(f32),
      beta1: opt.beta1,
      beta2: opt.beta2,
      eps: opt.eps,
      weightDecay: opt.weightDecay,
      m1Format: opt.m1Format,
      m2Format: opt.m2Format,
      momentScaling: "tensor",
      step: opt.step,
      m1: opt.m1.map(f32),
      m2: opt.m2.map(f32),
      m1Scales: Float32Array.from(opt.m1Scales),
      m2Scales: Float32Array.from(opt.m2Scales),
    };
  }

  const be: Backend = {
    name: "cpu",
    get device(): string {
      return `cpu (${threads()} thread${threads() === 1 ? "" : "s"}, WebAssembly SIMD${
        usesRelaxedSimd() ? " + relaxed SIMD" : ""
      }, resident)`;
    },
    alloc,
    free: freeBuffer,
    write(t: Tensor, data: Float32Array | Int32Array): void {
      if (data.length !== t.length) {
        throw new RangeError(`write of ${data.length} values into a tensor of ${t.length}`);
      }
      const v = t.dtype === "i32"
        ? new Int32Array(memoryBuffer(), addr(t), t.length)
        : new Float32Array(memoryBuffer(), addr(t), t.length);
      if (data instanceof Int32Array === v instanceof Int32Array) v.set(data);
      else {new Uint32Array(v.buffer, v.byteOffset, v.length).set(
          new Uint32Array(data.buffer, data.byteOffset, data.length),
        );}
    },
    read(t: Tensor): Promise<Float32Array | Int32Array> {
      return Promise.resolve(view(t).slice());
    },
    view,
    sync(): Promise<void> {
      return Promise.resolve();
    },
    dispose(): void {
      for (const a of handles.values()) heapFree(a.ptr);
      handles.clear();
      for (const q of quantized) heapFree(q.block);
      quantized.clear();
      for (const r of residuals) heapFree(r.block);
      residuals.clear();
      for (const p of dgePlans.values()) heapFree(p);
      dgePlans.clear();
      if (workPtr) heapFree(workPtr);
      workPtr = workBytes = 0;
      if (wTPtr) heapFree(wTPtr);
      wTPtr = wTBytes = 0;
    },

    fill(t: Tensor, value: number): void {
      elementwise("fillTask", [addr(t), t.length, value], t.length);
    },
    copy(dst: Tensor, src: Tensor): void {
      if (dst.length !== src.length) throw new RangeError("copy: lengths differ");
      elementwise("copyTask", [addr(dst), addr(src), dst.length], dst.length);
    },
    add(out: Tensor, a: Tensor, b: Tensor): void {
      elementwise("addTask", [addr(out), addr(a), addr(b), out.length], out.length);
    },
    scale(t: Tensor, s: number): void {
      elementwise("scale64Task", [addr(t), t.length, s], t.length, [0]);
    },
    transpose(dst: Tensor, src: Tensor, rows: number, cols: number): void {
      const total = Math.ceil(rows / 32);
      runTasks(
        "transposeTask",
        [addr(dst), addr(src), rows, cols],
        total,
        rows * cols >= PARALLEL_MIN_ELEMENTS,
      );
    },

    matmul(
      out: Tensor,
      a: Tensor,
      b: Tensor,
      m: number,
      n: number,
      k: number,
      layout: GemmLayout,
      accumulate: boolean,
    ): void {
      matmulAt(addr(a), addr(b), addr(out), m, n, k, layout, accumulate);
    },
    fp4Matmul,
    matmulCodes(
      out: Tensor,
      a: Tensor,
      b: QuantizedOperand,
      m: number,
      n: number,
      k: number,
      layout: "nn" | "tn",
      accumulate: boolean,
    ): void {
      const q = b as WasmQuantized;
      if (!quantized.has(q)) throw new RangeError("matmulCodes needs b from this quantizeCodes");
      if (q.rows !== k || q.cols !== n) {
        throw new RangeError(`matmulCodes: b is ${q.rows}x${q.cols}, the GEMM needs ${k}x${n}`);
      }
      matmulCodesAt(
        addr(a),
        q.codes,
        q.scales,
        addr(out),
        m,
        n,
        k,
        layout,
        accumulate,
        q.blockRows,
        q.blockCols,
        q.tensorScale,
      );
    },

    quantize,
    quantizeCodes,
    freeQuantized,
    operandStats(src: Tensor, rounded: Tensor, rows: number, cols: number): Promise<OperandStats> {
      const out = work(rows * 16 + 64);
      const parallel = rows * cols >= PARALLEL_MIN_WORK && threads() > 1;
      const per = parallel ? Math.ceil(rows / (4 * threads())) : rows;
      runTasks(
        "operandStatsTask",
        [addr(src), addr(rounded), rows, cols, per, out],
        Math.ceil(rows / per),
        parallel,
      );
      return Promise.resolve(statsFrom(out, rows, cols));
    },
    occClamp,
    occQuantizeCodes,
    residualMatmul(out: Tensor, residual: OutlierResidual, w: Tensor, n: number): void {
      const r = residualOf(residual);
      const k = r.cols;
      // The kernel reads W transposed ([K, N]): eight neighbouring outputs' weights for one
      // residual entry are then one contiguous load. Transposing W (N·K) is cheap beside the
      // product (rows · N · entries per row); its buffer is kept between calls (grown to the
      // largest layer), so the step allocates nothing here.
      const wT = transposeScratch(n * k * 4);
      runTasks(
        "transposeTask",
        [wT, addr(w), n, k],
        Math.ceil(n / 32),
        n * k >= PARALLEL_MIN_ELEMENTS,
      );
      // Tasks own blocks of rows: out is streamed row by row, wT (K·N) stays in cache.
      rowwise(
        "residualMatmulTask",
        [addr(out), r.values, r.columns, r.counts, r.cap, wT, r.rows, n],
        r.rows,
        n * 8,
      );
    },
    residualAdd(dense: Tensor, residual: OutlierResidual): void {
      const r = residualOf(residual);
      rowwise(
        "residualAddTask",
        [addr(dense), r.values, r.columns, r.counts, r.cap, r.rows, r.cols],
        r.rows,
        4,
      );
    },
    freeResidual(residual: OutlierResidual): void {
      const r = residual as WasmResidual;
      if (!residuals.delete(r)) return;
      heapFree(r.block);
    },
    dge(
      acc: Tensor,
      raw: Tensor,
      grid: Tensor,
      format: string,
      k: number,
      cap: number,
    ): Promise<DgeStats> {
      return dgeRun(addr(acc), addr(raw), grid, format, k, cap);
    },
    matmulDge(
      acc: Tensor,
      a: Tensor,
      b: Tensor,
      m: number,
      n: number,
      k: number,
      layout: GemmLayout,
      grid: Tensor,
      format: string,
      dgeK: number,
      cap: number,
      stats: boolean,
    ): Promise<DgeStats> | null {
      if (acc.length !== m * n || grid.length !== m * n) {
        throw new RangeError(`matmulDge: acc and grid must hold m·n = ${m * n} values`);
      }
      // The f32 GEMM's tiles and sums, the factor applied in its epilogue (no raw temporary).
      matmulDgeAt(
        addr(a),
        addr(b),
        addr(acc),
        m,
        n,
        k,
        layout,
        addr(grid),
        dgePlan(format, dgeK, cap),
      );
      // The statistics read only the grid: dge's pass without its stores, in its order.
      return stats ? dgeRun(0, 0, grid, format, dgeK, cap) : null;
    },
    hadamard(t: Tensor, rows: number, cols: number, size: 16 | 32, seed: number): void {
      if (cols % size !== 0) throw new RangeError(`cols ${cols} is not a multiple of ${size}`);
      const signs = work(size * 4 + 64);
      new Float32Array(memoryBuffer(), signs, size).set(hadamardSigns(size, seed));
      rowwise(
        "hadamardTask",
        [addr(t), rows, cols, size, signs, Math.fround(1 / Math.sqrt(size))],
        rows,
        cols,
      );
    },

    embeddingForward(out: Tensor, tokens: Tensor, table: Tensor, M: number, D: number): void {
      rowwise("embeddingForwardTask", [addr(out), addr(tokens), addr(table), M, D], M, D);
    },
    embeddingBackward(dtable: Tensor, dout: Tensor, tokens: Tensor, M: number, D: number): void {
      // Tasks own columns (a token may repeat: rows must not race).
      const parallel = M * D >= PARALLEL_MIN_WORK && threads() > 1 && D >= 64;
      const per = parallel ? Math.ceil(D / threads() / 4) * 4 : D;
      runTasks(
        "embeddingBackwardTask",
        [addr(dtable), addr(dout), addr(tokens), M, D, per],
        Math.ceil(D / per),
        parallel,
      );
    },
    rmsnormForward(
      out: Tensor,
      rstd: Tensor,
      x: Tensor,
      weight: Tensor,
      M: number,
      D: number,
      eps: number,
    ): void {
      rowwise(
        "rmsnormForwardTask",
        [addr(out), addr(rstd), addr(x), addr(weight), M, D, eps],
        M,
        D,
      );
    },
    rmsnormBackward(
      dx: Tensor,
      dweight: Tensor,
      dout: Tensor,
      x: Tensor,
      weight: Tensor,
      rstd: Tensor,
      M: number,
      D: number,
    ): void {
      // dx by rows; dweight by columns, each column summing the rows in order (the reference's).
      rowwise(
        "rmsnormBackwardTask",
        [addr(dx), addr(dout), addr(x), addr(weight), addr(rstd), M, D],
        M,
        D,
      );
      const parallel = M * D >= PARALLEL_MIN_WORK && threads() > 1 && D >= 16;
      const per = parallel ? Math.ceil(D / (2 * threads()) / 2) * 2 : D;
      runTasks(
        "rmsnormWeightGradTask",
        [addr(dweight), addr(dout), addr(x), addr(rstd), M, D, per],
        Math.ceil(D / per),
        parallel,
      );
    },
    rope(
      x: Tensor,
      B: number,
      T: number,
      stride: number,
      offset: number,
      heads: number,
      headDim: number,
      cos: Tensor,
      sin: Tensor,
      inverse: boolean,
    ): void {
      rowwise(
        "ropeTask",
        [addr(x), B * T, T, stride, offset, heads, headDim, addr(cos), addr(sin), inverse ? 1 : 0],
        B * T,
        heads * headDim,
      );
    },
    attentionForward(
      out: Tensor,
      probs: Tensor,
      qkv: Tensor,
      B: number,
      T: number,
      D: number,
      H: number,
      bf16: boolean,
    ): void {
      const hd = D / H;
      ensureScratch(kx.attentionForwardScratch(T, hd) + 64);
      runTasks(
        "attentionForwardTask",
        [addr(out), addr(probs), addr(qkv), B, T, D, H, bf16 ? 1 : 0, 1 / Math.sqrt(hd)],
        B * H,
        B * H > 1 && T * T * hd >= 1 << 14,
      );
    },
    attentionBackward(
      dqkv: Tensor,
      dout: Tensor,
      qkv: Tensor,
      probs: Tensor,
      B: number,
      T: number,
      D: number,
      H: number,
    ): void {
      const hd = D / H;
      ensureScratch(kx.attentionBackwardScratch(T, hd) + 64);
      runTasks(
        "attentionBackwardTask",
        [addr(dqkv), addr(dout), addr(qkv), addr(probs), B, T, D, H, 1 / Math.sqrt(hd)],
        B * H,
        B * H > 1 && T * T * hd >= 1 << 14,
      );
    },
    swigluForward(out: Tensor, gateUp: Tensor, M: number, F: number): void {
      rowwise("swigluForwardTask", [addr(out), addr(gateUp), M, F], M, 3 * F);
    },
    swigluBackward(dgateUp: Tensor, dout: Tensor, gateUp: Tensor, M: number, F: number): void {
      rowwise("swigluBackwardTask", [addr(dgateUp), addr(dout), addr(gateUp), M, F], M, 5 * F);
    },
    crossEntropy(
      logits: Tensor,
      targets: Tensor,
      targetProbs: Tensor,
      M: number,
      V: number,
      gradScale: number | null,
    ): void {
      rowwise(
        "crossEntropyTask",
        [
          addr(logits),
          addr(targets),
          addr(targetProbs),
          M,
          V,
          gradScale === null ? 0 : 1,
          1 / M,
          gradScale ?? 1,
        ],
        M,
        V,
      );
    },
    hasNonFinite(t: Tensor): Promise<boolean> {
      return Promise.resolve(sumSquares([t]).nonFinite);
    },

    unscale(grads: readonly Tensor[], inverseScale: number): Promise<boolean> {
      return Promise.resolve(scaleList(grads, inverseScale));
    },
    clipGradNorm(grads: readonly Tensor[], maxNorm: number): Promise<number> {
      // One thread, in the reference's order (tensors as listed, elements in order): the norm
      // sets the clipping factor, and its last bits decide roundings of every gradient.
      let sum = 0;
      for (const g of grads) sum = kx.sumSquaresInOrder(addr(g), g.length, sum);
      const norm = Math.sqrt(sum);
      if (Number.isFinite(norm) && norm > maxNorm) scaleList(grads, maxNorm / (norm + 1e-6));
      return Promise.resolve(norm);
    },
    fp8AllReduce(rankGrads: readonly (readonly Tensor[])[]): Promise<number> {
      // Ranks are simulated in one process: the codec runs on live views of the gradients.
      const stats = hostFp8AllReduce(rankGrads.map((list) => list.map(f32)));
      return Promise.resolve(stats.totalBytes);
    },
    adamwCreate(params: readonly Tensor[], options: BackendAdamWOptions): OptimizerHandle {
      // mixed-optim resolves and checks the options (its defaults: β 0.9 / 0.95, ε 1e-8); its
      // zero host moments are copied once into resident buffers.
      const state = createAdamW(params.map(f32), {
        weightDecay: options.weightDecay,
        m1Format: options.m1Format,
        m2Format: options.m2Format,
      });
      return makeOptimizer(params, state);
    },
    adamwImport(params: readonly Tensor[], checkpoint: AdamWCheckpoint): OptimizerHandle {
      return makeOptimizer(params, importAdamWState(params.map(f32), checkpoint));
    },
    adamwStep(handle: OptimizerHandle, grads: readonly Tensor[], lr: number): void {
      adamwStep(optimizerOf(handle), grads, lr);
    },
    adamwExport(handle: OptimizerHandle): Promise<AdamWCheckpoint> {
      return Promise.resolve(exportAdamWState(hostState(optimizerOf(handle))));
    },
  };

  function statsFrom(out: number, rows: number, cols: number): OperandStats {
    const r = new Float64Array(memoryBuffer(), out, rows * 2);
    let crestSum = 0, crestMax = 0, zeros = 0;
    for (let i = 0; i < rows; i++) {
      const crest = r[2 * i];
      crestSum += crest;
      if (crest > crestMax) crestMax = crest;
      zeros += r[2 * i + 1];
    }
    return { crestMean: crestSum / rows, crestMax, zeroFraction: zeros / (rows * cols) };
  }

  function adamwStep(opt: WasmOptimizer, grads: readonly Tensor[], lr: number): void {
    const { params, beta1, beta2, eps } = opt;
    if (grads.length !== params.length) {
      throw new RangeError(`${grads.length} gradients for ${params.length} parameters`);
    }
    const t = opt.step + 1;
    const stepSize = lr / (1 - beta1 ** t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** t);
    const f1 = MOMENT_CODE[opt.m1Format], f2 = MOMENT_CODE[opt.m2Format];
    const scaled1 = opt.m1Format === "E4M3" || opt.m1Format === "FP16";
    const scaled2 = opt.m2Format === "E4M3" || opt.m2Format === "FP16";
    // Tensor records, then task records (chunks of every tensor), then the globals.
    const per = ELEMENTS_PER_TASK;
    let tasks = 0;
    for (const p of params) tasks += Math.max(1, Math.ceil(p.length / per));
    const recBytes = params.length * 128, taskBytes = tasks * 32;
    const base = work(recBytes + taskBytes + 64);
    const mem = memoryBuffer();
    const rec = new Float64Array(mem, base, params.length * 16);
    const taskI = new Int32Array(mem, base + recBytes, tasks * 8);
    const taskF = new Float64Array(mem, base + recBytes, tasks * 4);
    const global = base + recBytes + taskBytes;
    new Float64Array(mem, global, 5).set([1 - beta1, 1 - beta2, eps, stepSize, invSqrtBc2]);
    let ti = 0;
    for (let k = 0; k < params.length; k++) {
      if (grads[k].length !== params[k].length) {
        throw new RangeError(
          `gradient ${k} has ${grads[k].length} values, its parameter ${params[k].length}`,
        );
      }
      const s1 = opt.m1Scales[k], s2 = opt.m2Scales[k];
      rec.set([
        addr(params[k]),
        addr(grads[k]),
        addr(opt.m1[k]),
        addr(opt.m2[k]),
        1 - lr * opt.weightDecay[k],
        beta1 * s1,
        beta2 * s2,
        1 / s1,
        1 / s2,
        opt.m1Ratio[k],
        opt.m2Ratio[k],
        f1,
        f2,
      ], k * 16);
      const n = params[k].length;
      for (let s = 0; s < n || s === 0; s += per) {
        taskI[ti * 8] = k;
        taskI[ti * 8 + 1] = s;
        taskI[ti * 8 + 2] = Math.min(n, s + per);
        ti++;
        if (n === 0) break;
      }
    }
    let total = 0;
    for (const p of params) total += p.length;
    runTasks("adamwTask", [base, base + recBytes, global], tasks, total >= PARALLEL_MIN_ELEMENTS);
    // New scales from the largest |m| and v of each tensor; the rounding waits for the next pass.
    ti = 0;
    const fresh = new Float64Array(memoryBuffer(), base + recBytes, tasks * 4);
    void taskF;
    for (let k = 0; k < params.length; k++) {
      let max1 = 0, max2 = 0;
      const chunks = Math.max(1, Math.ceil(params[k].length / per));
      for (let c = 0; c < chunks; c++, ti++) {
        max1 = Math.max(max1, fresh[ti * 4 + 2]);
        max2 = Math.max(max2, fresh[ti * 4 + 3]);
      }
      if (f1 !== 0) {
        const s = pow2Scale(scaled1 ? max1 : 0, parseFormat(opt.m1Format).maxNormal);
        opt.m1Ratio[k] = opt.m1Scales[k] / s;
        opt.m1Scales[k] = s;
      }
      if (f2 !== 0) {
        const s = pow2Scale(scaled2 ? max2 : 0, parseFormat(opt.m2Format).maxNormal);
        opt.m2Ratio[k] = opt.m2Scales[k] / s;
        opt.m2Scales[k] = s;
      }
    }
    opt.step = t;
  }

  return be;
}

/**
 * The engine's default `cpu` backend: {@link createWasmBackend}, every tensor resident in the
 * kernel set's shared WebAssembly memory and every operation a SIMD kernel on its worker pool.
 *
 * @param options thread count
 * @returns a backend
 * @example
 * ```ts
 * import { createCpuBackend } from "@fp4lab/train";
 * import assert from "node:assert/strict";
 * const be = createCpuBackend();
 * const t = be.alloc(3);
 * be.fill(t, 2);
 * be.scale(t, 1.5);
 * assert.deepEqual(await be.read(t), new Float32Array([3, 3, 3]));
 * ```
 */
export function createCpuBackend(options: WasmBackendOptions = {}): Backend {
  return createWasmBackend(options);
}
