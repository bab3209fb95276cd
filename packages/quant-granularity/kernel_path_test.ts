// The kernel-set path of quantizeTensor and fakeQuant against the package's TypeScript path
// (_reference.ts), bit for bit: codes, scales, scale codes, tensor scale, clipped count, fake-quant
// values and errors, on odd shapes, every format and scale rule the kernel takes, with 1 and 2
// threads. The TypeScript path itself is checked against the slow reference in testdata/.
import assert from "node:assert/strict";
import {
  E2M1,
  E2M3,
  E3M2,
  E4M3,
  E5M2,
  type FloatFormat,
  floatFormat,
  seedKey,
  uniformAt,
} from "@fp4lab/fp4-format";
import { getThreads, setThreads } from "@fp4lab/kernels";
import { fakeQuant, MXFP4, NVFP4, quantizeTensor, type QuantScheme } from "./mod.ts";
import { fakeQuantReference, quantizeTensorReference } from "./_reference.ts";
import { kernelPath } from "./_kernel.ts";

const FLT_MAX = 3.4028234663852886e38;
const FORMATS: FloatFormat[] = [E2M1, E2M3, E3M2, E4M3, E5M2];
const RULES = [
  "absmax",
  "pow2-floor",
  "e8m0-floor",
  "e8m0-ceil",
  "e8m0-even",
  "e8m0-rceil",
  "nvfp4",
] as const;

/**
 * A matrix of mixed magnitudes: signed zeros, f32 subnormals, values on grid ties, magnitudes
 * from 1e-30 to 1e30, near-FLT_MAX values, and (optionally) ±Inf, so groups of every kind occur:
 * all-zero, subnormal amax, huge amax, infinite amax.
 */
function mixedMatrix(rows: number, cols: number, seed: number, inf: boolean): Float32Array {
  const key = seedKey(seed);
  const x = new Float32Array(rows * cols);
  // Some rows and some blocks all zero, and a tiny-magnitude row.
  for (let i = 0; i < x.length; i++) {
    const r = Math.floor(i / cols);
    const u = uniformAt(key, 3 * i);
    const kind = uniformAt(key, 3 * i + 1);
    const sign = uniformAt(key, 3 * i + 2) < 0.5 ? -1 : 1;
    if (r % 11 === 3) x[i] = sign * u * 1e-41; // subnormal row
    else if (r % 13 === 5) x[i] = sign * 0;
    else if (kind < 0.08) x[i] = sign * 0;
    else if (kind < 0.3) x[i] = sign * (Math.floor(u * 64) / 4); // E2M1 ties under 2^k scales
    else if (kind < 0.33) x[i] = sign * u * 1e-40; // subnormal f32
    else if (kind < 0.35) x[i] = sign * FLT_MAX * (0.5 + u / 2);
    else if (kind < 0.37 && inf) x[i] = sign * Infinity;
    else if (kind < 0.45) x[i] = sign * Math.exp((u - 0.5) * 140); // 1e-30 .. 1e30
    else x[i] = sign * Math.exp((u - 0.5) * 12);
  }
  return x;
}

/**
 * Runs `body` with the kernel path forced on (any size), the pool at `threads`, and
 * quantizeTensor's input staged in bands of about `chunkElements` (small: many bands).
 */
function withKernel<T>(threads: number, body: () => T, chunkElements = 1 << 17): T {
  const saved = { ...kernelPath };
  const savedThreads = getThreads();
  kernelPath.enabled = true;
  kernelPath.minElements = 1;
  kernelPath.parallelMinElements = 1; // 2 threads: every call on the pool
  kernelPath.chunkElements = chunkElements;
  // Small bands: NVFP4 and per-tensor scales in bands too (their two-pass staging).
  kernelPath.wholeMaxElements = chunkElements >= 1 << 17 ? saved.wholeMaxElements : 0;
  setThreads(threads);
  try {
    return body();
  } finally {
    kernelPath.enabled = saved.enabled;
    kernelPath.minElements = saved.minElements;
    kernelPath.parallelMinElements = saved.parallelMinElements;
    kernelPath.chunkElements = saved.chunkElements;
    kernelPath.wholeMaxElements = saved.wholeMaxElements;
    setThreads(savedThreads);
  }
}

function label(scheme: QuantScheme, rows: number, cols: number, threads: number): string {
  return `${JSON.stringify({ ...scheme, format: scheme.format.name })} ${rows}x${cols} ` +
    `${threads} thread(s)`;
}

