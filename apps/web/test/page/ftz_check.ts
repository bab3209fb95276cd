// Browser-only: the GPU quantize + pack against its CPU twin with the one tolerance a
// flush-to-zero WebGPU needs. SwiftShader (Chromium's software adapter) flushes subnormal f32
// products to zero, so x * scale below 2^-126 reads as 0 on the GPU. The probe below says
// whether this adapter does; the test then allows exactly that and nothing else: an element
// may differ from the CPU twin only where the f32 product x * scale is a non-zero subnormal,
// and only by being ±0. Without flushing, every code must match (as the package test asks).
import assert from "node:assert/strict";
import { BF16, E2M1, E4M3, E5M2 } from "@fp4lab/fp4-format";
import { quantizePack } from "@fp4lab/kernels";
import { GpuKernels } from "@fp4lab/gemm-webgpu";

/** Whether the adapter's WGSL gives 0 for 2^-70 * 2^-70 (a subnormal f32); undefined: no GPU. */
export let flushesSubnormals: boolean | undefined;
let kernels: GpuKernels | undefined;

const gpu = (navigator as unknown as { gpu?: GPU }).gpu;
const adapter = await Promise.race([
  gpu?.requestAdapter() ?? Promise.resolve(null),
  new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
]).catch(() => null);
if (adapter) {
  kernels = await GpuKernels.create();
  const device = await adapter.requestDevice();
  const module = device.createShaderModule({
    code: "@group(0) @binding(0) var<storage, read_write> d: array<f32>;\n" +
      "@compute @workgroup_size(1) fn main() { d[2] = d[0] * d[1]; }",
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const buf = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buf, 0, new Float32Array([2 ** -70, 2 ** -70, -1, 0]));
  const read = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }],
    }),
  );
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, 16);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  flushesSubnormals = new Float32Array(read.getMappedRange().slice(0))[2] === 0;
  device.destroy();
}

Deno.test(
  "WGSL quantize + pack equals the CPU twin, allowing only flushed subnormal products where the adapter flushes",
  { ignore: !adapter },
  async () => {
    const rnd = (() => {
      let s = 5;
      return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    })();
    const v: number[] = [0, -0, Infinity, -Infinity, 1e-40, -3e-39, 2.5, -0.75, 5, 464, 470];
    for (let i = 0; i < 3000; i++) {
      const x = (1 + rnd()) * 2 ** (Math.floor(rnd() * 300) - 150);
      v.push(rnd() < 0.5 ? -x : x);
    }
    const x = new Float32Array(v);
    let flushed = 0;
    for (const f of [E2M1, E4M3, E5M2, BF16]) {
      for (const scale of [1, 0.37]) {
        const got = await kernels!.quantizePack(x, f, { inverseScale: scale });
        const want = quantizePack(x, f, { inverseScale: scale });
        if (f !== BF16 || !flushesSubnormals) {
          assert.deepEqual(got, want, `${f.name} scale ${scale}`);
          continue;
        }
        // BF16: one 16-bit code per element.
        for (let i = 0; i < x.length; i++) {
          if (got[i] === want[i]) continue;
          const product = Math.fround(x[i] * Math.fround(scale));
          const subnormal = product !== 0 && Math.abs(product) < 2 ** -126;
          assert.ok(
            subnormal && (got[i] & 0x7fff) === 0,
            `BF16 scale ${scale} [${i}] x=${x[i]}: GPU 0x${got[i].toString(16)}, CPU 0x${
              want[i].toString(16)
            } (product ${product} is not a flushed subnormal)`,
          );
          flushed++;
        }
      }
    }
    if (flushesSubnormals) assert.ok(flushed > 0, "the adapter flushes, yet nothing was flushed");
  },
);
