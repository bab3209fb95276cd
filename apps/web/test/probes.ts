// Code run inside the pages by the browser tests (as strings: it runs in the browser, not Deno).

/**
 * Cross-origin isolation, WebGPU adapter and its description, with a hard limit: a wrong flag
 * makes requestAdapter() hang forever.
 */
export const ENVIRONMENT_PROBE = `(async () => {
  const limit = (p, ms, what) => Promise.race([p, new Promise((_, r) => setTimeout(() => r(new Error(what + " hung for " + ms + " ms")), ms))]);
  const out = { crossOriginIsolated: globalThis.crossOriginIsolated === true, threads: navigator.hardwareConcurrency, webgpu: !!navigator.gpu, adapter: null, error: null };
  if (navigator.gpu) {
    try {
      const a = await limit(navigator.gpu.requestAdapter(), 20000, "requestAdapter()");
      if (a) {
        const i = a.info ?? {};
        out.adapter = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" / ") || "(no description)";
      }
    } catch (e) { out.error = String(e && e.message || e); }
  }
  return out;
})()`;

/**
 * The one-line question: does this WebGPU implementation flush a subnormal product to zero?
 * 2^-70 * 2^-70 = 2^-140 is subnormal in f32 (the smallest normal is 2^-126); SwiftShader gives 0.
 * Returns { product, flushes } or { error }.
 */
export const SUBNORMAL_PROBE = `(async () => {
  const limit = (p, ms, what) => Promise.race([p, new Promise((_, r) => setTimeout(() => r(new Error(what + " hung for " + ms + " ms")), ms))]);
  try {
    const adapter = await limit(navigator.gpu.requestAdapter(), 20000, "requestAdapter()");
    if (!adapter) return { error: "no adapter" };
    const device = await limit(adapter.requestDevice(), 20000, "requestDevice()");
    const code = "@group(0) @binding(0) var<storage, read_write> d: array<f32>;\\n@compute @workgroup_size(1) fn main() { d[2] = d[0] * d[1]; }";
    const pipeline = device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
    const data = new Float32Array([2 ** -70, 2 ** -70, -1, 0]);
    const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, data);
    const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, 16);
    device.queue.submit([enc.finish()]);
    await limit(read.mapAsync(GPUMapMode.READ), 20000, "mapAsync()");
    const product = new Float32Array(read.getMappedRange().slice(0))[2];
    device.destroy();
    return { product, flushes: product === 0 };
  } catch (e) { return { error: String(e && e.message || e) }; }
})()`;
