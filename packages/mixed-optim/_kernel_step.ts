// adamwStep on the kernel set: the moments live in the kernels' shared WebAssembly memory
// between steps (state.m1[k] / state.m2[k] become views of it on the first step), parameters
// and gradients are used in place when they already are views of that memory and staged
// otherwise. Two pool jobs per step: the update, which writes the weights, stores the moments as
// f32(m / old scale) and finds the largest |m| and v; then (only when a moment's scale may
// change) the pass that rescales those moments onto the new scale and rounds them.
import {
  heapAlloc,
  heapFree,
  kernelExports,
  memoryBuffer,
  runTasks,
} from "@fp4lab/kernels/runtime";
import type { FloatFormat } from "@fp4lab/fp4-format";
import type { AdamWState } from "./adamw.ts";
import { pow2Scale } from "./moment_format.ts";

/** Elements per pool task (a chunk of one tensor). */
export const ELEMENTS_PER_TASK = 1 << 15;
/**
 * Below this many elements in a step the kernels run on the calling thread only. Measured (one
 * default E4M3/FP16 step, pool forced on, medians of 41 interleaved rounds, 2-core EPYC at load
 * 1.6-3): 2^16 elements 0.253 ms on 1 thread, 0.254 ms on 2; 2^17 0.505 / 0.428 ms; 2^18
 * 1.02 / 0.88 ms. The pool starts to pay at 2^17.
 */
export const PARALLEL_MIN_ELEMENTS = 1 << 17;

const FORMAT_CODE: Readonly<Record<string, number>> = { f32: 0, E4M3: 1, FP16: 2, BF16: 3 };
const RECORD_BYTES = 128; // 16 f64 words per tensor
const TASK_BYTES = 32;

/** The moments of one state in kernel memory: block pointers and the views handed out. */
interface Resident {
  m1: (Float32Array | undefined)[];
  m2: (Float32Array | undefined)[];
}

const residents = new WeakMap<AdamWState, Resident>();
/** Block of each view handed out; a view's block is freed once the view is unreachable. */
const blockOf = new WeakMap<Float32Array, number>();
const viewRegistry = new FinalizationRegistry<number>((ptr) => heapFree(ptr));
let liveStates = 0;
const stateRegistry = new FinalizationRegistry<null>(() => released());

// Parameter/gradient staging and the task records: shared by every state, grown on demand,
// freed when no resident state is left.
let stagePtr = 0, stageBytes = 0;
let workPtr = 0, workBytes = 0;
/** Every SharedArrayBuffer the kernel memory has shown (one per size since it last grew). */
const kernelBuffers = new WeakSet<object>();

let available: boolean | undefined;

/**
 * Whether the kernel set runs here: it needs SharedArrayBuffer and WebAssembly SIMD with threads
 * (a browser page that is not cross-origin isolated has no SharedArrayBuffer).
 */
