/**
 * A pool of GPU buffers keyed by usage and power-of-two size, so repeated calls reuse storage
 * instead of allocating.
 *
 * @module
 */

/** Reusable GPU buffers. */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<string, GPUBuffer[]>();
  #all = new Set<GPUBuffer>();

  /**
   * Creates an empty pool.
   *
   * @param device the device that owns the buffers
   */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /**
   * A buffer of at least `bytes` bytes with exactly `usage`.
   *
   * @param bytes the size needed
   * @param usage GPUBufferUsage flags
   * @returns a pooled or new buffer (return it with {@link BufferPool.release})
   */
  acquire(bytes: number, usage: number): GPUBuffer {
    const size = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    const key = `${usage}:${size}`;
    const list = this.#free.get(key);
    const b = list?.pop();
    if (b) return b;
    const buf = this.#device.createBuffer({ size, usage });
    this.#all.add(buf);
    return buf;
  }

  /**
   * Returns buffers to the pool.
   *
   * @param bufs buffers from {@link BufferPool.acquire}
   */
  release(...bufs: GPUBuffer[]): void {
    for (const b of bufs) {
      const key = `${b.usage}:${b.size}`;
      const list = this.#free.get(key) ?? [];
      list.push(b);
      this.#free.set(key, list);
    }
  }

  /** Destroys every buffer this pool made. */
  destroy(): void {
    for (const b of this.#all) b.destroy();
    this.#all.clear();
    this.#free.clear();
  }

  /**
   * Number of buffers the pool has created.
   *
   * @returns the count
   */
  get created(): number {
    return this.#all.size;
  }
}
