/**
 * Source of a pool worker, kept as a string so it can start from a Blob URL (Deno, browsers) or
 * with `eval: true` (Node's worker_threads) without any file access.
 *
 * A worker instantiates the shared WebAssembly module on the shared memory, then sleeps on the
 * job generation word. Woken, it joins the open job, claims task indices with an atomic counter
 * until none are left and leaves. After `idleMs` without a job it marks itself exited and ends,
 * so an idle pool never keeps the process alive; the pool starts a new worker on the next job.
 *
 * Control words (Int32 indices at byte 0 of the memory) must match `_control.ts`.
 *
 * @module
 */
export const WORKER_SOURCE = `
"use strict";
const GEN = 0, OPEN = 1, NEXT = 2, TOTAL = 3, ACTIVE = 4, ERROR = 5, KERNEL = 6, NARGS = 7;
const THREADS = 8;
const STATE0 = 16, ARGS_BYTE = 512, MAX_ARGS = 16, SCRATCH_PTRS_BYTE = 640, MAX_THREADS = 64;
const nodeWt = typeof self === "undefined" && typeof process !== "undefined"
  ? process.getBuiltinModule("worker_threads") : null;
function onMessage(f) {
  if (nodeWt) nodeWt.parentPort.once("message", f);
  else self.onmessage = (e) => { self.onmessage = null; f(e.data); };
}
function finish() {
  if (nodeWt) process.exit(0); else self.close();
}
onMessage((msg) => {
  const { module, memory, tid, names, idleMs } = msg;
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = names.map((n) => exports[n]);
  const i32 = new Int32Array(memory.buffer, 0, 128);
  const f64 = new Float64Array(memory.buffer, ARGS_BYTE, MAX_ARGS);
  const scratchPtrs = new Int32Array(memory.buffer, SCRATCH_PTRS_BYTE, MAX_THREADS);
  const STATE = STATE0 + tid;
  const args = [];
  function join() {
    Atomics.add(i32, ACTIVE, 1);
    try {
      if (Atomics.load(i32, OPEN) === 1 && tid < Atomics.load(i32, THREADS)) {
        const fn = fns[i32[KERNEL]];
        const nargs = i32[NARGS];
        args.length = 0;
        for (let i = 0; i < nargs; i++) args.push(f64[i]);
        args.push(0, scratchPtrs[tid]);
        const total = i32[TOTAL];
        let t;
        while ((t = Atomics.add(i32, NEXT, 1)) < total) {
          args[nargs] = t;
          fn(...args);
        }
      }
    } catch (e) {
      Atomics.store(i32, ERROR, 1);
    }
    if (Atomics.sub(i32, ACTIVE, 1) === 1) Atomics.notify(i32, ACTIVE);
  }
  // 0 -> 1 (alive); the pool may already have asked this worker to leave (3).
  if (Atomics.compareExchange(i32, STATE, 0, 1) === 0) {
    let seen = Atomics.load(i32, GEN);
    for (;;) {
      join();
      const r = Atomics.wait(i32, GEN, seen, idleMs);
      if (Atomics.load(i32, STATE) === 3) break;
      if (r === "timed-out" && Atomics.compareExchange(i32, STATE, 1, 2) === 1) break;
      seen = Atomics.load(i32, GEN);
    }
  }
  // Exit rather than be terminated: a terminate() while blocked in Atomics.wait can keep Deno
  // from exiting.
  Atomics.store(i32, STATE, 2);
  finish();
});
`;
