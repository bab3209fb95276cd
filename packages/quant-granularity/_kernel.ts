// The kernel-set path of quantizeTensor and fakeQuant: the same numbers as the TypeScript path
// (kept in _reference.ts and tested against it bit for bit), computed by @fp4lab/kernels'
// WebAssembly SIMD quantizer (kernels/assembly/qg_ops.ts) on its worker pool. The TypeScript path
// stays in charge of everything the kernel does not implement (stochastic and ties-up rounding,
// formats wider than 8 bits, runtimes without shared memory, small inputs) and of every error:
// where the kernel meets a NaN, or NVFP4 an infinity, it declines and the TypeScript path throws
// the error it always threw. It imports the kernels' runtime entry point only (the module and its
// pool), not their WGSL sources and manifest, to keep importing this package cheap.
import {
  ensureScratch,
  getThreads,
  heapAlloc,
  heapFree,
  joinTasks,
  kernelExports,
  memoryBuffer,
  postTasks,
} from "@fp4lab/kernels/runtime";
import type { FloatFormat } from "@fp4lab/fp4-format";
import type { ResolvedScheme } from "./_resolve.ts";
import { FLT_MAX } from "./_scales.ts";

/**
 * Switches and thresholds of the kernel path (module state, so that tests can force either
 * path). Chosen from `deno run -A benchmarks/quant_granularity_ratio.ts --crossover` (MXFP4,
 * shared 2-core AMD EPYC): once loaded, the kernel beat the TypeScript path at every size from 64
 * elements (3.2 µs against 17 µs; 8192: 9 against 40 µs), but loading it costs 11–17 ms once. At
 * load average 0.7, 2 threads lost to 1 below 2^18 elements (8192: 25 against 9 µs), tied at 2^18
 * and won from 2^20 (1.1 ms against 0.66 ms; 2^22: 4.4 against 2.7 ms); at load average 2 they did
 * not win at any size. Bands of 2^21 elements were fastest on 2 threads (per-row E2M1, 4096 ×
 * 4096: 10.1 ms against 11.0 for 2^20 and 11.4 for the whole matrix); NVFP4 staged whole took
 * 15.3 ms against 18.9–20.3 in two to eight bands (each staged twice).
 */
export const kernelPath = {
  /** false: always the TypeScript path. */
  enabled: true,
  /** Fewer elements than this run the TypeScript path (a one-off small call need not load it). */
  minElements: 4096,
  /** From this many elements the kernel runs on the worker pool (when it has > 1 thread). */
  parallelMinElements: 1 << 20,
  /** Elements per staged band of quantizeTensor's input (two bands are staged at a time). */
  chunkElements: 1 << 21,
  /** Up to this many elements, NVFP4 and per-tensor scales stage the whole input at once. */
  wholeMaxElements: 1 << 26,
  /** Calls the kernel completed (tests check that the path they meant to test ran). */
  runs: 0,
};

/** The scale rules in the kernel's numbering. */
const RULES: Readonly<Record<string, number>> = {
  "absmax": 1,
  "pow2-floor": 2,
  "e8m0-floor": 3,
  "e8m0-ceil": 4,
  "e8m0-even": 5,
  "e8m0-rceil": 6,
  "nvfp4": 7,
};

/**
 * Formats whose grid the kernel rounds to: signed ExMy of at most 8 bits with at least one
 * mantissa bit, whose range keeps the kernel's rounding constants normal f32 numbers.
 */
function kernelFormat(format: FloatFormat): boolean {
  const m = format.mantissaBits;
  return format.signed && format.bits <= 8 && m >= 1 && m <= 7 &&
    format.bits === 1 + format.exponentBits + m && 1 - format.bias >= -100 &&
    format.maxNormal > 0 && format.maxNormal < 2 ** 100;
}

let available: boolean | undefined;

/** Whether the kernel set loads here (it needs SharedArrayBuffer and WebAssembly SIMD). */
function kernelsAvailable(): boolean {
  if (available === undefined) {
    try {
      available = typeof kernelExports().qgQuantTask === "function";
    } catch {
      available = false;
    }
  }
  return available;
}

/** Whether {@link quantizeOnKernels} takes a scheme (before looking at the values). */
export function kernelTakes(plan: ResolvedScheme, elements: number): boolean {
  return kernelPath.enabled && elements >= kernelPath.minElements &&
    plan.rounding === "nearest-even" && RULES[plan.scaleRule] !== undefined &&
    kernelFormat(plan.format) && kernelsAvailable();
}

/** One long-lived block of the kernels' memory for a call's inputs and outputs, grown as needed. */
let stagingPtr = 0;
let stagingBytes = 0;

