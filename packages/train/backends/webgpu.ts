/**
 * The `webgpu` backend: the whole training step resident in GPU buffers, every operation a WGSL
 * kernel of `@fp4lab/kernels`, recorded into one command encoder and submitted only when data
 * must leave the GPU (a read, a statistic) or the uniform slots run out. Runs on any WebGPU
 * adapter (Vulkan, Metal, D3D12; Mesa's lavapipe on a machine without a GPU), in Deno and in
 * browsers.
 *
 * Exact math is exact: rounding, codes and scales of every recipe scheme and the FP4 GEMM are
 * bit-identical to the `reference` backend (integer arithmetic on bit patterns where WGSL's own
 * division or transcendentals would differ). Sums of f32 products (GEMMs, norms, attention,
 * statistics) differ in summation order; the op tests state their tolerance. AdamW computes in
 * f32 where `@fp4lab/mixed-optim` computes in f64 and rounds once: weights and moments agree to
 * about 1e-6 relative, stored in the same formats behind the same power-of-two scales.
 *
 * @module
 */
import { requestGpu, type RequestGpuOptions } from "@fp4lab/gemm-webgpu";
export { GpuDeviceLost } from "@fp4lab/gemm-webgpu";
import {
  ADAMW_UPDATE_WGSL,
  ADD_WGSL,
  AR_HOP_WGSL,
  AR_PREP_WGSL,
  AR_SCALE_WGSL,
  ATTENTION_BACKWARD_KV_WGSL,
  ATTENTION_BACKWARD_Q_WGSL,
  ATTENTION_FORWARD_WGSL,
  CLIP_FACTOR_WGSL,
  CROSS_ENTROPY_WGSL,
  DGE_WGSL,
  EMBEDDING_BACKWARD_WGSL,
  EMBEDDING_FORWARD_WGSL,
  FILL_WGSL,
  GEMM_FP4_SIMPLE,
  gemmF32Kernel,
  gemmFp4Kernel,
  HADAMARD_WGSL,
  MOMENT_ROUND_WGSL,
  MOMENT_SCALE_WGSL,
  NONFINITE_WGSL,
  OCC_HIST_WGSL,
  OCC_PICK_WGSL,
  OCC_ROW_WGSL,
  OPERAND_STATS_WGSL,
  PROBE_WGSL,
  QUANT_AMAX_WGSL,
  QUANT_APPLY_WGSL,
  QUANT_SCALES_WGSL,
  RESIDUAL_ADD_WGSL,
  RESIDUAL_MATMUL_WGSL,
  RMSNORM_BACKWARD_DW_WGSL,
  RMSNORM_BACKWARD_DX_WGSL,
  RMSNORM_FORWARD_WGSL,
  ROPE_WGSL,
  SCALE_BY_WGSL,
  SCALE_WGSL,
  SUMSQ_WGSL,
  SWIGLU_BACKWARD_WGSL,
  SWIGLU_FORWARD_WGSL,
  TRANSPOSE_WGSL,
  UNSCALE_WGSL,
  type WgslKernel,
} from "@fp4lab/kernels";
import { E4M3, type FloatFormat, parseFormat, seedKey } from "@fp4lab/fp4-format";
import { gridPoints } from "@fp4lab/dge";
import { quantileRanks } from "@fp4lab/outlier-comp";
import {
  type AdamWCheckpoint,
  type AdamWState,
  exportAdamWState,
  importAdamWState,
  type MomentFormat,
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
import { GpuRuntime, groups1d } from "./_gpu_runtime.ts";

/** What the adapter's arithmetic does where WebGPU lets adapters differ (found by a probe). */
export interface GpuNumerics {
  /** `"kept"` (IEEE, e.g. lavapipe) or `"flushed"` (subnormal results become 0, e.g. SwiftShader) */
  readonly subnormals: "kept" | "flushed";
  /** `"separate"` (a·b + c rounds twice) or `"fused"` (the compiler contracts it into an FMA) */
  readonly multiplyAdd: "separate" | "fused";
}

/** The WebGPU backend: a {@link Backend} plus what only a GPU backend has. */
export interface WebGpuBackend extends Backend {
  /** the adapter's numerics, measured once at creation */
  readonly numerics: GpuNumerics;
  /** whether the FP4 GEMM uses `dot4I8Packed` */
  readonly dot4: boolean;
  /** dispatches and submissions so far, and GPU buffers created (pooling keeps it flat) */
  counters(): { dispatches: number; submits: number; buffers: number };
  /** Codes and scales of a quantized operand, in `@fp4lab/kernels`' QuantizedTensor layout. */
  readQuantized(q: QuantizedOperand): Promise<ReadQuantized>;
}

/** A quantized operand read back to the host (tests, checkpoints of codes). */
export interface ReadQuantized {
  /** [rows, cols] */
  readonly shape: readonly [number, number];
  /** E2M1 codes, two per byte, low nibble first, rows of ceil(cols / 2) bytes */
  readonly data: Uint8Array;
  /** scale group height */
  readonly blockRows: number;
  /** scale group width */
  readonly blockCols: number;
  /** one f32 scale per group */
  readonly scales: Float32Array;
  /** the f32 tensor scale (divisor; 1 except NVFP4) */
  readonly tensorScale: number;
}

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions extends RequestGpuOptions {}

interface GpuQuantized extends QuantizedOperand {
  readonly codes: Tensor;
  readonly scales: Tensor;
  readonly blockRows: number;
  readonly blockCols: number;
  readonly groupCols: number;
  readonly groups: number;
  readonly rowWords: number;
}

interface GpuResidual extends OutlierResidual {
  readonly cap: number;
  readonly values: Tensor;
  readonly columns: Tensor;
  readonly counts: Tensor;
}

interface GpuOptimizer extends OptimizerHandle {
  step: number;
  readonly params: readonly Tensor[];
  readonly m1: Tensor;
  readonly m2: Tensor;
  readonly offsets: readonly number[];
  readonly sc: Tensor; // per tensor: s1, s2, ratio1, ratio2
  readonly amax: Tensor; // per tensor: |m| max, v max (bits)
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: readonly number[];
  readonly m1Format: MomentFormat;
  readonly m2Format: MomentFormat;
}

/**
 * Creates the WebGPU backend on a new device (or the given one) and probes its numerics.
 *
 * @param options a device to use, the adapter preference, or `disableDot4`
 * @returns the backend
 * @throws {Error} when there is no WebGPU or no adapter (see `@fp4lab/gemm-webgpu`'s
 *   `requestGpu`: on Linux without a GPU install Mesa's lavapipe, `mesa-vulkan-drivers`)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createWebGpuBackend } from "@fp4lab/train";
 * // Rejects with one line saying why on a machine without a WebGPU adapter (Linux without a
 * // GPU: install Mesa's lavapipe); this example then prints that line and stops.
 * const be = await createWebGpuBackend().catch((e) => void console.error(e.message));
 * if (be) {
 *   const a = be.alloc(2), b = be.alloc(2), c = be.alloc(1);
 *   be.write(a, new Float32Array([1, 2]));
 *   be.write(b, new Float32Array([3, 4]));
 *   be.matmul(c, a, b, 1, 1, 2, "nn", false);
 *   assert.deepEqual(Array.from(await be.read(c)), [11]);
 *   be.dispose();
 * }
 * ```
 */
export async function createWebGpuBackend(
  options: WebGpuBackendOptions = {},
): Promise<WebGpuBackend> {
  const gpu = await requestGpu(options);
  const rt = new GpuRuntime(gpu);
  const numerics = await probe(rt);
  return makeBackend(rt, numerics, options.device !== undefined);
}

// One tiny shader tells which arithmetic the adapter does (see PROBE_WGSL).
async function probe(rt: GpuRuntime): Promise<GpuNumerics> {
  const buf = rt.create(64);
  const a = 1 + 2 ** -12;
  const values = new Float32Array([2 ** -70, a, -Math.fround(a * a), 2 ** -140, 0, 0, 0, 0]);
  rt.write(buf, 0, values);
  rt.dispatch(PROBE_WGSL, [buf], { unused: 0 }, [1]);
  const out = new Float32Array(await rt.readLater(buf, 0, 32));
  rt.release(buf);
  return {
    subnormals: out[4] === 2 ** -140 && out[6] === 2 ** -139 ? "kept" : "flushed",
    multiplyAdd: out[5] === 0 ? "separate" : "fused",
  };
}

function makeBackend(rt: GpuRuntime, numerics: GpuNumerics, callerDevice: boolean): WebGpuBackend {
  const buffers = new Map<number, GPUBuffer>();
  let nextId = 1;
  const gemms = new Map<string, WgslKernel>();
  const fp4Tiled = gemmFp4Kernel(rt.gpu.dot4);
  const gridTables = new Map<string, { t: Tensor; n: number }>();

  const B = (t: Tensor): GPUBuffer => {
    const b = buffers.get(t.buffer);
    if (!b) throw new RangeError(`tensor buffer ${t.buffer} is not allocated on webgpu`);
    return b;
  };
  const checkLen = (name: string, t: Tensor, n: number) => {
    if (t.length < n) {
      throw new RangeError(`${name}: needs ${n} elements, the tensor has ${t.length}`);
    }
  };
  const alloc = (length: number, dtype: DType = "f32"): Tensor => {
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`alloc: length must be a non-negative integer, got ${length}`);
    }
    const id = nextId++;
    buffers.set(id, rt.create(Math.max(4, length * 4)));
    return { buffer: id, offset: 0, length, dtype };
  };
  const free = (t: Tensor) => {
    const b = buffers.get(t.buffer);
    if (b) {
      rt.release(b);
      buffers.delete(t.buffer);
    }
  };
  const run = (
    k: WgslKernel,
    ts: readonly Tensor[],
    params: Record<string, number>,
    groups: readonly [number, number?, number?],
  ) => {
    // WebGPU forbids one buffer at two writable bindings of a dispatch (every storage binding
    // here is read_write), so a buffer met again at a later binding (an input read twice, or an
    // input that is also the output, e.g. add(a, a, b)) is bound as a snapshot of the whole
    // buffer, offsets unchanged. Every kernel binds what it writes before what it only reads;
    // the two where a written binding could come second (the all-reduce hop, the OCC histogram)
    // never alias it.
    const bufs = ts.map(B);
    const snapshots: GPUBuffer[] = [];
    for (let i = 1; i < bufs.length; i++) {
      if (bufs.indexOf(bufs[i]) < i) {
        const copy = rt.create(bufs[i].size);
        rt.copy(bufs[i], 0, copy, 0, bufs[i].size);
        snapshots.push(bufs[i] = copy);
      }
    }
    rt.dispatch(k, bufs, params, groups);
    for (const b of snapshots) rt.release(b);
  };
  const f32Bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];
  const fill = (t: Tensor, value: number) => {
    const bits = t.dtype === "i32" ? (value | 0) >>> 0 : f32Bits(value);
    run(FILL_WGSL, [t], { n: t.length, o: t.offset, bits }, groups1d(t.length));
  };
  const fillAt = (t: Tensor, at: number, bits: number) =>
    run(FILL_WGSL, [t], { n: 1, o: t.offset + at, bits }, [1]);

  // Quantization: amax, scales, apply (see kernels/wgsl/quant_scheme.ts).
  const quantizeInto = (
    src: Tensor,
    rows: number,
    cols: number,
    spec: OperandSpec,
    seed: number,
    out: Tensor | null,
    grid: Tensor | null,
    codes: { codes: Tensor; scales: Tensor; rowWords: number } | null,
  ): { blockRows: number; blockCols: number; groupCols: number; groups: number } => {
    const n = rows * cols;
    checkLen("quantize src", src, n);
    if (out) checkLen("quantize out", out, n);
    if (grid) checkLen("quantize grid", grid, n);
    const granularity = spec.format === "fp32" ? "none" : spec.granularity ?? "none";
    if (spec.format === "fp32") {
      if (out && !(out.buffer === src.buffer && out.offset === src.offset)) copy(out, src, n);
      if (grid) copy(grid, src, n);
      return { blockRows: 1, blockCols: cols, groupCols: 1, groups: rows };
    }
    const format = parseFormat(spec.format);
    const rounding = spec.rounding ?? "nearest-even";
    if (rounding !== "nearest-even" && rounding !== "stochastic" && rounding !== "nearest-up") {
      throw new RangeError(`webgpu: rounding ${rounding} is not supported`);
    }
    const words = Math.ceil(cols / 8);
    const base = {
      rows,
      cols,
      words,
      mbits: format.mantissaBits,
      emin: 1 - format.bias,
      maxv: format.maxNormal,
      // 0: nearest even, 1: stochastic, 2: nearest, ties toward +∞ (the paper's nearest-up)
      sr: rounding === "stochastic" ? 1 : rounding === "nearest-up" ? 2 : 0,
      key: seedKey(seed),
      xo: src.offset,
      oo: out?.offset ?? 0,
      go: grid?.offset ?? 0,
      flags: (out ? 1 : 0) | (grid ? 2 : 0) | (codes ? 4 : 0),
    };
    // Unused bindings get buffers of their own, and an in-place quantization reads a copy of its
    // source: WebGPU forbids one buffer at two writable bindings of a dispatch.
    const x = (out && out.buffer === src.buffer) || (grid && grid.buffer === src.buffer)
      ? alloc(n)
      : src;
    if (x !== src) copy(x, src, n);
    base.xo = x.offset;
    if (granularity === "none") {
      if (codes) throw new RangeError("quantizeCodes needs a scaled scheme");
      run(QUANT_APPLY_WGSL, [x, out ?? dummy(0), grid ?? dummy(1), dummy(2), dummy(3)], {
        ...base,
        br: 1,
        bc: cols,
        gc: 1,
        mode: 0,
      }, groups1d(rows * words));
      if (x !== src) free(x);
      return { blockRows: 1, blockCols: cols, groupCols: 1, groups: rows };
    }
    let br: number, bc: number;
    switch (granularity) {
      case "tensor":
        br = rows;
        bc = cols;
        break;
      case "row":
        br = 1;
        bc = cols;
        break;
      case "block":
        br = 1;
        bc = spec.blockSize ?? 32;
        break;
      case "block2d":
        bc = spec.blockSize ?? 16;
        br = bc;
        break;
      default:
        throw new RangeError(`webgpu: unknown granularity ${granularity}`);
    }
    const gr = Math.ceil(rows / br), gc = Math.ceil(cols / bc), G = gr * gc;
    const rule = spec.scaleRule ?? "absmax";
    const ruleId = rule === "absmax" ? 0 : rule === "e8m0-floor" ? 1 : rule === "nvfp4" ? 2 : -1;
    if (ruleId < 0) throw new RangeError(`webgpu: scale rule ${rule} is not supported`);
    const scales = codes?.scales ?? alloc(2 * G + 2);
    if (codes) fill(scales, 0);
    const seg = bc <= 256 ? bc : bc >= cols ? 256 : bc;
    const segs = Math.ceil(cols / seg);
    run(QUANT_AMAX_WGSL, [src, scales], {
      rows,
      cols,
      br,
      bc,
      gc,
      seg,
      segs,
      xo: src.offset,
      so: scales.offset,
      ta: scales.offset + 2 * G + 1,
      tensor: ruleId === 2 ? 1 : 0,
    }, groups1d(rows * segs));
    run(QUANT_SCALES_WGSL, [scales], {
      groups: G,
      rule: ruleId,
      maxv: format.maxNormal,
      inv_max: Math.fround(1 / format.maxNormal),
      emax: format.emax,
      so: scales.offset,
      eo: scales.offset + G,
      ts: scales.offset + 2 * G,
    }, groups1d(G));
    run(
      QUANT_APPLY_WGSL,
      [x, out ?? dummy(0), grid ?? dummy(1), scales, codes?.codes ?? dummy(3)],
      {
        ...base,
        br,
        bc,
        gc,
        mode: ruleId === 0 ? 1 : ruleId === 1 ? 2 : 3,
        so: scales.offset,
        eo: scales.offset + G,
        ts: scales.offset + 2 * G,
        co: codes?.codes.offset ?? 0,
      },
      groups1d(rows * words),
    );
    if (!codes) free(scales);
    if (x !== src) free(x);
    return { blockRows: br, blockCols: bc, groupCols: gc, groups: G };
  };

  const copy = (dst: Tensor, src: Tensor, n = src.length) => {
    checkLen("copy dst", dst, n);
    if (dst.buffer !== src.buffer) {
      rt.copy(B(src), src.offset * 4, B(dst), dst.offset * 4, n * 4);
    } else if (dst.offset !== src.offset) {
      // Within one buffer: through a second one (a buffer may not be both sides of a copy, nor
      // two writable bindings of a dispatch).
      const tmp = alloc(n);
      rt.copy(B(src), src.offset * 4, B(tmp), 0, n * 4);
      rt.copy(B(tmp), 0, B(dst), dst.offset * 4, n * 4);
      free(tmp);
    }
  };
  // A tensor's values in a buffer of their own (offset 0), for an input that a dispatch's
  // output shares a buffer with.
  const own = (t: Tensor): Tensor => {
    const c = alloc(t.length, t.dtype);
    copy(c, t);
    return c;
  };
  // Stand-ins for a kernel's unused bindings, one buffer each (see quantizeInto).
  const dummies: Tensor[] = [];
  const dummy = (k: number): Tensor => (dummies[k] ??= alloc(1));

  const readF32 = async (t: Tensor, at: number, n: number) =>
    new Float32Array(await rt.readLater(B(t), (t.offset + at) * 4, n * 4));

  const backend: WebGpuBackend = {
    name: "webgpu",
    device: `webgpu (${rt.gpu.description || "adapter"}${rt.gpu.dot4 ? ", dot4I8Packed" : ""})`,
    numerics,
    dot4: rt.gpu.dot4,
    counters: () => ({
      dispatches: rt.dispatches,
      submits: rt.submits,
      buffers: rt.buffersCreated,
    }),

    alloc,
    free,
    write(t, data) {
      if (data.length !== t.length) {
        throw new RangeError(`write: ${data.length} values into a tensor of ${t.length}`);
      }
      rt.check();
      rt.write(B(t), t.offset * 4, data);
    },
    async read(t) {
      rt.check();
      const bytes = await rt.readLater(B(t), t.offset * 4, t.length * 4);
      return t.dtype === "i32" ? new Int32Array(bytes) : new Float32Array(bytes);
    },
    sync: () => rt.sync(),
    dispose() {
      rt.flush();
      rt.destroy();
      buffers.clear();
      if (!callerDevice) rt.device.destroy();
    },

    fill,
    copy: (dst, src) => copy(dst, src),
    add(out, a, b) {
      run(
        ADD_WGSL,
        [out, a, b],
        { n: out.length, oo: out.offset, ao: a.offset, bo: b.offset },
        groups1d(out.length),
      );
    },
    scale(t, s) {
      run(SCALE_WGSL, [t], { n: t.length, o: t.offset, s }, groups1d(t.length));
    },
    transpose(dst, src, rows, cols) {
      checkLen("transpose", src, rows * cols);
      run(TRANSPOSE_WGSL, [dst, src], { rows, cols, dst_o: dst.offset, src_o: src.offset }, [
        Math.ceil(cols / 16),
        Math.ceil(rows / 16),
      ]);
    },

    matmul(out, a, b, m, n, k, layout: GemmLayout, accumulate) {
      checkLen("matmul out", out, m * n);
      checkLen("matmul a", a, m * k);
      checkLen("matmul b", b, k * n);
      if (m === 0 || n === 0) return;
      const tile = m >= 256 && n >= 256 && m * n >= 1 << 18 ? 128 : 64;
      const key = `${tile}${layout}`;
      let kernel = gemms.get(key);
      if (!kernel) {
        kernel = gemmF32Kernel(tile, layout);
        gemms.set(key, kernel);
      }
      run(kernel, [a, b, out], {
        m,
        n,
        k,
        accumulate: accumulate ? 1 : 0,
        ao: a.offset,
        bo: b.offset,
        co: out.offset,
      }, [Math.ceil(n / tile), Math.ceil(m / tile)]);
    },
    fp4Matmul(out, aq, wq) {
      const a = aq as GpuQuantized, w = wq as GpuQuantized;
      const k = a.cols;
      if (w.cols !== k) throw new RangeError(`fp4Matmul: K ${k} and ${w.cols} differ`);
      const m = a.rows, n = w.rows;
      checkLen("fp4Matmul out", out, m * n);
      if (m === 0 || n === 0) return;
      if (k === 0) return fill(out, 0);
      const kbA = Math.min(a.blockCols, k), kbW = Math.min(w.blockCols, k);
      const kb = Math.min(kbA, kbW), coarse = Math.max(kbA, kbW);
      if (coarse % kb !== 0 && coarse !== k) {
        throw new RangeError(`fp4Matmul: K-blocks ${a.blockCols} and ${w.blockCols} do not nest`);
      }
      const nb = Math.ceil(k / kb);
      const params = {
        m,
        n,
        k,
        kb,
        nb,
        row_words: a.rowWords,
        ac_o: a.codes.offset,
        wc_o: w.codes.offset,
        as_o: a.scales.offset,
        ws_o: w.scales.offset,
        a_br: a.blockRows,
        a_gc: a.groupCols,
        a_kb: kbA,
        w_br: w.blockRows,
        w_gc: w.groupCols,
        w_kb: kbW,
        at_o: a.scales.offset + 2 * a.groups,
        wt_o: w.scales.offset + 2 * w.groups,
        co: out.offset,
      };
      const binds = [a.codes, w.codes, a.scales, w.scales, out];
      if (nb === 1 || kb % 16 === 0) {
        run(fp4Tiled, binds, params, [Math.ceil(n / 64), Math.ceil(m / 64)]);
      } else {
        run(GEMM_FP4_SIMPLE, binds, params, [Math.ceil(n / 8), Math.ceil(m / 8)]);
      }
    },

    quantize(out, src, rows, cols, spec, seed, grid) {
      quantizeInto(src, rows, cols, spec, seed, out, grid ?? null, null);
    },
    quantizeCodes(src, rows, cols, spec, seed, dequantized, grid): GpuQuantized {
      if (spec.format !== "E2M1" || (spec.granularity ?? "none") === "none") {
        throw new RangeError(
          `quantizeCodes needs a scaled E2M1 scheme, got ${JSON.stringify(spec)}`,
        );
      }
      const rowWords = Math.ceil(cols / 8);
      const br = spec.granularity === "tensor"
        ? rows
        : spec.granularity === "block2d"
        ? (spec.blockSize ?? 16)
        : 1;
      const bc = spec.granularity === "block"
        ? (spec.blockSize ?? 32)
        : spec.granularity === "block2d"
        ? (spec.blockSize ?? 16)
        : cols;
      const G = Math.ceil(rows / br) * Math.ceil(cols / bc);
      const codes = alloc(rows * rowWords, "i32");
      const scales = alloc(2 * G + 2);
      const g = quantizeInto(src, rows, cols, spec, seed, dequantized, grid ?? null, {
        codes,
        scales,
        rowWords,
      });
      return { rows, cols, codes, scales, rowWords, ...g };
    },
    freeQuantized(q) {
      const g = q as GpuQuantized;
      free(g.codes);
      free(g.scales);
    },
    async readQuantized(q) {
      const g = q as GpuQuantized;
      const words = new Uint32Array(
        await rt.readLater(B(g.codes), g.codes.offset * 4, g.codes.length * 4),
      );
      const sc = await readF32(g.scales, 0, 2 * g.groups + 2);
      const rowBytes = Math.ceil(g.cols / 2);
      const data = new Uint8Array(g.rows * rowBytes);
      const bytes = new Uint8Array(words.buffer);
      for (let r = 0; r < g.rows; r++) {
        data.set(bytes.subarray(r * g.rowWords * 4, r * g.rowWords * 4 + rowBytes), r * rowBytes);
      }
      return {
        shape: [g.rows, g.cols],
        data,
        blockRows: g.blockRows,
        blockCols: g.blockCols,
        scales: sc.slice(0, g.groups),
        tensorScale: sc[2 * g.groups],
      };
    },
    async operandStats(src, rounded, rows, cols): Promise<OperandStats> {
      const st = alloc(2 * rows);
      run(OPERAND_STATS_WGSL, [src, rounded, st], {
        rows,
        cols,
        xo: src.offset,
        ro: rounded.offset,
        so: st.offset,
      }, groups1d(rows, 1));
      const p = readF32(st, 0, 2 * rows);
      free(st);
      const v = await p;
      let sum = 0, max = 0, zeros = 0;
      for (let r = 0; r < rows; r++) {
        sum += v[r];
        if (v[r] > max) max = v[r];
        zeros += v[rows + r];
      }
      return { crestMean: sum / rows, crestMax: max, zeroFraction: zeros / (rows * cols) };
    },
    occClamp(clamped, src, rows, cols, alpha, scope): GpuResidual {
      const n = rows * cols;
      checkLen("occClamp src", src, n);
      const group = scope === "row" ? cols : n;
      const [kLo, kHi] = quantileRanks(group, alpha);
      const perGroup = kLo + (group - 1 - kHi);
      const cap = Math.max(1, Math.min(cols, perGroup));
      const values = alloc(rows * cap);
      const columns = alloc(rows * cap, "i32");
      const counts = alloc(rows + 1, "i32");
      const state = alloc(4 + 512, "i32");
      if (scope === "tensor") {
        fillAt(state, 1, kLo);
        fillAt(state, 3, kHi);
        // The histogram in a buffer of its own: OCC_HIST writes it while reading state.
        const hist = alloc(512, "i32");
        for (let pass = 0; pass < 4; pass++) {
          fill(hist, 0);
          run(OCC_HIST_WGSL, [src, state, hist], {
            n,
            xo: src.offset,
            radix_pass: pass,
            so: state.offset,
            ho: hist.offset,
          }, groups1d(n));
          run(
            OCC_PICK_WGSL,
            [state, hist],
            { radix_pass: pass, so: state.offset, ho: hist.offset },
            [1],
          );
        }
        free(hist);
      }
      // In place (clamped = src): the clamp reads a copy (see run).
      const x = clamped.buffer === src.buffer ? own(src) : src;
      run(OCC_ROW_WGSL, [x, clamped, values, columns, counts, state], {
        rows,
        cols,
        k_lo: kLo,
        k_hi: kHi,
        cap,
        mode: scope === "tensor" ? 1 : 0,
        xo: x.offset,
        co: clamped.offset,
        rv: values.offset,
        rc: columns.offset,
        rn: counts.offset,
        so: state.offset,
      }, groups1d(rows, 1));
      if (x !== src) free(x);
      free(state);
      let sparsity: Promise<number> | null = null;
      return {
        rows,
        cols,
        cap,
        values,
        columns,
        counts,
        get sparsity() {
          sparsity ??= rt.readLater(B(counts), (counts.offset + rows) * 4, 4).then((b) =>
            new Uint32Array(b)[0] / n
          );
          return sparsity;
        },
      };
    },
    residualMatmul(out, residual, w, n) {
      const r = residual as GpuResidual;
      run(RESIDUAL_MATMUL_WGSL, [out, w, r.values, r.columns, r.counts], {
        M: r.rows,
        N: n,
        K: r.cols,
        cap: r.cap,
        oo: out.offset,
        wo: w.offset,
        rv: r.values.offset,
        rc: r.columns.offset,
        rn: r.counts.offset,
      }, groups1d(r.rows * n));
    },
    residualAdd(dense, residual) {
      const r = residual as GpuResidual;
      run(RESIDUAL_ADD_WGSL, [dense, r.values, r.columns, r.counts], {
        M: r.rows,
        K: r.cols,
        cap: r.cap,
        dno: dense.offset,
        rv: r.values.offset,
        rc: r.columns.offset,
        rn: r.counts.offset,
      }, groups1d(r.rows * r.cap));
    },
    freeResidual(residual) {
      const r = residual as GpuResidual;
      free(r.values);
      free(r.columns);
      free(r.counts);
    },
    async dge(acc, raw, grid, format, k, cap): Promise<DgeStats> {
      const n = acc.length;
      let table = gridTables.get(format);
      if (!table) {
        const pts = Float32Array.from(gridPoints(parseFormat(format)));
        const t = alloc(pts.length);
        rt.write(B(t), t.offset * 4, pts);
        table = { t, n: pts.length };
        gridTables.set(format, table);
      }
      const pts = gridPoints(parseFormat(format));
      const lo = pts[0], hi = pts[pts.length - 1];
      const [gx, gy] = groups1d(n);
      const part = alloc(2 * gx * gy);
      run(DGE_WGSL, [acc, raw, grid, table.t, part], {
        n,
        npts: table.n,
        ao: acc.offset,
        ro: raw.offset,
        go: grid.offset,
        po: part.offset,
        inv_k: 1 / k,
        expo: 1 / k - 1,
        cap,
        lo_tol: lo - Math.abs(lo) * 2 ** -20,
        hi_tol: hi + Math.abs(hi) * 2 ** -20,
      }, [gx, gy]);
      const p = readF32(part, 0, 2 * gx * gy);
      free(part);
      const v = await p;
      let sum = 0, capped = 0;
      for (let i = 0; i < gx * gy; i++) {
        sum += v[2 * i];
        capped += v[2 * i + 1];
      }
      return { meanFactor: n === 0 ? 0 : sum / n, cappedFraction: n === 0 ? 0 : capped / n };
    },
    hadamard(t, rows, cols, size, seed) {
      if (cols % size !== 0) {
        throw new RangeError(`hadamard: cols ${cols} not a multiple of ${size}`);
      }
      const blocks = (rows * cols) / size;
      run(HADAMARD_WGSL, [t], {
        blocks,
        size,
        o: t.offset,
        key: seedKey(seed),
        norm: Math.fround(1 / Math.sqrt(size)),
      }, groups1d(blocks));
    },

    embeddingForward(out, tokens, table, M, D) {
      run(EMBEDDING_FORWARD_WGSL, [out, tokens, table], {
        M,
        D,
        oo: out.offset,
        to: tokens.offset,
        wo: table.offset,
      }, groups1d(M * D));
    },
    embeddingBackward(dtable, dout, tokens, M, D) {
      run(EMBEDDING_BACKWARD_WGSL, [dtable, dout, tokens], {
        M,
        D,
        wo: dtable.offset,
        go: dout.offset,
        to: tokens.offset,
      }, groups1d(D));
    },
    rmsnormForward(out, rstd, x, weight, M, D, eps) {
      run(RMSNORM_FORWARD_WGSL, [out, rstd, x, weight], {
        M,
        D,
        eps,
        oo: out.offset,
        ro: rstd.offset,
        xo: x.offset,
        wo: weight.offset,
      }, groups1d(M, 1));
    },
    rmsnormBackward(dx, dweight, dout, x, weight, rstd, M, D) {
      run(RMSNORM_BACKWARD_DX_WGSL, [dx, dout, x, weight, rstd], {
        M,
        D,
        dxo: dx.offset,
        go: dout.offset,
        xo: x.offset,
        wo: weight.offset,
        ro: rstd.offset,
      }, groups1d(M, 1));
      run(RMSNORM_BACKWARD_DW_WGSL, [dweight, dout, x, rstd], {
        M,
        D,
        dwo: dweight.offset,
        go: dout.offset,
        xo: x.offset,
        ro: rstd.offset,
      }, groups1d(D));
    },
    rope(x, Bsz, T, stride, offset, heads, headDim, cos, sin, inverse) {
      const n = Bsz * T * heads * (headDim / 2);
      run(ROPE_WGSL, [x, cos, sin], {
        rows: Bsz * T,
        T,
        stride,
        off: offset,
        heads,
        hd: headDim,
        sign: inverse ? -1 : 1,
        xo: x.offset,
        co: cos.offset,
        so: sin.offset,
      }, groups1d(n));
    },
    attentionForward(out, probs, qkv, Bsz, T, D, H, bf16) {
      const hd = D / H;
      if (hd > 512) throw new RangeError(`attention: head dimension ${hd} above 512`);
      checkLen("attention probs", probs, Bsz * H * T * T);
      run(ATTENTION_FORWARD_WGSL, [out, probs, qkv], {
        T,
        D,
        H,
        hd,
        scale: 1 / Math.sqrt(hd),
        bf16: bf16 ? 1 : 0,
        oo: out.offset,
        po: probs.offset,
        qo: qkv.offset,
      }, [T, Bsz * H]);
    },
    attentionBackward(dqkv, dout, qkv, probs, Bsz, T, D, H) {
      const hd = D / H;
      const dS = alloc(Bsz * H * T * T);
      const common = {
        T,
        D,
        H,
        hd,
        gqo: dqkv.offset,
        go: dout.offset,
        qo: qkv.offset,
        po: probs.offset,
        so: dS.offset,
      };
      run(ATTENTION_BACKWARD_Q_WGSL, [dqkv, dout, qkv, probs, dS], {
        ...common,
        scale: 1 / Math.sqrt(hd),
      }, [T, Bsz * H]);
      run(ATTENTION_BACKWARD_KV_WGSL, [dqkv, dout, qkv, probs, dS], common, [
        Math.ceil((T * hd) / 256),
        Bsz * H,
      ]);
      free(dS);
    },
    swigluForward(out, gateUp, M, F) {
      run(
        SWIGLU_FORWARD_WGSL,
        [out, gateUp],
        { M, F, oo: out.offset, go: gateUp.offset },
        groups1d(M * F),
      );
    },
    swigluBackward(dgateUp, dout, gateUp, M, F) {
      run(SWIGLU_BACKWARD_WGSL, [dgateUp, dout, gateUp], {
        M,
        F,
        dgo: dgateUp.offset,
        go: dout.offset,
        guo: gateUp.offset,
      }, groups1d(M * F));
    },
    crossEntropy(logits, targets, targetProbs, M, V, gradScale) {
      run(CROSS_ENTROPY_WGSL, [logits, targets, targetProbs], {
        M,
        V,
        lo: logits.offset,
        to: targets.offset,
        po: targetProbs.offset,
        grad: gradScale === null ? 0 : 1,
        inv_m: 1 / M,
        gscale: gradScale ?? 1,
      }, groups1d(M, 1));
    },
    async hasNonFinite(t) {
      const flag = alloc(1, "i32");
      run(
        NONFINITE_WGSL,
        [t, flag],
        { n: t.length, o: t.offset, fo: flag.offset },
        groups1d(t.length),
      );
      const p = rt.readLater(B(flag), flag.offset * 4, 4);
      free(flag);
      return new Uint32Array(await p)[0] !== 0;
    },

    async unscale(grads, inverseScale) {
      const flag = alloc(1, "i32");
      for (const g of grads) {
        run(
          UNSCALE_WGSL,
          [g, flag],
          { n: g.length, o: g.offset, s: inverseScale, fo: flag.offset },
          groups1d(g.length),
        );
      }
      const p = rt.readLater(B(flag), flag.offset * 4, 4);
      free(flag);
      return new Uint32Array(await p)[0] === 0;
    },
    async clipGradNorm(grads, maxNorm) {
      if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
        throw new RangeError(`maxNorm must be finite and > 0, got ${maxNorm}`);
      }
      const sizes = grads.map((g) => groups1d(g.length));
      const total = sizes.reduce((s, [x, y]) => s + (g0(x, y)), 0);
      const part = alloc(Math.max(1, total) + 2);
      let po = 0;
      grads.forEach((g, i) => {
        run(SUMSQ_WGSL, [g, part], { n: g.length, o: g.offset, po: part.offset + po }, sizes[i]);
        po += g0(...sizes[i]);
      });
      // The norm and the factor in a buffer of their own: a dispatch may not bind one buffer
      // twice.
      const state = alloc(2);
      run(CLIP_FACTOR_WGSL, [part, state], { nparts: total, max_norm: maxNorm, so: 0 }, [1]);
      for (const g of grads) {
        run(SCALE_BY_WGSL, [g, state], { n: g.length, o: g.offset, so: 1 }, groups1d(g.length));
      }
      const p = readF32(state, 0, 1);
      free(part);
      free(state);
      return (await p)[0];
    },
    async fp8AllReduce(rankGrads) {
      const R = rankGrads.length;
      if (R === 0) throw new RangeError("fp8AllReduce: no ranks");
      const T = rankGrads[0].length;
      if (R === 1) return 0;
      const meta = alloc(4 * T, "i32");
      const mod = (a: number) => ((a % R) + R) % R;
      const K = Math.fround(R * (1 + 2 ** -4) ** R);
      for (let t = 0; t < T; t++) {
        const n = rankGrads[0][t].length;
        const mo = meta.offset + 4 * t;
        for (let r = 0; r < R; r++) {
          const x = rankGrads[r][t];
          if (x.length !== n) throw new RangeError(`fp8AllReduce: rank ${r} tensor ${t} length`);
          run(AR_PREP_WGSL, [x, meta], { n, o: x.offset, ranks: R, mo }, groups1d(n));
        }
        run(AR_SCALE_WGSL, [meta], { mo, k: K }, [1]);
        const bounds = Array.from({ length: R + 1 }, (_, c) => Math.floor((c * n) / R));
        const hop = (from: number, to: number, chunk: number, add: boolean) => {
          const lo = bounds[chunk], len = bounds[chunk + 1] - lo;
          const d = rankGrads[to][t];
          // A rank's hop onto itself reads a copy (d is written; see run).
          const s = from === to ? own(rankGrads[from][t]) : rankGrads[from][t];
          run(AR_HOP_WGSL, [s, d, meta], {
            n: len,
            so: s.offset + lo,
            dso: d.offset + lo,
            mo,
            add: add ? 1 : 0,
            nan: 0,
          }, groups1d(len));
          if (from === to) free(s);
        };
        for (let s = 0; s < R - 1; s++) {
          for (let r = 0; r < R; r++) hop(r, mod(r + 1), mod(r - s), true);
        }
        for (let r = 0; r < R; r++) hop(r, r, mod(r + 1), false);
        for (let s = 0; s < R - 1; s++) {
          for (let r = 0; r < R; r++) hop(r, mod(r + 1), mod(r + 1 - s), false);
        }
        for (let r = 0; r < R; r++) {
          const d = rankGrads[r][t], s = own(d);
          run(
            AR_HOP_WGSL,
            [s, d, meta],
            { n, so: s.offset, dso: d.offset, mo, add: 0, nan: 1 },
            groups1d(n),
          );
          free(s);
        }
      }
      const p = rt.readLater(B(meta), meta.offset * 4, 16 * T);
      free(meta);
      const m = new Uint32Array(await p);
      let bytes = 0;
      for (let t = 0; t < T; t++) {
        const n = rankGrads[0][t].length;
        bytes += 4 * R * (R - 1) + (m[4 * t + 1] !== 0 ? 0 : 2 * (R - 1) * n);
      }
      return bytes;
    },
    adamwCreate(params, options: BackendAdamWOptions): GpuOptimizer {
      if (options.weightDecay.length !== params.length) {
        throw new RangeError(
          `adamwCreate: ${options.weightDecay.length} weight decays for ${params.length} tensors`,
        );
      }
      return makeOptimizer(params, {
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: [...options.weightDecay],
        m1Format: options.m1Format,
        m2Format: options.m2Format,
        step: 0,
      });
    },
    adamwImport(params, checkpoint: AdamWCheckpoint): GpuOptimizer {
      const state = importAdamWState(params.map((p) => new Float32Array(p.length)), checkpoint);
      if (state.momentScaling !== "tensor") {
        throw new RangeError("webgpu: AdamW moments must use per-tensor scaling");
      }
      const opt = makeOptimizer(params, { ...state, weightDecay: [...state.weightDecay] });
      const total = opt.offsets[params.length];
      const m1 = new Float32Array(total), m2 = new Float32Array(total);
      const sc = new Float32Array(4 * params.length);
      params.forEach((_, k) => {
        m1.set(state.m1[k], opt.offsets[k]);
        m2.set(state.m2[k], opt.offsets[k]);
        sc.set([state.m1Scales[k], state.m2Scales[k], 1, 1], 4 * k);
      });
      if (total > 0) {
        rt.write(B(opt.m1), 0, m1);
        rt.write(B(opt.m2), 0, m2);
      }
      rt.write(B(opt.sc), 0, sc);
      return opt;
    },
    adamwStep(handle, grads, lr) {
      const opt = handle as GpuOptimizer;
      if (grads.length !== opt.params.length) {
        throw new RangeError(
          `adamwStep: ${grads.length} gradients for ${opt.params.length} tensors`,
        );
      }
      if (!(lr >= 0) || !Number.isFinite(lr)) {
        throw new RangeError(`lr must be finite and >= 0, got ${lr}`);
      }
      const t = opt.step + 1;
      const stepSize = lr / (1 - opt.beta1 ** t);
      const invSqrtBc2 = 1 / Math.sqrt(1 - opt.beta2 ** t);
      const f1 = momentFormat(opt.m1Format), f2 = momentFormat(opt.m2Format);
      fill(opt.amax, 0);
      opt.params.forEach((w, k) => {
        const n = w.length, o = opt.offsets[k];
        if (grads[k].length !== n) throw new RangeError(`adamwStep: gradient ${k} length`);
        run(ADAMW_UPDATE_WGSL, [w, grads[k], opt.m1, opt.m2, opt.sc, opt.amax], {
          n,
          wo: w.offset,
          go: grads[k].offset,
          mo: opt.m1.offset + o,
          vo: opt.m2.offset + o,
          so: opt.sc.offset + 4 * k,
          ao: opt.amax.offset + 2 * k,
          b1: opt.beta1,
          b2: opt.beta2,
          c1: 1 - opt.beta1,
          c2: 1 - opt.beta2,
          eps: opt.eps,
          decay: 1 - lr * opt.weightDecay[k],
          step_size: stepSize,
          inv_sqrt_bc2: invSqrtBc2,
        }, groups1d(n));
        const moments: [FloatFormat | null, MomentFormat, Tensor, number][] = [
          [f1, opt.m1Format, opt.m1, 0],
          [f2, opt.m2Format, opt.m2, 1],
        ];
        for (const [f, name, buf, which] of moments) {
          if (f === null) continue;
          run(MOMENT_SCALE_WGSL, [opt.sc, opt.amax], {
            so: opt.sc.offset + 4 * k + which,
            ao: opt.amax.offset + 2 * k + which,
            ro: opt.sc.offset + 4 * k + 2 + which,
            maxv: f.maxNormal,
            scaled: name === "FP16" || name === "E4M3" ? 1 : 0,
          }, [1]);
          run(MOMENT_ROUND_WGSL, [buf, opt.sc], {
            n,
            o: buf.offset + o,
            ro: opt.sc.offset + 4 * k + 2 + which,
            mbits: f.mantissaBits,
            emin: 1 - f.bias,
            maxv: f.maxNormal,
          }, groups1d(n));
        }
      });
      opt.step = t;
    },
    async adamwExport(handle) {
      const opt = handle as GpuOptimizer;
      const total = opt.offsets[opt.params.length];
      const [m1, m2, sc] = await Promise.all([
        readF32(opt.m1, 0, total),
        readF32(opt.m2, 0, total),
        readF32(opt.sc, 0, 4 * opt.params.length),
      ]);
      const slices = (all: Float32Array) =>
        opt.params.map((_, k) => all.slice(opt.offsets[k], opt.offsets[k + 1]));
      const state: AdamWState = {
        params: [],
        beta1: opt.beta1,
        beta2: opt.beta2,
        eps: opt.eps,
        weightDecay: opt.weightDecay,
        m1Format: opt.m1Format,
        m2Format: opt.m2Format,
        momentScaling: "tensor",
        step: opt.step,
        m1: slices(m1),
        m2: slices(m2),
        m1Scales: Float32Array.from(opt.params, (_, k) => sc[4 * k]),
        m2Scales: Float32Array.from(opt.params, (_, k) => sc[4 * k + 1]),
      };
      return exportAdamWState(state);
    },
  };

  function makeOptimizer(
    params: readonly Tensor[],
    h: {
      beta1: number;
      beta2: number;
      eps: number;
      weightDecay: number[];
      m1Format: MomentFormat;
      m2Format: MomentFormat;
      step: number;
    },
  ): GpuOptimizer {
    momentFormat(h.m1Format);
    momentFormat(h.m2Format);
    const offsets = [0];
    for (const p of params) offsets.push(offsets[offsets.length - 1] + p.length);
    const total = offsets[params.length];
    const sc = alloc(4 * params.length);
    fill(sc, 1);
    return {
      ...h,
      params: [...params],
      offsets,
      m1: alloc(total),
      m2: alloc(total),
      sc,
      amax: alloc(2 * params.length, "i32"),
    };
  }

  return backend;
}

function g0(x: number, y: number): number {
  return x * y;
}

function momentFormat(name: MomentFormat): FloatFormat | null {
  switch (name) {
    case "f32":
      return null;
    case "E4M3":
      return E4M3;
    case "FP16":
    case "BF16":
      return parseFormat(name);
    default:
      throw new RangeError(`unknown moment format ${JSON.stringify(name)}`);
  }
}
