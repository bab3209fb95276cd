// Bundled by tests/node_compat_test.ts and run with Node: the published packages must work there
// unchanged (no Deno.*, no static node:* imports).
import { getThreads, matmul, terminateWorkers, usesRelaxedSimd } from "@fp4lab/kernels";
import { E2M1, quantize } from "@fp4lab/fp4-format";

const a = new Float32Array(64 * 64).map((_, i) => (i % 7) - 3);
const y = matmul(a, a, 64, 64, 64);
console.log(JSON.stringify({
  threads: getThreads(),
  relaxed: usesRelaxedSimd(),
  y: Array.from(y.subarray(0, 8)),
  q: Array.from(quantize(new Float32Array([0.3, 2.5, -5, 7]), E2M1)),
}));
terminateWorkers();