function staging(bytes: number): number {
  if (bytes > stagingBytes) {
    // Grow by a quarter at least, so that slowly rising sizes do not reallocate every call.
    const size = Math.max(bytes, Math.ceil(stagingBytes * 1.25));
    if (stagingBytes > 0) heapFree(stagingPtr);
    stagingBytes = 0;
    stagingPtr = heapAlloc(size);
    stagingBytes = size;
  }
  return stagingPtr;
}

const align = (n: number) => Math.ceil(n / 64) * 64;

/** Where the kernel's results go. */
export interface KernelSinks {
  /** Codes (quantizeTensor). */
  readonly data?: Uint8Array;
  /** Dequantized values (fakeQuant); may be `values` itself. */
  readonly out?: Float32Array;
  /** One f32 scale per group. */
  readonly scales?: Float32Array;
  /** One byte per group (E8M0 and NVFP4 rules). */
  readonly scaleCodes?: Uint8Array;
}

/** What the kernel reports besides its outputs. */
export interface KernelResult {
  readonly clipped: number;
  readonly tensorScale: number;
}

/**
 * Quantizes on the kernel set, or returns undefined when the values hold something the
 * TypeScript path must report (NaN; ±Inf under NVFP4) or the kernels' memory cannot hold the
 * call. Call only when {@link kernelTakes} said yes. Nothing reaches the sinks before the whole
 * matrix is done, so a declined call leaves them as they were.
 *
 * Codes (quantizeTensor): the values are staged in bands of whole group rows of about
 * {@link kernelPath}.chunkElements, two slots in turn, so that the next band is copied in while
 * the pool works on this one; codes and scales stay in the kernels' memory until the end. NVFP4
 * and per-tensor scales (a tensor-amax pass first) stage the whole matrix up to
 * {@link kernelPath}.wholeMaxElements, else their bands twice. Dequantized values (fakeQuant) are
 * computed in place over the whole staged matrix. The staging block is kept for the next call.
 */
