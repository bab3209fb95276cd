/**
 * The process-wide kernel runtime: one WebAssembly module instantiated on one shared
 * `WebAssembly.Memory`, a scratch arena in that memory, and a pool of workers running the same
 * module on the same memory. Kernels are split into independent tasks; the calling thread and
 * every awake worker claim task indices from an atomic counter, so a job finishes even when no
 * worker has started yet (one thread is always a valid configuration).
 *
 * Synchronous by design: the calling thread blocks with `Atomics.wait` until the workers that
 * joined a job have left it (allowed on Deno's and Node's main thread; on a browser's main
 * thread, where `Atomics.wait` throws, it spins instead).
 *
 * @module
 */
import {
  WASM_INITIAL_PAGES,
  WASM_MAXIMUM_PAGES,
  WASM_RELAXED_SIMD_BASE64,
  WASM_SIMD_BASE64,
} from "./_wasm.generated.ts";
import { WORKER_SOURCE } from "./_worker_source.ts";
import {
  ACTIVE,
  ARGS_BYTE,
  ERROR,
  GEN,
  HEAP_BASE,
  KERNEL,
  MAX_ARGS,
  MAX_THREADS,
  NARGS,
  NEXT,
  OPEN,
  SCRATCH_BYTES,
  SCRATCH_PTRS_BYTE,
  STATE0,
  THREADS,
  TOTAL,
} from "./_control.ts";

/** The exported functions of the kernels' WebAssembly module (see kernels/assembly/). */
// deno-lint-ignore no-explicit-any
export type KernelExports = Record<string, any>;

/** Names of the task functions the pool can run, in kernel-number order. */
const TASK_NAMES: readonly string[] = [
  "gemmF32Task",
  "fp4PackTask",
  "fp4GemmTask",
  "fp4PackBothTask",
  // resident training-step kernels (kernels/assembly/layers.ts, attention.ts, quant_ops.ts,
  // occ.ts, optim.ts)
  "fillTask",
  "copyTask",
  "addTask",
  "scaleTask",
  "transposeTask",
  "sumSquaresTask",
  "scaleCheckTask",
  "embeddingForwardTask",
  "embeddingBackwardTask",
  "rmsnormForwardTask",
  "rmsnormBackwardTask",
  "rmsnormWeightGradTask",
  "addRowsTask",
  "ropeTask",
  "swigluForwardTask",
  "swigluBackwardTask",
  "crossEntropyTask",
  "attentionForwardTask",
  "attentionBackwardTask",
  "amaxTask",
  "quantTask",
  "occClampTask",
  "residualMatmulTask",
  "residualAddTask",
  "adamwTask",
  "scale64Task",
  "dgeTask",
  "hadamardTask",
  "operandStatsTask",
  "fakeQuantTask",
  // @fp4lab/mixed-optim's adamwStep (kernels/assembly/optim_pkg.ts)
  "adamwPkgTask",
  "adamwRoundTask",
  "gemmF32DgeTask",
  "gemmF32CodesTask",
  // @fp4lab/quant-granularity's quantizer (kernels/assembly/qg_ops.ts)
  "qgQuantTask",
];

/** How long an idle worker waits for a job before it ends itself (ms). */
const IDLE_MS = 400;

interface PoolWorker {
  postMessage(msg: unknown): void;
}

interface Runtime {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  exports: KernelExports;
  relaxed: boolean;
  threads: number;
  workers: (PoolWorker | undefined)[];
  workerUrl?: string;
  heap: Heap;
  /** per-thread scratch pointers by thread id (0: the calling thread), allocated on first use */
  scratch: number[];
  scratchBytes: number;
  arenaPtr: number;
  arenaBytes: number;
}

/**
 * First-fit allocator over the shared memory above the control block: long-lived buffers (a
 * backend's tensors), per-thread scratch and the staging arena all come from it, so none of them
 * can overlap. Blocks are 64-byte aligned (a cache line; SIMD loads never straddle one).
 */
