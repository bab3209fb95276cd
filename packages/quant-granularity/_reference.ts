// The TypeScript path of quantizeTensor and fakeQuant: plain, readable, and the reference the
// kernel path (_kernel.ts) is tested against bit for bit. The public functions run it for what
// the kernel does not implement and for every error; tests call it directly.
import { checkMatrix, checkOut, type ResolvedScheme, resolveScheme } from "./_resolve.ts";
import { computeScales, groupAmax } from "./_scales.ts";
import { runQuantization } from "./_run.ts";
import type { QuantizedTensor, QuantScheme } from "./types.ts";

/** Caller-owned buffers of quantizeTensor; each is optional. */
export interface QuantizeBuffers {
  data?: Uint8Array;
  scales?: Float32Array;
  scaleCodes?: Uint8Array;
}

function checkBuffer<T extends Uint8Array | Float32Array>(
  name: string,
  buffer: T | undefined,
  type: { new (n: number): T; name: string },
  length: number,
): T {
  if (buffer === undefined) return new type(length);
  if (!(buffer instanceof type)) throw new TypeError(`${name} must be a ${type.name}`);
  if (buffer.length !== length) {
    throw new RangeError(`${name} must have length ${length}, got ${buffer.length}`);
  }
  return buffer;
}

/** A validated quantizeTensor call: its plan and the buffers it fills. */
export interface PreparedQuantize {
  readonly plan: ResolvedScheme;
  readonly data: Uint8Array;
  readonly scales: Float32Array;
  readonly scaleCodes?: Uint8Array;
}

/** Every argument check of quantizeTensor, in its order; allocates the outputs not given. */
export function prepareQuantize(
  values: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
  into: QuantizeBuffers,
): PreparedQuantize {
  checkMatrix(values, rows, cols);
  const plan = resolveScheme(scheme, rows, cols);
  if (plan.format.bits > 8) {
    throw new RangeError(
      `scheme.format must have at most 8 bits to be stored as codes, got ${plan.format.name} (${plan.format.bits} bits); use fakeQuant`,
    );
  }
  const groups = plan.groupRows * plan.groupCols;
  const rowBytes = plan.format.bits === 4 ? (cols + 1) >> 1 : cols;
  const data = checkBuffer("into.data", into.data, Uint8Array, rows * rowBytes);
  const scales = checkBuffer("into.scales", into.scales, Float32Array, groups);
  const scaleCodes = plan.scaleFormat === "f32"
    ? undefined
    : checkBuffer("into.scaleCodes", into.scaleCodes, Uint8Array, groups);
  return { plan, data, scales, scaleCodes };
}

/** The QuantizedTensor of a prepared call, given its scales, tensor scale and clipped count. */
export function quantizedTensor(
  rows: number,
  cols: number,
  prepared: PreparedQuantize,
  scales: Float32Array,
  scaleCodes: Uint8Array | undefined,
  tensorScale: number,
  clipped: number,
): QuantizedTensor {
  const { plan, data } = prepared;
  const result: QuantizedTensor = {
    shape: [rows, cols],
    format: plan.format,
    data,
    blockRows: plan.blockRows,
    blockCols: plan.blockCols,
    scales,
    tensorScale,
    scaleFormat: plan.scaleFormat,
    scheme: plan.name,
    clipped,
  };
  return scaleCodes ? { ...result, scaleCodes } : result;
}

/** The TypeScript path of a prepared quantizeTensor call. */
export function quantizePrepared(
  values: Float32Array,
  rows: number,
  cols: number,
  prepared: PreparedQuantize,
): QuantizedTensor {
  const { plan, data, scales, scaleCodes } = prepared;
  // NVFP4 needs a second f32 array per group (enc_b beside the scales); the others compute their
  // scales in place over the amax.
  const nvfp4 = plan.scaleRule === "nvfp4";
  const amax = groupAmax(values, rows, cols, plan, nvfp4 ? undefined : scales);
  const group = computeScales(amax, plan, values, cols, {
    scaleCodes,
    spare: nvfp4 ? scales : undefined,
  });
  const clipped = runQuantization(values, rows, cols, plan, group, { data });
  return quantizedTensor(
    rows,
    cols,
    prepared,
    group.scales,
    group.scaleCodes,
    group.tensorScale,
    clipped,
  );
}

/** quantizeTensor on the TypeScript path only (the kernel path's reference). */
export function quantizeTensorReference(
  values: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
  into: QuantizeBuffers = {},
): QuantizedTensor {
  return quantizePrepared(values, rows, cols, prepareQuantize(values, rows, cols, scheme, into));
}

/** Every argument check of fakeQuant, in its order; allocates the output when not given. */
export function prepareFakeQuant(
  values: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
  out: Float32Array | undefined,
): { plan: ResolvedScheme; result: Float32Array } {
  checkMatrix(values, rows, cols);
  const result = out ?? new Float32Array(values.length);
  checkOut(result, values.length);
  const plan = resolveScheme(scheme, rows, cols);
  return { plan, result };
}

/** The TypeScript path of fakeQuant for a validated call. */
export function fakeQuantPrepared(
  values: Float32Array,
  rows: number,
  cols: number,
  plan: ResolvedScheme,
  result: Float32Array,
): Float32Array {
  const amax = groupAmax(values, rows, cols, plan);
  const group = computeScales(amax, plan, values, cols);
  runQuantization(values, rows, cols, plan, group, { out: result });
  return result;
}

/** fakeQuant on the TypeScript path only (the kernel path's reference). */
export function fakeQuantReference(
  values: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
  out?: Float32Array,
): Float32Array {
  const { plan, result } = prepareFakeQuant(values, rows, cols, scheme, out);
  return fakeQuantPrepared(values, rows, cols, plan, result);
}