export function quantizeOnKernels(
  values: Float32Array,
  rows: number,
  cols: number,
  plan: ResolvedScheme,
  sinks: KernelSinks,
): KernelResult | undefined {
  const { format, blockRows, blockCols, groupRows, groupCols } = plan;
  const n = rows * cols;
  const groups = groupRows * groupCols;
  const nibbles = format.bits === 4;
  const rowBytes = nibbles ? (cols + 1) >> 1 : cols;
  const threads = getThreads();
  const parallel = threads > 1 && n >= kernelPath.parallelMinElements;
  const tensorScope = blockRows >= rows && blockCols >= cols;
  const bandRows = tensorScope ? 1 : blockRows; // rows a band must hold whole
  const ruleNumber = RULES[plan.scaleRule];
  const nvfp4 = ruleNumber === 7;
  // Bands of about chunkElements, except: fakeQuant (its output is staged in place) and, up to
  // wholeMaxElements, schemes that need the tensor amax first (NVFP4, per-tensor), which would
  // otherwise stage every band twice.
  let chunkRows = rows;
  if (!sinks.out && !((tensorScope || nvfp4) && n <= kernelPath.wholeMaxElements)) {
    chunkRows = Math.max(1, Math.floor(kernelPath.chunkElements / cols));
    chunkRows = Math.min(rows, Math.ceil(chunkRows / bandRows) * bandRows);
  }
  const bands = Math.ceil(rows / chunkRows);
  // Tasks of a band: a few per thread so that a slow thread does not hold up the job.
  let per = parallel ? Math.ceil(chunkRows / (4 * threads)) : chunkRows;
  per = Math.ceil(per / bandRows) * bandRows;
  const tasks = Math.ceil(chunkRows / per);
  const amaxPer = 1 << 15;
  const amaxTasks = Math.ceil((chunkRows * cols) / amaxPer);
  // Layout of the staging block: two bands of values (band k in slot k % 2, so that the next band
  // is copied in while the pool works on this one; one slot when there is one band), codes,
  // scales, scale codes, then per slot the task statistics, tensor amax partials and parameters.
  const slotBytes = align(chunkRows * cols * 4);
  const codesAt = (bands > 1 ? 2 : 1) * slotBytes;
  const scalesAt = codesAt + (sinks.data ? align(rows * rowBytes) : 0);
  const scaleCodesAt = scalesAt + align(groups * 4);
  const slotMetaAt = scaleCodesAt + (sinks.scaleCodes ? align(groups) : 0);
  const statsOff = 0, amaxOff = align(tasks * 8), paramsOff = amaxOff + align(amaxTasks * 4);
  const metaBytes = paramsOff + 128;
  let base: number;
  try {
    base = staging(slotMetaAt + 2 * metaBytes);
  } catch (e) {
    if (e instanceof RangeError) return undefined; // more than the kernels' memory holds
    throw e;
  }
  const slot = (k: number) => base + (k % 2) * slotBytes;
  const meta = (k: number) => base + slotMetaAt + (k % 2) * metaBytes;
  const bandRowsOf = (k: number) => Math.min(chunkRows, rows - k * chunkRows);
  /** Copies band k's rows into its slot. */
  const stage = (k: number) => {
    const r0 = k * chunkRows, nr = bandRowsOf(k);
    new Float32Array(memoryBuffer(), slot(k), nr * cols)
      .set(values.subarray(r0 * cols, (r0 + nr) * cols));
  };

  let given = -1, perAmax = 0, sDec = 0, tensorScale = 1;
  if (tensorScope || nvfp4) {
    // The tensor amax first, band by band (a single band then stays staged for the next pass).
    let bits = 0;
    stage(0);
    for (let k = 0; k < bands; k++) {
      const nr = bandRowsOf(k);
      const total = Math.ceil((nr * cols) / amaxPer);
      const partialAt = meta(k) + amaxOff;
      postTasks("amaxTask", [slot(k), nr * cols, amaxPer, partialAt], total, parallel);
      if (k + 1 < bands) stage(k + 1);
      joinTasks();
      const partial = new Uint32Array(memoryBuffer(), partialAt, total);
      for (let i = 0; i < total; i++) if (partial[i] > bits) bits = partial[i];
    }
    if (bits > 0x7f800000) return undefined; // NaN: the TypeScript path names its row
    if (nvfp4 && bits === 0x7f800000) return undefined; // NVFP4 refuses ±Inf there
    const amax = new Float32Array(new Uint32Array([bits]).buffer)[0];
    if (tensorScope) given = amax;
    if (nvfp4) {
      // The tensor-level scale in TransformerEngine's f32 order (as _scales.ts nvfp4Scales).
      const fr = Math.fround;
      const sEnc = amax === 0 ? 1 : Math.min(fr(fr(448 * format.maxNormal) / amax), FLT_MAX);
      tensorScale = sEnc;
      sDec = fr(1 / sEnc);
      perAmax = fr(sEnc * fr(1 / format.maxNormal));
    }
  }
  ensureScratch(groupCols * 12 + cols + 64);
  let clipped = 0;
  // Staged already: band 0 when the amax pass ran over a single band.
  if (!(bands === 1 && (tensorScope || nvfp4))) stage(0);
  for (let k = 0; k < bands; k++) {
    const r0 = k * chunkRows, nr = bandRowsOf(k);
    // The band's first group row (bands hold whole group rows; the tensor's one group is 0).
    const g0 = tensorScope ? 0 : (r0 / blockRows) * groupCols;
    const paramsPtr = meta(k) + paramsOff, statsPtr = meta(k) + statsOff;
    const mem = memoryBuffer();
    const i32 = new Int32Array(mem, paramsPtr, 23);
    const f32 = new Float32Array(mem, paramsPtr, 23);
    i32[0] = slot(k);
    i32[1] = nr;
    i32[2] = cols;
    i32[3] = per;
    i32[4] = blockRows;
    i32[5] = blockCols;
    i32[6] = format.mantissaBits;
    i32[7] = format.exponentBits;
    i32[8] = format.bias;
    f32[9] = format.maxNormal;
    i32[10] = ruleNumber;
    i32[11] = format.emax;
    f32[12] = given;
    f32[13] = perAmax;
    f32[14] = sDec;
    f32[15] = tensorScale;
    i32[16] = sinks.data ? base + codesAt + r0 * rowBytes : 0;
    i32[17] = sinks.out ? slot(k) : 0;
    i32[18] = base + scalesAt + g0 * 4;
    i32[19] = sinks.scaleCodes ? base + scaleCodesAt + g0 : 0;
    i32[20] = groupCols;
    i32[21] = statsPtr;
    i32[22] = 0;
    const bandTasks = Math.ceil(nr / per);
    postTasks("qgQuantTask", [paramsPtr], bandTasks, parallel);
    if (k + 1 < bands) stage(k + 1);
    joinTasks();
    const stats = new Int32Array(memoryBuffer(), statsPtr, bandTasks * 2);
    for (let t = 0; t < bandTasks; t++) {
      if (stats[2 * t + 1] & 1) return undefined; // NaN: the TypeScript path names its row
      clipped += stats[2 * t];
    }
  }
  const mem = memoryBuffer();
  if (sinks.data) sinks.data.set(new Uint8Array(mem, base + codesAt, rows * rowBytes));
  if (sinks.out) sinks.out.set(new Float32Array(mem, slot(0), n));
  if (sinks.scales) sinks.scales.set(new Float32Array(mem, base + scalesAt, groups));
  if (sinks.scaleCodes) sinks.scaleCodes.set(new Uint8Array(mem, base + scaleCodesAt, groups));
  kernelPath.runs++;
  return { clipped, tensorScale };
}
