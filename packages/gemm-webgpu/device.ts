/**
 * WebGPU adapter and device acquisition with clear errors, and device-loss tracking so that no
 * call waits forever on a lost device.
 *
 * @module
 */

/**
 * The WebGPU device was lost (driver reset, GPU removed, out of memory, or destroyed): every
 * operation after it rejects with this error instead of waiting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GpuDeviceLost } from "@fp4lab/gemm-webgpu";
 * assert.equal(
 *   new GpuDeviceLost("destroyed: gone").message,
 *   "the WebGPU device was lost (destroyed: gone)",
 * );
 * ```
 */
export class GpuDeviceLost extends Error {
  /** always `"GpuDeviceLost"` */
  override name = "GpuDeviceLost";
  /**
   * An error naming why the device was lost.
   *
   * @param reason the loss reason and message
   */
  constructor(reason: string) {
    super(`the WebGPU device was lost (${reason})`);
  }
}

/** Options of {@link requestGpu}. */
export interface RequestGpuOptions {
  /** Use this device instead of requesting one. */
  device?: GPUDevice;
  /** Adapter preference passed to `navigator.gpu.requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /** Use the plain i32 FP4 kernel even where WGSL has dot4I8Packed (same bits; for testing). */
  disableDot4?: boolean;
}

/** A device with its loss state. */
export interface GpuHandle {
  /** The device. */
  readonly device: GPUDevice;
  /** Whether WGSL has `packed_4x8_integer_dot_product` (dot4I8Packed). */
  readonly dot4: boolean;
  /** Adapter description, e.g. "llvmpipe (LLVM 15.0.7, 256 bits)", when known. */
  readonly description: string;
  /** Set once the device is lost: the reason. */
  lost?: string;
  /** Resolves when the device is lost (never otherwise). */
  readonly lostPromise: Promise<string>;
}

/**
 * Requests a WebGPU adapter and device.
 *
 * @param options a device to wrap, or the adapter preference
 * @returns the device handle
 * @throws {Error} when the runtime has no WebGPU (`navigator.gpu`) or no adapter is available,
 *   saying so (on Linux without a GPU: install Mesa's lavapipe, `mesa-vulkan-drivers`)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestGpu } from "@fp4lab/gemm-webgpu";
 * // rejects, saying so, when there is no adapter: print the message and skip the rest
 * const gpu = await requestGpu().catch((e) => void console.error(e.message));
 * if (gpu) {
 *   assert.equal(typeof gpu.description, "string"); // e.g. "llvmpipe (LLVM 15.0.7, 256 bits)"
 *   assert.equal(gpu.lost, undefined);
 *   gpu.device.destroy();
 * }
 * ```
 */
export async function requestGpu(options: RequestGpuOptions = {}): Promise<GpuHandle> {
  let device = options.device;
  let description = "";
  if (!device) {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) {
      throw new Error("WebGPU is not available in this runtime (navigator.gpu is undefined)");
    }
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
    if (!adapter) {
      throw new Error(
        "no WebGPU adapter: no GPU driver was found (on Linux without a GPU install Mesa's " +
          "lavapipe, package mesa-vulkan-drivers)",
      );
    }
    const info = adapter.info;
    description = [info?.vendor, info?.architecture, info?.device, info?.description]
      .filter((s) => s).join(" ");
    // Ask for the adapter's full buffer limits: GEMM operands outgrow the 128 MiB default.
    device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
  }
  const features = (globalThis.navigator as
    | { gpu?: { wgslLanguageFeatures?: ReadonlySet<string> } }
    | undefined)?.gpu?.wgslLanguageFeatures;
  const dot4 = !options.disableDot4 && !!features?.has("packed_4x8_integer_dot_product");
  const handle: { -readonly [K in keyof GpuHandle]: GpuHandle[K] } = {
    device,
    dot4,
    description,
    lostPromise: device.lost.then((info) => {
      handle.lost = `${info.reason ?? "unknown"}: ${info.message}`;
      return handle.lost;
    }),
  };
  return handle;
}

/**
 * Throws when the device is lost.
 *
 * @param h the device handle
 * @throws {GpuDeviceLost} naming the loss reason
 */
export function checkAlive(h: GpuHandle): void {
  if (h.lost !== undefined) throw new GpuDeviceLost(h.lost);
}

/**
 * Awaits `p`, or throws as soon as the device is lost.
 *
 * @param h the device handle
 * @param p the operation
 * @returns p's value
 */
export function unlessLost<T>(h: GpuHandle, p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    h.lostPromise.then((why) => {
      throw new GpuDeviceLost(why);
    }),
  ]);
}