/** quantizeTensor and fakeQuant on the kernel path equal the TypeScript path, bit for bit. */
function checkKernelPath(
  x: Float32Array,
  rows: number,
  cols: number,
  scheme: QuantScheme,
  threads: number,
): void {
  const what = label(scheme, rows, cols, threads);
  const ref = quantizeTensorReference(x, rows, cols, scheme);
  const refFake = fakeQuantReference(x, rows, cols, scheme);
  const runs = kernelPath.runs;
  const [q, fake] = withKernel(threads, () =>
    [
      quantizeTensor(x, rows, cols, scheme),
      fakeQuant(x, rows, cols, scheme),
    ] as const);
  assert.equal(kernelPath.runs, runs + 2, `${what}: the kernel path ran`);
  // deepStrictEqual compares numbers with Object.is: -0 differs from 0, NaN equals NaN.
  assert.deepStrictEqual(q, ref, what);
  assert.deepStrictEqual(fake, refFake, `${what} fakeQuant`);
}

const SHAPES: [number, number][] = [
  [1, 1],
  [1, 7],
  [3, 5],
  [7, 33],
  [17, 31],
  [5, 67],
  [
    33,
    129,
  ],
  [24, 64],
  [2, 300],
];

function granularities(rule: string): QuantScheme["granularity"][] {
  return rule === "nvfp4" ? ["tensor", "row", "block", "block2d"] : [
    "tensor",
    "row",
    "block",
    "block2d",
  ];
}

for (const threads of [1, 2]) {
  Deno.test(`kernel path = TypeScript path, every format and rule, ${threads} thread(s)`, () => {
    let seed = 1;
    for (const format of FORMATS) {
      for (const rule of RULES) {
        for (const granularity of granularities(rule)) {
          for (const [rows, cols] of SHAPES) {
            const blockSizes = granularity === "block"
              ? [32, 16, 7, 1]
              : granularity === "block2d"
              ? [16, 3]
              : [undefined];
            for (const blockSize of blockSizes) {
              const scheme: QuantScheme = {
                format,
                granularity,
                scaleRule: rule,
                ...(blockSize === undefined ? {} : { blockSize }),
                ...(granularity === "block2d" && blockSize === 3 ? { blockRows: 2 } : {}),
              };
              // NVFP4 refuses ±Inf: tested with finite values (and its error below).
              const x = mixedMatrix(rows, cols, seed++, rule !== "nvfp4");
              checkKernelPath(x, rows, cols, scheme, threads);
            }
          }
        }
      }
    }
  });
}

Deno.test("kernel path = TypeScript path on a larger matrix split into many row bands", () => {
  for (const threads of [1, 2]) {
    for (const rule of RULES) {
      const scheme: QuantScheme = {
        format: E2M1,
        granularity: "block",
        blockSize: 16,
        scaleRule: rule,
      };
      checkKernelPath(mixedMatrix(301, 97, 5, rule !== "nvfp4"), 301, 97, scheme, threads);
      checkKernelPath(
        mixedMatrix(64, 128, 6, rule !== "nvfp4"),
        64,
        128,
        { ...scheme, granularity: "row" },
        threads,
      );
    }
    checkKernelPath(mixedMatrix(200, 64, 7, false), 200, 64, NVFP4, threads);
    checkKernelPath(mixedMatrix(200, 64, 8, true), 200, 64, MXFP4, threads);
  }
});

Deno.test("kernel path = TypeScript path on the worker pool, warm, in many tasks", () => {
  // Large enough that both threads take tasks once the worker has started (the first call
  // starts it); each call is still compared in full.
  const rows = 256, cols = 1024;
  for (const scheme of [MXFP4, NVFP4, { format: E2M1, granularity: "row" } as QuantScheme]) {
    const x = mixedMatrix(rows, cols, 14, scheme !== NVFP4);
    const want = quantizeTensorReference(x, rows, cols, scheme);
    for (let i = 0; i < 3; i++) {
      assert.deepStrictEqual(
        withKernel(2, () => quantizeTensor(x, rows, cols, scheme), 1 << 16),
        want,
      );
    }
  }
});

Deno.test("kernel path = TypeScript path for other ExMy formats of at most 8 bits", () => {
  const formats = [
    floatFormat(1, 2),
    floatFormat(1, 6),
    floatFormat(3, 1),
    floatFormat(3, 4),
    floatFormat(4, 2),
    floatFormat(5, 1),
    floatFormat(6, 1),
    floatFormat(2, 1, { bias: 3, name: "E2M1b3" }),
    floatFormat(4, 3, { ieeeSpecials: true, name: "E4M3ieee" }),
  ];
  let seed = 100;
  for (const format of formats) {
    for (const rule of RULES) {
      for (const threads of [1, 2]) {
        const scheme: QuantScheme = { format, granularity: "block", blockSize: 8, scaleRule: rule };
        checkKernelPath(mixedMatrix(9, 37, seed++, rule !== "nvfp4"), 9, 37, scheme, threads);
      }
    }
  }
});