interface Heap {
  /** end of the highest block ever handed out */
  top: number;
  /** free blocks below `top`, sorted by address, never adjacent (coalesced) */
  free: { ptr: number; bytes: number }[];
  /** live blocks: pointer to size */
  live: Map<number, number>;
}

const ALIGN = 64;

let rt: Runtime | undefined;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** What a runtime offers to count cores: browsers, Deno, Bun and Node 21+ have `navigator`. */
interface CoreCountGlobals {
  navigator?: { hardwareConcurrency?: number };
  process?: {
    getBuiltinModule?: (
      name: string,
    ) => { availableParallelism?: () => number; cpus?: () => unknown[] } | undefined;
  };
}

/**
 * Cores the runtime reports: `navigator.hardwareConcurrency`, else (Node 20, which has no
 * `navigator`) `os.availableParallelism()` or `os.cpus().length`, reached through
 * `process.getBuiltinModule` so the package never imports `node:*`; 1 when neither answers.
 *
 * @param g the globals to ask (the real ones by default)
 * @returns a whole number >= 1
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reportedCores } from "./runtime.ts";
 * // Node 20: no navigator, os.availableParallelism() through process.getBuiltinModule
 * assert.equal(reportedCores({ process: { getBuiltinModule: () => ({ availableParallelism: () => 8 }) } }), 8);
 * ```
 */
export function reportedCores(g: CoreCountGlobals = globalThis as CoreCountGlobals): number {
  const hc = g.navigator?.hardwareConcurrency;
  if (Number.isInteger(hc) && hc! > 0) return hc!;
  try {
    const os = g.process?.getBuiltinModule?.("os");
    const n = os?.availableParallelism?.() ?? os?.cpus?.().length;
    if (Number.isInteger(n) && n! > 0) return n!;
  } catch {
    // not Node, or the module is unavailable: one thread is always valid
  }
  return 1;
}

function defaultThreads(): number {
  return Math.max(1, Math.min(MAX_THREADS, reportedCores()));
}

/** Loads the module on first use; picks the relaxed-SIMD build when the runtime validates it. */
function runtime(): Runtime {
  if (rt) return rt;
  if (typeof SharedArrayBuffer === "undefined") {
    throw new Error(
      "@fp4lab/kernels needs SharedArrayBuffer (in browsers: a cross-origin isolated page)",
    );
  }
  const relaxedBytes = decodeBase64(WASM_RELAXED_SIMD_BASE64);
  const relaxed = WebAssembly.validate(relaxedBytes);
  const bytes = relaxed ? relaxedBytes : decodeBase64(WASM_SIMD_BASE64);
  if (!relaxed && !WebAssembly.validate(bytes)) {
    throw new Error("@fp4lab/kernels needs WebAssembly SIMD128 and threads (shared memory)");
  }
  const module = new WebAssembly.Module(bytes);
  const memory = new WebAssembly.Memory({
    initial: WASM_INITIAL_PAGES,
    maximum: WASM_MAXIMUM_PAGES,
    shared: true,
  });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as KernelExports;
  const threads = defaultThreads();
  const r: Runtime = {
    module,
    memory,
    exports,
    relaxed,
    threads,
    workers: [],
    heap: { top: HEAP_BASE, free: [], live: new Map() },
    scratch: [],
    scratchBytes: SCRATCH_BYTES,
    arenaPtr: 0,
    arenaBytes: 0,
  };
  rt = r;
  scratchOf(r, 0);
  return r;
}

function ensureCapacity(r: Runtime, end: number): void {
  const have = r.memory.buffer.byteLength;
  if (end <= have) return;
  const pages = Math.ceil((end - have) / 65536);
  if (have / 65536 + pages > WASM_MAXIMUM_PAGES) {
    throw new RangeError(
      `kernels need ${end} bytes of memory, more than the ${WASM_MAXIMUM_PAGES * 65536} available`,
    );
  }
  r.memory.grow(pages);
}

