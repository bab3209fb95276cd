// The machinery under the WebGPU backend: buffers (pooled by size), one command encoder and
// compute pass that collect every dispatch until something must leave the GPU, uniform
// parameters packed into 256-byte slots of one uniform buffer (written just before the
// encoder is submitted, so the queue sees them in order), asynchronous read-backs, and
// validation errors and device loss turned into rejected promises instead of hangs.
import { GpuDeviceLost, type GpuHandle, unlessLost } from "@fp4lab/gemm-webgpu";
import type { WgslKernel } from "@fp4lab/kernels";

const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08, MAP_READ = 0x01, UNIFORM = 0x40;
const SLOT = 256;
const SLOTS = 4096;

/** Where a dispatch reads or writes: a whole GPU buffer. */
export type Binding = GPUBuffer;

/** The per-device runtime. */
export class GpuRuntime {
  readonly gpu: GpuHandle;
  readonly device: GPUDevice;
  #pipelines = new Map<string, GPUComputePipeline>();
  #free = new Map<number, GPUBuffer[]>();
  #staging = new Map<number, GPUBuffer[]>();
  #all = new Set<GPUBuffer>();
  #uniform: GPUBuffer;
  #uniformData = new ArrayBuffer(SLOT * SLOTS);
  #u32 = new Uint32Array(this.#uniformData);
  #i32 = new Int32Array(this.#uniformData);
  #f32 = new Float32Array(this.#uniformData);
  #slots = 0;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #pendingReads: {
    staging: GPUBuffer;
    bytes: number;
    resolve: (b: ArrayBuffer) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #flushQueued = false;
  #error: string | null = null;
  /** Dispatches recorded so far (for tests and reports). */
  dispatches = 0;
  /** Command buffers submitted so far. */
  submits = 0;

  constructor(gpu: GpuHandle) {
    this.gpu = gpu;
    this.device = gpu.device;
    this.#uniform = this.device.createBuffer({ size: SLOT * SLOTS, usage: UNIFORM | COPY_DST });
    this.device.addEventListener?.("uncapturederror", (e: Event) => {
      const err = (e as GPUUncapturedErrorEvent).error;
      this.#error ??= err?.message ?? "uncaptured WebGPU error";
    });
  }