Deno.test("kernel path: caller-owned buffers are filled and returned", () => {
  const rows = 40, cols = 96;
  const x = mixedMatrix(rows, cols, 9, false);
  for (const scheme of [MXFP4, NVFP4]) {
    const groups = rows * cols / (scheme.blockSize ?? 32);
    const into = {
      data: new Uint8Array(rows * cols / 2),
      scales: new Float32Array(groups),
      scaleCodes: new Uint8Array(groups),
    };
    const q = withKernel(2, () => quantizeTensor(x, rows, cols, scheme, into));
    assert.equal(q.data, into.data);
    assert.equal(q.scales, into.scales);
    assert.equal(q.scaleCodes, into.scaleCodes);
    assert.deepStrictEqual(q, quantizeTensorReference(x, rows, cols, scheme));
  }
});

Deno.test("kernel path: fakeQuant in place equals the TypeScript path", () => {
  const rows = 21, cols = 45;
  for (const scheme of [MXFP4, NVFP4, { format: E4M3, granularity: "row" } as QuantScheme]) {
    const x = mixedMatrix(rows, cols, 10, scheme !== NVFP4);
    const want = fakeQuantReference(x, rows, cols, scheme);
    const runs = kernelPath.runs;
    const got = withKernel(2, () => fakeQuant(x, rows, cols, scheme, x));
    assert.equal(kernelPath.runs, runs + 1);
    assert.equal(got, x);
    assert.deepStrictEqual(got, want);
  }
});

/** The error of `run`, or a failure when it does not throw. */
function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected an error");
}

Deno.test("kernel path: the TypeScript path's errors, word for word", () => {
  const rows = 23, cols = 70;
  for (const threads of [1, 2]) {
    for (const rule of RULES) {
      for (const granularity of ["tensor", "row", "block", "block2d"] as const) {
        const scheme: QuantScheme = { format: E2M1, granularity, scaleRule: rule };
        // NaN late in the matrix, and a second NaN after it: the first one is named.
        const x = mixedMatrix(rows, cols, 11, false);
        x[17 * cols + 40] = NaN;
        x[20 * cols + 3] = NaN;
        const want = errorOf(() => quantizeTensorReference(x, rows, cols, scheme));
        assert.match(want.message, /row 17 \(column 40\)/);
        for (const chunk of [1 << 17, 40]) {
          const got = withKernel(
            threads,
            () => errorOf(() => quantizeTensor(x, rows, cols, scheme)),
            chunk,
          );
          assert.equal(got.constructor, want.constructor);
          assert.equal(got.message, want.message);
        }
        const gotFake = withKernel(threads, () => errorOf(() => fakeQuant(x, rows, cols, scheme)));
        assert.equal(gotFake.message, want.message);
      }
    }
    // NVFP4 refuses ±Inf, naming its row.
    const y = mixedMatrix(rows, cols, 12, false);
    y[9 * cols + 2] = -Infinity;
    const want = errorOf(() => quantizeTensorReference(y, rows, cols, NVFP4));
    assert.match(want.message, /-Infinity at row 9 \(column 2\)/);
    for (const chunk of [1 << 17, 40]) {
      const got = withKernel(
        threads,
        () => errorOf(() => quantizeTensor(y, rows, cols, NVFP4)),
        chunk,
      );
      assert.equal(got.message, want.message);
    }
    assert.equal(
      withKernel(threads, () => errorOf(() => fakeQuant(y, rows, cols, NVFP4))).message,
      want.message,
    );
  }
});

Deno.test("kernel path: argument errors come before any kernel work", () => {
  const x = new Float32Array(64);
  withKernel(2, () => {
    assert.throws(() => quantizeTensor(x, 8, 9, MXFP4), /values.length must be rows \* cols/);
    assert.throws(
      () => quantizeTensor(x, 8, 8, MXFP4, { data: new Uint8Array(3) }),
      /into.data must have length 32, got 3/,
    );
    assert.throws(() => fakeQuant(x, 8, 8, MXFP4, new Float32Array(3)), /out must have length 64/);
  });
});

Deno.test("the kernel path declines what it does not implement: the TypeScript path runs", () => {
  const x = mixedMatrix(8, 64, 13, false);
  const schemes: QuantScheme[] = [
    { ...MXFP4, rounding: "stochastic", seed: 3 },
    { ...MXFP4, rounding: "nearest-up" },
  ];
  for (const scheme of schemes) {
    const runs = kernelPath.runs;
    const q = withKernel(2, () => quantizeTensor(x, 8, 64, scheme));
    assert.equal(kernelPath.runs, runs);
    assert.deepStrictEqual(q, quantizeTensorReference(x, 8, 64, scheme));
  }
});