function heapAllocIn(r: Runtime, bytes: number): number {
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const h = r.heap;
  for (let i = 0; i < h.free.length; i++) {
    const b = h.free[i];
    if (b.bytes < size) continue;
    const ptr = b.ptr;
    if (b.bytes === size) h.free.splice(i, 1);
    else {
      b.ptr += size;
      b.bytes -= size;
    }
    h.live.set(ptr, size);
    return ptr;
  }
  const ptr = h.top;
  ensureCapacity(r, ptr + size);
  h.top = ptr + size;
  h.live.set(ptr, size);
  return ptr;
}

function heapFreeIn(r: Runtime, ptr: number): void {
  const h = r.heap;
  const size = h.live.get(ptr);
  if (size === undefined) throw new RangeError(`kernel memory ${ptr} is not allocated`);
  h.live.delete(ptr);
  // Insert in address order, then merge with the neighbours.
  let i = 0;
  while (i < h.free.length && h.free[i].ptr < ptr) i++;
  h.free.splice(i, 0, { ptr, bytes: size });
  if (i + 1 < h.free.length && ptr + h.free[i].bytes === h.free[i + 1].ptr) {
    h.free[i].bytes += h.free[i + 1].bytes;
    h.free.splice(i + 1, 1);
  }
  if (i > 0 && h.free[i - 1].ptr + h.free[i - 1].bytes === ptr) {
    h.free[i - 1].bytes += h.free[i].bytes;
    h.free.splice(i, 1);
    i--;
  }
  const last = h.free[h.free.length - 1];
  if (last && last.ptr + last.bytes === h.top) {
    h.top = last.ptr;
    h.free.pop();
  }
}

/**
 * Allocates a long-lived block of the shared memory (64-byte aligned, zero-filled), growing the
 * memory when needed. Views of the memory taken before a call may be stale after it: take them
 * again from {@link memoryBuffer}.
 *
 * @param bytes size in bytes
 * @returns the block's byte offset in the shared memory
 * @throws {RangeError} when the memory cannot grow that far
 * @example
 * ```ts
 * import { heapAlloc, heapFree, memoryBuffer } from "@fp4lab/kernels";
 * const ptr = heapAlloc(1024);
 * new Float32Array(memoryBuffer(), ptr, 256).fill(1);
 * heapFree(ptr);
 * ```
 */
export function heapAlloc(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`bytes must be a non-negative integer, got ${bytes}`);
  }
  const r = runtime();
  const ptr = heapAllocIn(r, bytes);
  new Uint8Array(r.memory.buffer, ptr, r.heap.live.get(ptr)!).fill(0);
  return ptr;
}

/**
 * Returns a block from {@link heapAlloc} to the allocator.
 *
 * @param ptr the block's byte offset
 * @throws {RangeError} when `ptr` is not a live block
 * @example
 * ```ts
 * import { heapAlloc, heapFree } from "@fp4lab/kernels";
 * heapFree(heapAlloc(64));
 * ```
 */
export function heapFree(ptr: number): void {
  heapFreeIn(runtime(), ptr);
}

/** The scratch block of thread `tid`, allocated on first use; its pointer is published. */
function scratchOf(r: Runtime, tid: number): number {
  let p = r.scratch[tid];
  if (p === undefined) {
    p = heapAllocIn(r, r.scratchBytes);
    r.scratch[tid] = p;
    new Int32Array(r.memory.buffer, SCRATCH_PTRS_BYTE, MAX_THREADS)[tid] = p;
  }
  return p;
}

/**
 * Makes every thread's scratch at least `bytes` long (kernels whose tasks need more than the
 * default 1 MiB call this before their job). Between jobs only.
 *
 * @param bytes per-thread scratch bytes
 * @returns the per-thread scratch size now in effect
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureScratch } from "@fp4lab/kernels";
 * assert.ok(ensureScratch(1024) >= 1024);
 * ```
 */