  /** Throws the first validation error or the loss of the device. */
  check(): void {
    if (this.gpu.lost !== undefined) throw new GpuDeviceLost(this.gpu.lost);
    if (this.#error !== null) throw new Error(`WebGPU error: ${this.#error}`);
  }

  /** A zero-filled storage buffer of at least `bytes` (pooled by size class). */
  create(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.#endPass();
      this.#enc().clearBuffer(reused);
      return reused;
    }
    const buf = this.device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST });
    this.#all.add(buf);
    return buf;
  }

  /** Returns a buffer to the pool (work already recorded on it still runs first). */
  release(buf: GPUBuffer): void {
    const list = this.#free.get(buf.size) ?? [];
    list.push(buf);
    this.#free.set(buf.size, list);
  }

  /** Buffers created so far. */
  get buffersCreated(): number {
    return this.#all.size;
  }

  /** Copies host bytes into `buf` at `byteOffset`, after everything recorded so far. */
  write(buf: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
    if (data.byteLength === 0) return; // (Deno 2.9 panics on an empty ArrayBuffer)
    this.flush();
    this.device.queue.writeBuffer(
      buf,
      byteOffset,
      data.buffer as ArrayBuffer,
      data.byteOffset,
      data.byteLength,
    );
  }

  /** Records a buffer-to-buffer copy. */
  copy(src: GPUBuffer, srcByte: number, dst: GPUBuffer, dstByte: number, bytes: number): void {
    if (bytes === 0) return;
    this.#endPass();
    this.#enc().copyBufferToBuffer(src, srcByte, dst, dstByte, bytes);
  }

  /**
   * Records a copy of `bytes` from `buf` into a staging buffer; the promise resolves with them
   * once the work recorded so far has run. Submits at the end of the current task at the latest.
   */
  readLater(buf: GPUBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    if (bytes === 0) return Promise.resolve(new ArrayBuffer(0));
    const staging = this.#stagingBuffer(bytes);
    this.#endPass();
    this.#enc().copyBufferToBuffer(buf, byteOffset, staging, 0, bytes);
    const promise = new Promise<ArrayBuffer>((resolve, reject) => {
      this.#pendingReads.push({ staging, bytes, resolve, reject });
    });
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.flush();
      });
    }
    return promise;
  }

  /** Records one dispatch of `kernel` with `params` over `groups` workgroups. */
  dispatch(
    kernel: WgslKernel,
    bindings: readonly Binding[],
    params: Readonly<Record<string, number>>,
    groups: readonly [number, number?, number?],
  ): void {
    const [gx, gy = 1, gz = 1] = groups;
    if (gx === 0 || gy === 0 || gz === 0) return;
    if (bindings.length !== kernel.bindings.length) {
      throw new Error(
        `${kernel.name}: ${bindings.length} bindings, expected ${kernel.bindings.length}`,
      );
    }
    // WebGPU forbids one buffer at two writable bindings of a dispatch (all storage bindings are
    // read_write here). Dawn (Chromium) rejects it; wgpu (Deno, Firefox) lets it pass, so check
    // here to fail the same way everywhere.
    for (let i = 1; i < bindings.length; i++) {
      const j = bindings.indexOf(bindings[i]);
      if (j < i) {
        throw new Error(
          `${kernel.name}: one buffer bound as ${kernel.bindings[j].split(":")[0].trim()} and ${
            kernel.bindings[i].split(":")[0].trim()
          } (WebGPU forbids writable storage aliasing)`,
        );
      }
    }
    const pipeline = this.#pipeline(kernel);
    if (this.#slots === SLOTS) this.flush();
    const slot = this.#slots++;
    const base = (slot * SLOT) / 4;
    kernel.params.forEach(([name, type], i) => {
      const v = params[name] ?? 0;
      if (type === "f32") this.#f32[base + i] = v;
      else if (type === "i32") this.#i32[base + i] = v;
      else this.#u32[base + i] = v;
    });
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.#uniform, offset: slot * SLOT, size: SLOT } },
    ];
    bindings.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    const bind = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.#passEnc();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(gx, gy, gz);
    this.dispatches++;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (this.#encoder === null) return;
    this.#endPass();
    const encoder = this.#encoder;
    this.#encoder = null;
    if (this.#slots > 0) {
      this.device.queue.writeBuffer(this.#uniform, 0, this.#uniformData, 0, this.#slots * SLOT);
      this.#slots = 0;
    }
    this.device.queue.submit([encoder.finish()]);
    this.submits++;
    this.device.popErrorScope().then((err) => {
      if (err) this.#error ??= err.message;
    }, () => {});
    const reads = this.#pendingReads;
    this.#pendingReads = [];
    for (const r of reads) {
      unlessLost(this.gpu, r.staging.mapAsync(MAP_READ, 0, r.bytes)).then(() => {
        const copy = r.staging.getMappedRange(0, r.bytes).slice(0);
        r.staging.unmap();
        this.#releaseStaging(r.staging);
        try {
          this.check();
          r.resolve(copy);
        } catch (e) {
          r.reject(e);
        }
      }, r.reject);
    }
  }

  /** Resolves once every submitted command has run. */
  async sync(): Promise<void> {
    this.flush();
    await unlessLost(this.gpu, this.device.queue.onSubmittedWorkDone());
    // let the error scopes of the last submissions settle
    await unlessLost(this.gpu, Promise.resolve());
    this.check();
  }

  /** Destroys every buffer (the device stays). */
  destroy(): void {
    for (const b of this.#all) b.destroy();
    this.#all.clear();
    this.#free.clear();
    for (const list of this.#staging.values()) for (const b of list) b.destroy();
    this.#staging.clear();
    this.#uniform.destroy();
  }

  #enc(): GPUCommandEncoder {
    if (this.#encoder === null) {
      this.device.pushErrorScope("validation");
      this.#encoder = this.device.createCommandEncoder();
    }
    return this.#encoder;
  }

  #passEnc(): GPUComputePassEncoder {
    if (this.#pass === null) this.#pass = this.#enc().beginComputePass();
    return this.#pass;
  }

  #endPass(): void {
    if (this.#pass !== null) {
      this.#pass.end();
      this.#pass = null;
    }
  }

  #pipeline(kernel: WgslKernel): GPUComputePipeline {
    let p = this.#pipelines.get(kernel.name);
    if (!p) {
      const module = this.device.createShaderModule({ code: kernel.source });
      p = this.device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(kernel.name, p);
    }
    return p;
  }

  #stagingBuffer(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const b = this.#staging.get(size)?.pop();
    return b ?? this.device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  }

  #releaseStaging(b: GPUBuffer): void {
    const list = this.#staging.get(b.size) ?? [];
    list.push(b);
    this.#staging.set(b.size, list);
  }
}

// Small buffers round up to powers of two (many, reused); large ones to 1 MiB (few, and a
// power of two would waste up to half of a big parameter buffer).
function sizeClass(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 1 << 20) return 2 ** Math.ceil(Math.log2(b));
  return Math.ceil(b / (1 << 20)) * (1 << 20);
}

/** Workgroups for `n` invocations of 256: a 2-D grid within the 65535-per-dimension limit. */
export function groups1d(n: number, per = 256): [number, number] {
  const wgs = Math.ceil(n / per);
  if (wgs <= 65535) return [wgs, 1];
  const x = 65535;
  return [x, Math.ceil(wgs / x)];
}
