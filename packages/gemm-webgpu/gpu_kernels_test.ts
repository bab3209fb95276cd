import assert from "node:assert/strict";
import { assertBitsEqual } from "../../tests/_util/assert.ts";
import { BF16, E2M1, E4M3, E5M2, FP16 } from "@fp4lab/fp4-format";
import { fp4Matmul, type GemmLayout, matmul, matmulReference, quantizePack } from "@fp4lab/kernels";
import { GpuKernels, requestGpu } from "./mod.ts";
import { lcg, randomFp4 } from "./_testdata.ts";

// In CI (CI=true, where .ci/run installs Mesa's lavapipe) WebGPU tests never skip: without an
// adapter they fail, saying why. On a developer's fresh machine without any Vulkan driver they
// are skipped with a note, so `deno task test` works there after installing only Deno.
const opts = { sanitizeResources: false, sanitizeOps: false };
const hasAdapter = await (async () => {
  try {
    return (await navigator.gpu?.requestAdapter()) != null;
  } catch {
    return false;
  }
})();
const inCI = Deno.env.get("CI") === "true";
if (!hasAdapter && !inCI) {
  console.warn(
    "no WebGPU adapter: skipping the GPU kernel tests (apt-get install mesa-vulkan-drivers)",
  );
}
const gpuOpts = { ...opts, ignore: !hasAdapter && !inCI };
let shared: GpuKernels | undefined;
async function gpu(): Promise<GpuKernels> {
  shared ??= await GpuKernels.create();
  return shared;
}

function rand(len: number, rnd: () => number): Float32Array {
  return Float32Array.from({ length: len }, () => rnd() - 0.5);
}

Deno.test(
  "WGSL f32 GEMM matches the reference on odd shapes, all layouts, accumulate",
  gpuOpts,
  async () => {
    const g = await gpu();
    const rnd = lcg(3);
    const shapes = [[1, 1, 1], [3, 5, 7], [64, 64, 16], [65, 130, 33], [100, 3, 200], [7, 70, 1]];
    for (const [m, n, k] of shapes) {
      for (const layout of ["nn", "nt", "tn"] as GemmLayout[]) {
        for (const accumulate of [false, true]) {
          const a = rand(m * k, rnd), b = rand(k * n, rnd), init = rand(m * n, rnd);
          const got = await g.matmul(a, b, m, n, k, { layout, out: init.slice(), accumulate });
          const want = matmulReference(a, b, m, n, k, layout, init.slice(), accumulate);
          const scale = matmulReference(a.map(Math.abs), b.map(Math.abs), m, n, k, layout);
          for (let i = 0; i < want.length; i++) {
            const tol = 1e-5 * (scale[i] + (accumulate ? Math.abs(init[i]) : 0));
            assert.ok(Math.abs(got[i] - want[i]) <= tol, `${layout} ${m}x${n}x${k} [${i}]`);
          }
        }
      }
    }
    // the baseline kernel of the benchmark is checked too
    const a = rand(40 * 50, rnd), b = rand(50 * 30, rnd);
    const base = await g.matmulBaseline(a, b, 40, 30, 50);
    const cpu = matmul(a, b, 40, 30, 50);
    for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(base[i] - cpu[i]) < 1e-5);
  },
);

Deno.test(
  "WGSL FP4 GEMM is bit-identical to the CPU twin (dot4I8Packed and i32 paths)",
  gpuOpts,
  async () => {
    const g = await gpu();
    const plain = await GpuKernels.create({ disableDot4: true });
    assert.equal(plain.gpu.dot4, false);
    const rnd = lcg(11);
    const cases: [
      number,
      number,
      number,
      [number, number, "f32" | "e8m0" | "ue4m3"],
      [
        number,
        number,
        "f32" | "e8m0" | "ue4m3",
      ],
      number,
      number,
    ][] = [
      [1, 1, 1, [1, 0, "f32"], [1, 0, "f32"], 1, 1],
      [37, 53, 250, [1, 0, "f32"], [1, 0, "f32"], 1, 1], // per token x per channel
      [9, 17, 33, [0, 0, "f32"], [0, 0, "f32"], 1, 1], // per tensor
      [33, 41, 96, [1, 32, "e8m0"], [1, 32, "e8m0"], 1, 1], // MXFP4
      [5, 9, 45, [1, 32, "e8m0"], [1, 32, "e8m0"], 1, 1],
      [20, 36, 80, [1, 16, "ue4m3"], [1, 16, "ue4m3"], 37.25, 333.3], // NVFP4
      [19, 40, 64, [1, 16, "ue4m3"], [16, 16, "ue4m3"], 3, 0.7], // 2-D weight blocks
    ];
    for (const [m, n, k, sa, sw, ta, tw] of cases) {
      const op = (
        rows: number,
        [br, bc, kind]: [number, number, "f32" | "e8m0" | "ue4m3"],
        t: number,
      ) => randomFp4(rows, k, br || rows, bc || k, kind, rnd, t);
      const a = op(m, sa, ta), w = op(n, sw, tw);
      const cpu = fp4Matmul(a, w);
      assertBitsEqual(
        await g.fp4Matmul(a, w),
        cpu,
        `${m}x${n}x${k} ${sa} ${sw} (dot4: ${g.gpu.dot4})`,
      );
      assertBitsEqual(await plain.fp4Matmul(a, w), cpu, `${m}x${n}x${k} ${sa} ${sw} (i32)`);
    }
    plain.destroy();
  },
);