export function ensureScratch(bytes: number): number {
  const r = runtime();
  if (bytes <= r.scratchBytes) return r.scratchBytes;
  r.scratchBytes = Math.ceil(bytes / 65536) * 65536;
  for (let tid = 0; tid < r.scratch.length; tid++) {
    if (r.scratch[tid] === undefined) continue;
    heapFreeIn(r, r.scratch[tid]);
    const p = heapAllocIn(r, r.scratchBytes);
    r.scratch[tid] = p;
    new Int32Array(r.memory.buffer, SCRATCH_PTRS_BYTE, MAX_THREADS)[tid] = p;
  }
  return r.scratchBytes;
}

/**
 * The module's exports, loading the module on first use.
 *
 * @returns the exported kernel functions
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernelExports } from "@fp4lab/kernels";
 * assert.equal(typeof kernelExports().gemmF32Task, "function");
 * ```
 */
export function kernelExports(): KernelExports {
  return runtime().exports;
}

/**
 * Whether the loaded module uses relaxed SIMD (FMA and the int8 dot product) or its plain
 * SIMD128 fallback.
 *
 * @returns true for the relaxed-SIMD build
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usesRelaxedSimd } from "@fp4lab/kernels";
 * assert.equal(typeof usesRelaxedSimd(), "boolean");
 * ```
 */
export function usesRelaxedSimd(): boolean {
  return runtime().relaxed;
}

/**
 * Sets how many threads (the caller plus `n - 1` workers) the kernels use. The default is the
 * core count the runtime reports (`navigator.hardwareConcurrency`; on Node without `navigator`,
 * `os.availableParallelism()`), at most 64. One thread never starts a worker.
 *
 * @param n a whole number from 1 to 64
 * @throws {RangeError} for anything else
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getThreads, setThreads } from "@fp4lab/kernels";
 * setThreads(1);
 * assert.equal(getThreads(), 1);
 * ```
 */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(`threads must be an integer from 1 to ${MAX_THREADS}, got ${n}`);
  }
  const r = runtime();
  // Surplus workers are not dismissed: they stay out of jobs (THREADS) and end when idle, so
  // switching between settings does not restart workers.
  r.threads = n;
}

/**
 * The number of threads the kernels use.
 *
 * @returns the current setting
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getThreads } from "@fp4lab/kernels";
 * assert.ok(getThreads() >= 1);
 * ```
 */
export function getThreads(): number {
  return runtime().threads;
}

/**
 * Asks every worker to end now (they also end by themselves after a short idle time, so a
 * process that used the kernels exits without calling this).
 *
 * @example
 * ```ts
 * import { terminateWorkers } from "@fp4lab/kernels";
 * terminateWorkers();
 * ```
 */
export function terminateWorkers(): void {
  if (rt) dismiss(rt, 0);
}

/** Asks workers from slot `from` on to leave (state 3) and wakes them. */
function dismiss(r: Runtime, from: number): void {
  const ctrl = new Int32Array(r.memory.buffer, 0, 128);
  for (let i = from; i < r.workers.length; i++) {
    if (r.workers[i] === undefined) continue;
    const s = STATE0 + i + 1;
    // A worker ends itself on seeing 3; never terminate() one blocked in Atomics.wait.
    if (Atomics.compareExchange(ctrl, s, 1, 3) !== 1) Atomics.compareExchange(ctrl, s, 0, 3);
  }
  Atomics.notify(ctrl, GEN);
}

function spawn(r: Runtime, tid: number): PoolWorker {
  scratchOf(r, tid);
  const msg = {
    module: r.module,
    memory: r.memory,
    tid,
    names: TASK_NAMES,
    idleMs: IDLE_MS,
  };
  const g = globalThis as unknown as {
    Worker?: new (url: string, opts: { type: string }) => PoolWorker;
    process?: { getBuiltinModule?: (name: string) => unknown };
  };
  if (typeof g.Worker === "function") {
    r.workerUrl ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const w = new g.Worker(r.workerUrl, { type: "module" });
    w.postMessage(msg);
    return w;
  }
  const wt = g.process?.getBuiltinModule?.("worker_threads") as
    | {
      Worker: new (src: string, opts: { eval: boolean }) => PoolWorker & { unref(): void };
    }
    | undefined;
  if (!wt) throw new Error("no Worker implementation: use setThreads(1)");
  const w = new wt.Worker(WORKER_SOURCE, { eval: true });
  w.unref(); // an idle pool must not keep Node's event loop alive
  w.postMessage(msg);
  return w;
}

