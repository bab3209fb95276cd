// The package test suites that run in the browser, and the loop that runs them. The test files
// are imported by path: they are not part of any package's public API, and running them
// unchanged in a browser is the point.
import { REGISTERED } from "./deno_shim.ts";
import "../../../../packages/fp4-format/codes_test.ts";
import "../../../../packages/fp4-format/format_test.ts";
import "../../../../packages/fp4-format/quantize_test.ts";
import "../../../../packages/fp4-format/scales_test.ts";
import "../../../../packages/quant-granularity/checkpoint_layouts_test.ts";
import "../../../../packages/quant-granularity/hadamard_test.ts";
import "../../../../packages/quant-granularity/metrics_test.ts";
import "../../../../packages/quant-granularity/properties_test.ts";
import "../../../../packages/quant-granularity/quantize_tensor_test.ts";
import "../../../../packages/safetensors/read_write_test.ts";
import "../../../../packages/gemm-webgpu/gpu_kernels_test.ts";
import "./ftz_check.ts";

/** One test's outcome. */
export interface TestOutcome {
  readonly name: string;
  readonly status: "passed" | "failed" | "ignored";
  readonly ms: number;
  readonly error?: string;
}

/** Runs every registered test in order; never throws. */
export async function runSuite(
  onResult: (r: TestOutcome) => void = () => {},
): Promise<TestOutcome[]> {
  const results: TestOutcome[] = [];
  for (const t of REGISTERED) {
    const t0 = performance.now();
    let outcome: TestOutcome;
    if (t.ignore) {
      outcome = { name: t.name, status: "ignored", ms: 0 };
    } else {
      try {
        await t.fn();
        outcome = { name: t.name, status: "passed", ms: performance.now() - t0 };
      } catch (e) {
        outcome = {
          name: t.name,
          status: "failed",
          ms: performance.now() - t0,
          error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
        };
      }
    }
    results.push(outcome);
    onResult(outcome);
  }
  return results;
}