Deno.test("WGSL quantize + pack gives the CPU twin's codes bit for bit", gpuOpts, async () => {
  const g = await gpu();
  const rnd = lcg(5);
  const v: number[] = [0, -0, Infinity, -Infinity, 1e-40, -3e-39, 2.5, -0.75, 5, 464, 470];
  for (let i = 0; i < 3000; i++) {
    const x = (1 + rnd()) * 2 ** (Math.floor(rnd() * 300) - 150);
    v.push(rnd() < 0.5 ? -x : x);
  }
  const x = new Float32Array(v);
  for (const f of [E2M1, E4M3, E5M2, BF16]) {
    for (const scale of [1, 0.37]) {
      assert.deepEqual(
        await g.quantizePack(x, f, { inverseScale: scale }),
        quantizePack(x, f, { inverseScale: scale }),
        f.name,
      );
    }
  }
  // NaN where the format has it
  const nan = new Float32Array([NaN, 1]);
  assert.deepEqual(await g.quantizePack(nan, E4M3), new Uint8Array([0x7f, 0x38]));
  await assert.rejects(g.quantizePack(nan, E2M1), /values\[0\] is NaN/);
  await assert.rejects(g.quantizePack(x, FP16), /format must be one of/);
});

Deno.test(
  "GPU kernels reuse pooled buffers and reject bad input before dispatch",
  gpuOpts,
  async () => {
    const g = await gpu();
    const a = new Float32Array(6), b = new Float32Array(6);
    await g.matmul(a, b, 2, 2, 3);
    const before = g.buffersCreated;
    for (let i = 0; i < 3; i++) await g.matmul(a, b, 2, 2, 3);
    assert.equal(g.buffersCreated, before);
    await assert.rejects(g.matmul(a, b, 3, 2, 3), /a must have 9 elements/);
    await assert.rejects(g.matmul(a, b, 2, 3, 3, { layout: "tt" as GemmLayout }), /layout/);
    await assert.rejects(g.matmul(a, b, -1, 2, 3), /m must be a non-negative integer/);
    const rnd = lcg(1);
    await assert.rejects(
      g.fp4Matmul(randomFp4(2, 8, 1, 8, "f32", rnd), randomFp4(2, 6, 1, 6, "f32", rnd)),
      /must be equal/,
    );
  },
);

Deno.test("a lost device is reported, not waited on", gpuOpts, async () => {
  const g = await GpuKernels.create();
  g.gpu.device.destroy();
  await g.gpu.lostPromise;
  await assert.rejects(
    g.matmul(new Float32Array(1), new Float32Array(1), 1, 1, 1),
    /device was lost/,
  );
  await assert.rejects(g.quantizePack(new Float32Array(1), E2M1), /device was lost/);
});

Deno.test("requestGpu names the problem when there is no WebGPU", opts, async () => {
  const nav = globalThis.navigator as unknown as { gpu: unknown };
  const desc = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(nav), "gpu");
  Object.defineProperty(nav, "gpu", { value: undefined, configurable: true });
  try {
    await assert.rejects(requestGpu(), /WebGPU is not available/);
  } finally {
    delete (nav as { gpu?: unknown }).gpu;
    if (desc && !Object.getOwnPropertyDescriptor(Object.getPrototypeOf(nav), "gpu")) {
      Object.defineProperty(Object.getPrototypeOf(nav), "gpu", desc);
    }
  }
  const fake = { gpu: { requestAdapter: () => Promise.resolve(null) } };
  Object.defineProperty(nav, "gpu", { value: fake.gpu, configurable: true });
  try {
    await assert.rejects(requestGpu(), /no WebGPU adapter/);
  } finally {
    delete (nav as { gpu?: unknown }).gpu;
  }
  assert.ok(globalThis.navigator.gpu, "navigator.gpu restored");
});