/** Starts workers missing or exited since the last job. */
function ensureWorkers(r: Runtime, ctrl: Int32Array): void {
  for (let i = 0; i < r.threads - 1; i++) {
    const state = Atomics.load(ctrl, STATE0 + i + 1);
    // A slot is reused only once its worker has exited (2), so two never share a scratch.
    if ((r.workers[i] === undefined && state === 0) || state === 2) {
      Atomics.store(ctrl, STATE0 + i + 1, 0);
      try {
        r.workers[i] = spawn(r, i + 1);
      } catch {
        // No workers in this environment: the calling thread does all the work.
        r.threads = i + 1;
        return;
      }
    }
  }
}

function waitForZero(ctrl: Int32Array, index: number): void {
  for (;;) {
    const v = Atomics.load(ctrl, index);
    if (v === 0) return;
    try {
      Atomics.wait(ctrl, index, v, 100);
    } catch {
      // A browser main thread cannot block: spin.
    }
  }
}

/**
 * Bytes from the start of the arena that a call may use; grows the shared memory if needed.
 *
 * @param bytes the number of bytes needed
 * @returns the byte offset of the arena (valid until the next call that uses the arena)
 * @throws {RangeError} when the memory cannot hold that many bytes
 */
export function arena(bytes: number): number {
  const r = runtime();
  if (bytes > r.arenaBytes || r.arenaBytes === 0) {
    // Grow by at least a quarter so that slowly rising sizes do not reallocate every call.
    const size = Math.max(bytes, Math.ceil(r.arenaBytes * 1.25), 65536);
    if (r.arenaBytes > 0) heapFreeIn(r, r.arenaPtr);
    r.arenaPtr = heapAllocIn(r, size);
    r.arenaBytes = size;
  }
  return r.arenaPtr;
}

/**
 * The current buffer of the shared memory (fresh after a grow).
 *
 * @returns the memory's SharedArrayBuffer
 */
export function memoryBuffer(): SharedArrayBuffer {
  return runtime().memory.buffer as unknown as SharedArrayBuffer;
}

/**
 * Runs `total` tasks of a task kernel: `kernel(...args, t, scratch)` for t in [0, total),
 * spread over the pool. Returns when every task is done.
 *
 * @param name the task function's export name (one of the pool's kernels)
 * @param args numeric arguments before the task index
 * @param total the number of tasks
 * @param parallel false runs every task on the calling thread (small jobs)
 * @throws {Error} when a kernel traps
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapAlloc, heapFree, memoryBuffer, runTasks } from "@fp4lab/kernels";
 * const ptr = heapAlloc(4000 * 4);
 * // fillTask(p, n, value, per, t, scratch): 4 tasks of 1000 elements
 * runTasks("fillTask", [ptr, 4000, 2.5, 1000], 4);
 * assert.equal(new Float32Array(memoryBuffer(), ptr, 4000)[3999], 2.5);
 * heapFree(ptr);
 * ```
 */
export function runTasks(name: string, args: number[], total: number, parallel = true): void {
  postTasks(name, args, total, parallel);
  joinTasks();
}

/** The job {@link postTasks} left open for {@link joinTasks}. */
interface PostedJob {
  name: string;
  fn: (...a: number[]) => void;
  call: number[];
  t0: number;
  total: number;
  /** false: no worker was asked; joinTasks runs every task. */
  pooled: boolean;
}

let posted: PostedJob | undefined;

