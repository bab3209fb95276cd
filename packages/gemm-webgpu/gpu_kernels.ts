/**
 * The fp4lab kernels on a WebGPU device: f32 GEMM (tiled, shared memory), exact FP4 GEMM
 * bit-identical to the CPU twin, and quantize + pack.
 *
 * @module
 */
import {
  type ElementFormat,
  fp4Plan,
  GEMM_F32_BASELINE_WGSL,
  GEMM_F32_TILE,
  GEMM_FP4_SIMPLE,
  GEMM_FP4_TILE,
  gemmF32Kernel,
  gemmFp4Kernel,
  type GemmLayout,
  QUANTIZE_WGSL,
  type QuantizedTensor,
} from "@fp4lab/kernels";
import { BufferPool } from "./buffers.ts";
import {
  checkAlive,
  type GpuHandle,
  requestGpu,
  type RequestGpuOptions,
  unlessLost,
} from "./device.ts";

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01, UNIFORM = 0x40;
const LAYOUTS: Record<string, number> = { nn: 0, nt: 1, tn: 2 };

const QSPEC: Record<
  string,
  { ebits: number; mbits: number; bias: number; max: number; nan: number; width: number }
> = {
  E2M1: { ebits: 2, mbits: 1, bias: 1, max: 6, nan: 0, width: 4 },
  E4M3: { ebits: 4, mbits: 3, bias: 7, max: 448, nan: 0x7f, width: 8 },
  E5M2: { ebits: 5, mbits: 2, bias: 15, max: 57344, nan: 0x7e, width: 8 },
  BF16: { ebits: 8, mbits: 7, bias: 127, max: (2 - 2 ** -7) * 2 ** 127, nan: 0x7fc0, width: 16 },
};

/** Options of {@link GpuKernels.matmul}. */
export interface GpuMatmulOptions {
  /** Operand layout, default "nn". */
  layout?: GemmLayout;
  /** The [m, n] result buffer. */
  out?: Float32Array;
  /** Add the product to `out`. */
  accumulate?: boolean;
}

