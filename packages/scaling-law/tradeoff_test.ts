import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import {
  effectiveParamsPerBit,
  numericComputeOptimal,
  paramsPerBit,
  tradeoff,
  tradeoffConstant,
} from "./mod.ts";

Deno.test("section 10 check 10: P^(δ+ν+2β)·N^(α+2β) is the same for every N at fixed C and B", () => {
  for (const [C, lb] of [[1e23, 7], [1e27, 5], [1e21, 13.1567]]) {
    const sizes = [1e7, 1e8, 1e9, 1e10, 1e11, 1e12];
    const rows = tradeoff(C, sizes, lb);
    const want = tradeoffConstant(C, lb);
    for (const r of rows) assertClose(r.invariant, want, { rtol: 1e-10 });
    // And each row is the numeric fixed-N optimum, not just the formula restated.
    const mid = rows[2];
    assertClose(
      numericComputeOptimal(C, { log2Block: lb, params: mid.params }).precision,
      mid.precision,
      {
        atol: 5e-4,
      },
    );
  }
});

Deno.test("trade-off exponents: doubling N lowers P_opt by x0.885; bit-worth factors", () => {
  const [a, b] = tradeoff(1e25, [1e10, 2e10], 7);
  assertClose(b.precision / a.precision, 2 ** -0.1768, { rtol: 1e-3 });
  // One bit less at P = 4 buys (5/4)^(7.1793/1.2692) times the parameters.
  assertClose(paramsPerBit(4), (5 / 4) ** (7.1793 / 1.2692), { rtol: 1e-4 });
  assertClose(effectiveParamsPerBit(4), (5 / 4) ** 25.96, { rtol: 1e-3 });
  assert.throws(() => paramsPerBit(0), /precision/);
});