export function kernelsAvailable(): boolean {
  if (available === undefined) {
    try {
      kernelExports();
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

function currentBuffer(): SharedArrayBuffer {
  const buffer = memoryBuffer();
  kernelBuffers.add(buffer);
  return buffer;
}

function isKernelView(a: Float32Array): boolean {
  return kernelBuffers.has(a.buffer);
}

function released(): void {
  liveStates--;
  if (liveStates > 0) return;
  if (stagePtr) heapFree(stagePtr);
  if (workPtr) heapFree(workPtr);
  stagePtr =
    stageBytes =
    workPtr =
    workBytes =
      0;
}

function grow(ptr: number, have: number, bytes: number): [number, number] {
  if (bytes <= have && ptr) return [ptr, have];
  if (ptr) heapFree(ptr);
  const size = Math.max(bytes, Math.ceil(have * 1.25), 4096);
  return [heapAlloc(size), size];
}

/** A fresh block holding `values`, handed out as a view that frees the block when collected. */
function residentCopy(values: Float32Array): Float32Array {
  const ptr = heapAlloc(values.length * 4);
  const view = new Float32Array(currentBuffer(), ptr, values.length);
  view.set(values);
  blockOf.set(view, ptr);
  viewRegistry.register(view, ptr, view);
  return view;
}

function freeView(view: Float32Array | undefined): void {
  if (view === undefined) return;
  const ptr = blockOf.get(view);
  if (ptr === undefined) return;
  viewRegistry.unregister(view);
  blockOf.delete(view);
  heapFree(ptr);
}

/** Makes state.m1 / state.m2 views of kernel memory (copying any the caller replaced). */
function adopt(state: AdamWState): void {
  let r = residents.get(state);
  if (r === undefined) {
    r = { m1: [], m2: [] };
    residents.set(state, r);
    liveStates++;
    stateRegistry.register(state, null, state);
  }
  for (const which of ["m1", "m2"] as const) {
    const list = state[which], mine = r[which];
    for (let k = 0; k < list.length; k++) {
      if (list[k] === mine[k]) continue;
      freeView(mine[k]);
      mine[k] = list[k] = residentCopy(list[k]);
    }
  }
}

/**
 * Moves the moments of `state` out of kernel memory into ordinary arrays (same values) and frees
 * its blocks; the state stays usable. No-op for a state that never stepped on the kernels.
 */
export function releaseState(state: AdamWState): void {
  const r = residents.get(state);
  if (r === undefined) return;
  residents.delete(state);
  stateRegistry.unregister(state);
  for (const which of ["m1", "m2"] as const) {
    const list = state[which];
    for (let k = 0; k < list.length; k++) {
      if (list[k] === r[which][k]) list[k] = list[k].slice();
      freeView(r[which][k]);
    }
  }
  released();
}

/** Step constants computed by adamwStep, shared with the TypeScript path. */
export interface StepConstants {
  readonly stepSize: number;
  readonly invSqrtBc2: number;
  readonly f1: FloatFormat | null;
  readonly f2: FloatFormat | null;
  readonly scaled1: boolean;
  readonly scaled2: boolean;
}

/**
 * One AdamW step on the kernel set, bit for bit the TypeScript path's (checks done by the
 * caller; `state.step` is left to the caller).
 */
export function kernelAdamwStep(
  state: AdamWState,
  grads: readonly Float32Array[],
  lr: number,
  c: StepConstants,
): void {
  const { params, beta1, beta2 } = state;
  adopt(state);
  const count = params.length;
  currentBuffer();
  // Which parameters and gradients need staging (not views of kernel memory), and the tasks.
  let stageFloats = 0, tasks = 0, total = 0;
  for (let k = 0; k < count; k++) {
    const n = params[k].length;
    if (!isKernelView(params[k])) stageFloats += n;
    if (!isKernelView(grads[k])) stageFloats += n;
    tasks += Math.ceil(n / ELEMENTS_PER_TASK);
    total += n;
  }
  [stagePtr, stageBytes] = grow(stagePtr, stageBytes, stageFloats * 4);
  [workPtr, workBytes] = grow(workPtr, workBytes, count * RECORD_BYTES + tasks * TASK_BYTES + 64);
  const buffer = currentBuffer();
  const records = new Float64Array(buffer, workPtr, count * 16);
  const taskBase = workPtr + count * RECORD_BYTES;
  const taskInts = new Int32Array(buffer, taskBase, tasks * 8);
  const taskMax = new Float64Array(buffer, taskBase, tasks * 4);
  const global = taskBase + tasks * TASK_BYTES;
  new Float64Array(buffer, global, 5).set([
    1 - beta1,
    1 - beta2,
    state.eps,
    c.stepSize,
    c.invSqrtBc2,
  ]);
  const allF32 = c.f1 === null && c.f2 === null;
  const fmt1 = FORMAT_CODE[state.m1Format], fmt2 = FORMAT_CODE[state.m2Format];
  let stage = stagePtr, ti = 0;
  const addressOf = (a: Float32Array, copyIn: boolean): number => {
    if (isKernelView(a)) return a.byteOffset;
    const at = stage;
    if (copyIn) new Float32Array(buffer, at, a.length).set(a);
    stage += a.length * 4;
    return at;
  };
  const paramAt: number[] = [];
  const deferred = new Uint8Array(count);
  let anyDeferred = false;
  for (let k = 0; k < count; k++) {
    const n = params[k].length;
    // The TypeScript's f32-only kernel ignores the scales (β·m, no unit change).
    const s1 = allF32 ? 1 : state.m1Scales[k], s2 = allF32 ? 1 : state.m2Scales[k];
    paramAt.push(addressOf(params[k], true));
    const o = k * 16;
    records[o] = paramAt[k];
    records[o + 1] = addressOf(grads[k], true);
    records[o + 2] = state.m1[k].byteOffset;
    records[o + 3] = state.m2[k].byteOffset;
    records[o + 4] = 1 - lr * state.weightDecay[k];
    records[o + 5] = beta1 * s1;
    records[o + 6] = beta2 * s2;
    records[o + 7] = 1 / s1;
    records[o + 8] = 1 / s2;
    records[o + 9] = 1; // ratios, set below once the new scales are known
    records[o + 10] = 1;
    // A moment whose scale may change this step is stored as f32(m · inv) by the first pass
    // (format 0 there) and rounded by the second; an unscaled one at scale 1 keeps scale 1
    // (pow2Scale of 0), so the first pass rounds it already (ratio 1 either way).
    const defer1 = c.f1 !== null && (c.scaled1 || state.m1Scales[k] !== 1);
    const defer2 = c.f2 !== null && (c.scaled2 || state.m2Scales[k] !== 1);
    deferred[k] = (defer1 ? 1 : 0) | (defer2 ? 2 : 0);
    if (deferred[k] !== 0) anyDeferred = true;
    records[o + 11] = c.f1 === null || defer1 ? 0 : fmt1;
    records[o + 12] = c.f2 === null || defer2 ? 0 : fmt2;
    for (let s = 0; s < n; s += ELEMENTS_PER_TASK, ti++) {
      taskInts[ti * 8] = k;
      taskInts[ti * 8 + 1] = s;
      taskInts[ti * 8 + 2] = Math.min(n, s + ELEMENTS_PER_TASK);
    }
  }
  const args = [workPtr, taskBase, global];
  const parallel = total >= PARALLEL_MIN_ELEMENTS;
  runTasks("adamwPkgTask", args, tasks, parallel);
  if (c.f1 !== null || c.f2 !== null) {
    ti = 0;
    for (let k = 0; k < count; k++) {
      let max1 = 0, max2 = 0;
      for (let s = 0; s < params[k].length; s += ELEMENTS_PER_TASK, ti++) {
        // NaN never wins (as the TypeScript's `a > max`); the kernel never records one.
        if (taskMax[ti * 4 + 2] > max1) max1 = taskMax[ti * 4 + 2];
        if (taskMax[ti * 4 + 3] > max2) max2 = taskMax[ti * 4 + 3];
      }
      if (c.f1 !== null) {
        const old = state.m1Scales[k];
        const scale = pow2Scale(c.scaled1 ? max1 : 0, c.f1.maxNormal);
        records[k * 16 + 9] = old / scale;
        records[k * 16 + 11] = deferred[k] & 1 ? fmt1 : 0;
        state.m1Scales[k] = scale;
      }
      if (c.f2 !== null) {
        const old = state.m2Scales[k];
        const scale = pow2Scale(c.scaled2 ? max2 : 0, c.f2.maxNormal);
        records[k * 16 + 10] = old / scale;
        records[k * 16 + 12] = deferred[k] & 2 ? fmt2 : 0;
        state.m2Scales[k] = scale;
      }
    }
    if (anyDeferred) runTasks("adamwRoundTask", args, tasks, parallel);
  }
  for (let k = 0; k < count; k++) {
    if (!isKernelView(params[k])) {
      params[k].set(new Float32Array(buffer, paramAt[k], params[k].length));
    }
  }
}