function checkF32(name: string, a: unknown, len: number): asserts a is Float32Array {
  if (!(a instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array`);
  if (a.length !== len) throw new RangeError(`${name} must have ${len} elements, got ${a.length}`);
}

function checkDim(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  }
}

/** Bytes rounded up to a multiple of 4 (writeBuffer's granularity). */
function pad4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

/**
 * The kernel set on one WebGPU device. Create with {@link GpuKernels.create}; every method is
 * asynchronous, validates its input before touching the GPU, and rejects (instead of hanging)
 * once the device is lost.
 */
export class GpuKernels {
  /** The device handle. */
  readonly gpu: GpuHandle;
  #pool: BufferPool;
  #pipelines = new Map<string, GPUComputePipeline>();

  private constructor(gpu: GpuHandle) {
    this.gpu = gpu;
    this.#pool = new BufferPool(gpu.device);
  }

  /**
   * Requests an adapter and device (or wraps `options.device`).
   *
   * @param options device or adapter preference
   * @returns the kernels
   * @throws {Error} when there is no WebGPU or no adapter (see {@link requestGpu})
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { GpuKernels } from "@fp4lab/gemm-webgpu";
   * // rejects with a clear message when there is no adapter: print it and skip the rest
   * const gpu = await GpuKernels.create().catch((e) => void console.error(e.message));
   * if (gpu) {
   *   const y = await gpu.matmul(new Float32Array([1, 2]), new Float32Array([3, 4]), 1, 1, 2);
   *   assert.deepEqual(Array.from(y), [11]);
   *   gpu.destroy();
   * }
   * ```
   */
  static async create(options: RequestGpuOptions = {}): Promise<GpuKernels> {
    return new GpuKernels(await requestGpu(options));
  }

  #pipeline(key: string, code: string, constants?: Record<string, number>): GPUComputePipeline {
    let p = this.#pipelines.get(key);
    if (!p) {
      const module = this.gpu.device.createShaderModule({ code });
      p = this.gpu.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main", constants },
      });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  #upload(data: ArrayBufferView, usage: number): GPUBuffer {
    const bytes = pad4(Math.max(data.byteLength, 4));
    const buf = this.#pool.acquire(bytes, usage | COPY_DST);
    if (data.byteLength % 4 === 0 && data.buffer instanceof ArrayBuffer) {
      this.gpu.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    } else {
      const tmp = new Uint8Array(bytes);
      tmp.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.gpu.device.queue.writeBuffer(buf, 0, tmp);
    }
    return buf;
  }

  /** Runs one dispatch and reads `outBytes` of binding `outBinding` back. */
  async #dispatch(
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    outIndex: number,
    outBytes: number,
    groups: [number, number],
  ): Promise<ArrayBuffer> {
    const device = this.gpu.device;
    const staging = this.#pool.acquire(outBytes, MAP_READ | COPY_DST);
    try {
      device.pushErrorScope("validation");
      const entries = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(groups[0], groups[1], 1);
      pass.end();
      enc.copyBufferToBuffer(buffers[outIndex], 0, staging, 0, outBytes);
      device.queue.submit([enc.finish()]);
      const err = await unlessLost(this.gpu, device.popErrorScope());
      if (err) throw new Error(`WebGPU validation error: ${err.message}`);
      await unlessLost(this.gpu, staging.mapAsync(MAP_READ, 0, outBytes));
      const copy = staging.getMappedRange(0, outBytes).slice(0);
      staging.unmap();
      return copy;
    } finally {
      this.#pool.release(staging);
    }
  }

  /**
   * f32 GEMM on the GPU, same contract as `@fp4lab/kernels`' `matmul`: out[m, n] = op(A)·op(B)
   * (or += with `accumulate`). Within reassociation tolerance of the CPU result.
   *
   * @param a A as stored: [m, k] ("nn", "nt") or [k, m] ("tn")
   * @param b B as stored: [k, n] ("nn", "tn") or [n, k] ("nt")
   * @param m rows of the result
   * @param n columns of the result
   * @param k the reduced dimension
   * @param options layout, out, accumulate
   * @returns `options.out` or a new array
   * @throws {TypeError} / {RangeError} for bad input, {Error} on a lost device
   */
  async matmul(
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
    options: GpuMatmulOptions = {},
  ): Promise<Float32Array> {
    checkDim("m", m);
    checkDim("n", n);
    checkDim("k", k);
    const layoutName = options.layout ?? "nn";
    if (!Object.hasOwn(LAYOUTS, layoutName)) {
      throw new RangeError(`options.layout must be "nn", "nt" or "tn", got ${String(layoutName)}`);
    }
    checkF32("a", a, m * k);
    checkF32("b", b, k * n);
    const out = options.out ?? new Float32Array(m * n);
    checkF32("options.out", out, m * n);
    checkAlive(this.gpu);
    if (m === 0 || n === 0) return out;
    const pipeline = this.#pipeline(
      `f32:${layoutName}`,
      gemmF32Kernel(GEMM_F32_TILE, layoutName).source,
    );
    const bufs = [
      this.#upload(new Uint32Array([m, n, k, options.accumulate ? 1 : 0, 0, 0, 0, 0]), UNIFORM),
      this.#upload(a, STORAGE),
      this.#upload(b, STORAGE),
      options.accumulate
        ? this.#upload(out, STORAGE | COPY_SRC)
        : this.#pool.acquire(m * n * 4, STORAGE | COPY_SRC | COPY_DST),
    ];
    try {
      const res = await this.#dispatch(pipeline, bufs, 3, m * n * 4, [
        Math.ceil(n / GEMM_F32_TILE),
        Math.ceil(m / GEMM_F32_TILE),
      ]);
      out.set(new Float32Array(res));
      return out;
    } finally {
      this.#pool.release(...bufs);
    }
  }

  /**
   * The plain 16 × 16 tiled WGSL GEMM ("nn", no accumulate): the baseline the benchmark
   * compares {@link GpuKernels.matmul} with.
   *
   * @param a A [m, k]
   * @param b B [k, n]
   * @param m rows
   * @param n columns
   * @param k reduced dimension
   * @returns the [m, n] product
   */
  async matmulBaseline(
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
  ): Promise<Float32Array> {
    checkDim("m", m);
    checkDim("n", n);
    checkDim("k", k);
    checkF32("a", a, m * k);
    checkF32("b", b, k * n);
    checkAlive(this.gpu);
    const out = new Float32Array(m * n);
    if (m === 0 || n === 0) return out;
    const pipeline = this.#pipeline("f32:baseline", GEMM_F32_BASELINE_WGSL);
    return await this.#gemm(pipeline, a, b, m, n, k, out, false, [
      Math.ceil(n / 16),
      Math.ceil(m / 16),
    ]);
  }

  async #gemm(
    pipeline: GPUComputePipeline,
    a: Float32Array,
    b: Float32Array,
    m: number,
    n: number,
    k: number,
    out: Float32Array,
    accumulate: boolean,
    groups: [number, number],
  ): Promise<Float32Array> {
    const bufs = [
      this.#upload(a, STORAGE),
      this.#upload(b, STORAGE),
      accumulate
        ? this.#upload(out, STORAGE | COPY_SRC)
        : this.#pool.acquire(m * n * 4, STORAGE | COPY_SRC | COPY_DST),
      this.#upload(new Uint32Array([m, n, k, accumulate ? 1 : 0]), UNIFORM),
    ];
    try {
      const res = await this.#dispatch(pipeline, bufs, 2, m * n * 4, groups);
      out.set(new Float32Array(res));
      return out;
    } finally {
      this.#pool.release(...bufs);
    }
  }

  /**
   * Exact FP4 GEMM on the GPU: bit-identical to `@fp4lab/kernels`' `fp4Matmul` (same int32
   * block sums, same f32 epilogue order; see there). Uses `dot4I8Packed` when WGSL offers it.
   *
   * @param a activations [m, k] (E2M1 QuantizedTensor)
   * @param w weights stored [n, k]
   * @param options output buffer
   * @returns the [m, n] product
   * @throws {TypeError} / {RangeError} for malformed operands (as the CPU kernel), {Error} on
   *   a lost device
   */
  async fp4Matmul(
    a: QuantizedTensor,
    w: QuantizedTensor,
    options: { out?: Float32Array } = {},
  ): Promise<Float32Array> {
    const p = fp4Plan(a, w);
    const { m, n, k } = p;
    const out = options.out ?? new Float32Array(m * n);
    checkF32("options.out", out, m * n);
    checkAlive(this.gpu);
    if (m === 0 || n === 0) return out;
    if (k === 0) return out.fill(0);
    // The kernel reads codes as u32 words, each row padded to whole words with zero codes,
    // and each operand's group scales followed by its tensor scale.
    const rowBytes = Math.ceil(k / 2), rowWords = Math.ceil(k / 8);
    const words = (q: QuantizedTensor, rows: number) => {
      const bytes = new Uint8Array(rows * rowWords * 4);
      for (let r = 0; r < rows; r++) {
        bytes.set(q.data.subarray(r * rowBytes, (r + 1) * rowBytes), r * rowWords * 4);
        if (k % 2 === 1) bytes[r * rowWords * 4 + rowBytes - 1] &= 15;
      }
      return bytes;
    };
    const scales = (q: QuantizedTensor) => {
      const s = new Float32Array(q.scales.length + 1);
      s.set(q.scales);
      s[q.scales.length] = q.tensorScale;
      return s;
    };
    const kbA = Math.min(a.blockCols, k), kbW = Math.min(w.blockCols, k);
    const tiled = p.nb === 1 || p.kb % 16 === 0;
    const pipeline = this.#pipeline(
      tiled ? `fp4:${this.gpu.dot4}` : "fp4:simple",
      tiled ? gemmFp4Kernel(this.gpu.dot4).source : GEMM_FP4_SIMPLE.source,
    );
    const params = new Uint32Array([
      m,
      n,
      k,
      p.kb,
      p.nb,
      rowWords,
      0,
      0,
      0,
      0,
      a.blockRows,
      Math.ceil(k / a.blockCols),
      kbA,
      w.blockRows,
      Math.ceil(k / w.blockCols),
      kbW,
      a.scales.length,
      w.scales.length,
      0,
      0,
    ]);
    const bufs = [
      this.#upload(params, UNIFORM),
      this.#upload(words(a, m), STORAGE),
      this.#upload(words(w, n), STORAGE),
      this.#upload(scales(a), STORAGE),
      this.#upload(scales(w), STORAGE),
      this.#pool.acquire(m * n * 4, STORAGE | COPY_SRC | COPY_DST),
    ];
    try {
      const res = await this.#dispatch(pipeline, bufs, 5, m * n * 4, [
        Math.ceil(n / (tiled ? GEMM_FP4_TILE : 8)),
        Math.ceil(m / (tiled ? GEMM_FP4_TILE : 8)),
      ]);
      out.set(new Float32Array(res));
      return out;
    } finally {
      this.#pool.release(...bufs);
    }
  }

  /**
   * Quantize + pack on the GPU: the same codes as `@fp4lab/kernels`' `quantizePack` (round to
   * nearest even, saturating; E2M1 two codes per byte low nibble first, E4M3 / E5M2 a byte,
   * BF16 a Uint16Array element), from `values · scale`.
   *
   * @param values the f32 values
   * @param format E2M1, E4M3, E5M2 or BF16
   * @param options inverseScale: the multiplier applied before rounding (default 1)
   * @returns the packed codes
   * @throws {RangeError} for another format, a bad scale or NaN in E2M1
   */
  async quantizePack(
    values: Float32Array,
    format: ElementFormat,
    options: { inverseScale?: number } = {},
  ): Promise<Uint8Array | Uint16Array> {
    if (!(values instanceof Float32Array)) throw new TypeError("values must be a Float32Array");
    const s = format && Object.hasOwn(QSPEC, format.name) ? QSPEC[format.name] : undefined;
    if (!s || format.exponentBits !== s.ebits || format.mantissaBits !== s.mbits) {
      throw new RangeError(`format must be one of E2M1, E4M3, E5M2, BF16, got ${format?.name}`);
    }
    if ("scale" in options) {
      throw new RangeError(
        "options.scale is now options.inverseScale (the multiplier applied before rounding)",
      );
    }
    const scale = Math.fround(options.inverseScale ?? 1);
    if (!Number.isFinite(scale) || scale === 0) {
      throw new RangeError(
        `options.inverseScale must be a finite non-zero f32, got ${options.inverseScale}`,
      );
    }
    const nanAt = format.name === "E2M1" ? values.findIndex((v) => v !== v) : -1;
    if (nanAt >= 0) throw new RangeError(`values[${nanAt}] is NaN, which E2M1 cannot encode`);
    checkAlive(this.gpu);
    const n = values.length;
    const outLen = s.width === 4 ? Math.ceil(n / 2) : n;
    const out = s.width === 16 ? new Uint16Array(outLen) : new Uint8Array(outLen);
    if (n === 0) return out;
    const per = 32 / s.width;
    const words = Math.ceil(n / per);
    const maxBits = new Uint32Array(new Float32Array([s.max]).buffer)[0];
    const params = new ArrayBuffer(32);
    const u = new Uint32Array(params), i = new Int32Array(params);
    u[0] = n;
    u[1] = s.mbits;
    i[2] = 1 - s.bias;
    u[3] = maxBits;
    u[4] = s.nan;
    u[5] = s.width;
    u[6] = s.ebits;
    new Float32Array(params, 28, 1)[0] = scale;
    const pipeline = this.#pipeline("quantize", QUANTIZE_WGSL);
    const bufs = [
      this.#upload(values, STORAGE),
      this.#pool.acquire(words * 4, STORAGE | COPY_SRC | COPY_DST),
      this.#upload(new Uint8Array(params), UNIFORM),
    ];
    try {
      const res = await this.#dispatch(pipeline, bufs, 1, words * 4, [
        Math.ceil(words / 64),
        1,
      ]);
      new Uint8Array(out.buffer).set(new Uint8Array(res, 0, out.byteLength));
      return out;
    } finally {
      this.#pool.release(...bufs);
    }
  }

  /**
   * Number of GPU buffers created so far (pooling keeps it flat across repeated calls).
   *
   * @returns the count
   */
  get buffersCreated(): number {
    return this.#pool.created;
  }

  /** Frees the buffers and destroys the device. */
  destroy(): void {
    this.#pool.destroy();
    this.gpu.device.destroy();
  }
}