/**
 * Posts a job of {@link runTasks} to the pool and returns at once, so that the calling thread can
 * prepare the next job's data (for example copy it into the shared memory) while workers run this
 * one; {@link joinTasks} then takes the tasks no worker has claimed yet and waits for the rest.
 * With one thread (or one task, or `parallel` false) nothing runs before `joinTasks`. Until then
 * the job's arguments and the memory its tasks read must stay as they are, and no other job,
 * {@link ensureScratch} or memory growth may happen.
 *
 * @param name the task function's export name (one of the pool's kernels)
 * @param args numeric arguments before the task index
 * @param total the number of tasks
 * @param parallel false runs every task on the calling thread, in joinTasks
 * @throws {Error} when a posted job is still open
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapAlloc, heapFree, joinTasks, memoryBuffer, postTasks } from "@fp4lab/kernels";
 * const ptr = heapAlloc(4000 * 4);
 * postTasks("fillTask", [ptr, 4000, 1.5, 1000], 4);
 * // ... the calling thread is free here ...
 * joinTasks();
 * assert.equal(new Float32Array(memoryBuffer(), ptr, 4000)[3999], 1.5);
 * heapFree(ptr);
 * ```
 */
export function postTasks(name: string, args: number[], total: number, parallel = true): void {
  const r = runtime();
  if (posted) throw new Error("a job posted by postTasks is still open: call joinTasks first");
  const fn = r.exports[name] as (...a: number[]) => void;
  const call = args.slice();
  call.push(0, r.scratch[0]);
  const job: PostedJob = { name, fn, call, t0: args.length, total, pooled: false };
  if (parallel && r.threads > 1 && total > 1) {
    const kernel = TASK_NAMES.indexOf(name);
    if (kernel < 0 || args.length > MAX_ARGS) throw new Error(`not a pool kernel: ${name}`);
    const ctrl = new Int32Array(r.memory.buffer, 0, 128);
    ensureWorkers(r, ctrl);
    if (r.threads > 1) {
      const f64 = new Float64Array(r.memory.buffer, ARGS_BYTE, MAX_ARGS);
      for (let i = 0; i < args.length; i++) f64[i] = args[i];
      ctrl[KERNEL] = kernel;
      ctrl[NARGS] = args.length;
      Atomics.store(ctrl, THREADS, r.threads);
      Atomics.store(ctrl, ERROR, 0);
      Atomics.store(ctrl, TOTAL, total);
      Atomics.store(ctrl, NEXT, 0);
      Atomics.store(ctrl, OPEN, 1);
      Atomics.add(ctrl, GEN, 1);
      Atomics.notify(ctrl, GEN);
      job.pooled = true;
    }
  }
  posted = job;
}

/**
 * Completes the job {@link postTasks} posted: the calling thread claims the tasks left, then
 * waits for the workers inside the job. Does nothing when no job is open.
 *
 * @throws {Error} when a kernel traps
 * @example
 * ```ts
 * import { joinTasks } from "@fp4lab/kernels";
 * joinTasks(); // no job open: returns
 * ```
 */
export function joinTasks(): void {
  const job = posted;
  if (!job) return;
  posted = undefined;
  const { fn, call, t0, total } = job;
  if (!job.pooled) {
    for (let t = 0; t < total; t++) {
      call[t0] = t;
      fn(...call);
    }
    return;
  }
  const r = runtime();
  const ctrl = new Int32Array(r.memory.buffer, 0, 128);
  let error: unknown;
  try {
    let t: number;
    while ((t = Atomics.add(ctrl, NEXT, 1)) < total) {
      call[t0] = t;
      fn(...call);
    }
  } catch (e) {
    error = e;
    Atomics.store(ctrl, NEXT, total);
  }
  Atomics.store(ctrl, OPEN, 0);
  waitForZero(ctrl, ACTIVE);
  if (error) throw error;
  if (Atomics.load(ctrl, ERROR) !== 0) throw new Error(`kernel ${job.name} failed in a worker`);
}
