import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import {
  bestFormatPlan,
  computeOptimal,
  derivedConstants,
  lossAtOptimalSplit,
  minimizeScalar,
  numericComputeOptimal,
  optimalLayout,
  optimalPrecisionForParams,
  optimalPrecisionForTokens,
  planForFormat,
} from "./mod.ts";

const k = 6 / 16;

Deno.test("section 10 check 6: γ_ρ, γ_D, γ_N and λ", () => {
  const dc = derivedConstants();
  assertClose(dc.gammaRho, 160.697, { rtol: 1e-5 });
  assertClose(dc.gammaD, 2.24328e-3, { rtol: 1e-5 });
  assertClose(dc.gammaN, 1.16458e-6, { rtol: 1e-5 });
  assertClose(dc.lambda, 1926.25, { rtol: 1e-5 });
  assertClose(dc.jointPrecisionExponent, 9.2035, { rtol: 1e-5 });
  assertClose(dc.computeExponent, 0.02573, { rtol: 1e-3 });
});

Deno.test("lossAtOptimalSplit equals the full law at the continuous split", () => {
  // The identity behind γ_ρ: the law with E, M = the continuous optimum is Eq. 20.
  const p = 6.3;
  const s = { delta: 3.1926, nu: 2.9543 };
  const e = s.delta * p / (s.delta + s.nu) - 0.5;
  const m = s.nu * p / (s.delta + s.nu) - 0.5;
  const c = {
    n: 69.2343,
    alpha: 0.2368,
    d: 68973.0621,
    beta: 0.5162,
    epsilon: 1.9061,
    gamma: 11334.5197,
  };
  const full = c.n / 3e9 ** c.alpha + c.d / 5e11 ** c.beta + c.epsilon +
    5e11 ** c.beta / 3e9 ** c.alpha * 7 / (c.gamma * (e + 0.5) ** s.delta * (m + 0.5) ** s.nu);
  assertClose(lossAtOptimalSplit(3e9, 5e11, p, 7), full, { rtol: 1e-13 });
});

Deno.test("section 10 check 7: fixed-D optimum, 4.268 at 1e11 and 7.624 at 1e14, inside [4, 8]", () => {
  assertClose(optimalPrecisionForTokens(1e11, 7), 4.268, { atol: 5e-4 });
  assertClose(optimalPrecisionForTokens(1e14, 7), 7.624, { atol: 5e-4 });
  for (const [d, p] of [[1e12, 5.18], [1e13, 6.28]]) {
    assertClose(optimalPrecisionForTokens(d, 7), p, { atol: 5e-3 });
  }
  for (let e = 11; e <= 14; e += 0.1) {
    const p = optimalPrecisionForTokens(10 ** e, 7);
    assert.ok(p >= 4 && p <= 8, `P_opt(1e${e.toFixed(1)}) = ${p}`);
  }
  // The closed form is the minimiser over P of the loss with N = C/(kPD), for any C.
  for (const C of [1e20, 1e24]) {
    const numeric = numericComputeOptimal(C, { log2Block: 7, tokens: 1e12 });
    assertClose(numeric.precision, optimalPrecisionForTokens(1e12, 7), { atol: 1e-4 });
  }
});

Deno.test("section 10 check 8: joint optimum 4.190 at 1e21, 7.578 at 1e31, monotone, in [4, 8]", () => {
  assertClose(computeOptimal(1e21, { log2Block: 7 }).precision, 4.190, { atol: 5e-4 });
  assertClose(computeOptimal(1e31, { log2Block: 7 }).precision, 7.578, { atol: 5e-4 });
  let last = 0;
  for (let e = 21; e <= 31; e += 0.25) {
    const p = computeOptimal(10 ** e, { log2Block: 7 }).precision;
    assert.ok(p > last, `monotone at 1e${e}`);
    assert.ok(p >= 4 && p <= 8, `P_opt(1e${e}) = ${p}`);
    last = p;
  }
  // The spec's table of D_opt and N_opt.
  const rows: [number, number, number, number][] = [
    [1e21, 4.190, 8.0e10, 7.9e9],
    [1e24, 5.005, 6.7e11, 8.0e11],
    [1e27, 5.979, 5.5e12, 8.1e13],
    [1e31, 7.578, 9.3e13, 3.8e16],
    [1e33, 8.53, 3.8e14, 8.2e17],
  ];
  for (const [C, p, d, n] of rows) {
    const plan = computeOptimal(C, { log2Block: 7 });
    assertClose(plan.precision, p, { atol: 0.005 });
    assertClose(plan.tokens, d, { rtol: 0.07 });
    assertClose(plan.params, n, { rtol: 0.07 });
    assertClose(k * plan.precision * plan.params * plan.tokens, C, { rtol: 1e-12 });
  }
});

Deno.test("section 10 check 8: brute-force search over (P, D) agrees with the closed form to 3 decimals", () => {
  for (const C of [1e21, 1e24, 1e27, 1e31]) {
    const closed = computeOptimal(C, { log2Block: 7 });
    const numeric = numericComputeOptimal(C, { log2Block: 7 });
    assertClose(numeric.precision, closed.precision, { atol: 5e-4 });
    assertClose(numeric.tokens, closed.tokens, { rtol: 1e-3 });
    assert.ok(numeric.loss >= closed.loss - 1e-12, "the closed form is the minimum");
  }
  // A literal grid scan (no golden section) on a 0.01-bit x 0.01-decade grid around 1e24.
  const C = 1e24;
  let best = { loss: Infinity, p: 0 };
  for (let p = 4.5; p <= 5.5; p += 0.002) {
    for (let e = 11; e <= 12.5; e += 0.002) {
      const d = 10 ** e;
      const l = lossAtOptimalSplit(C / (k * p * d), d, p, 7);
      if (l < best.loss) best = { loss: l, p };
    }
  }
  assertClose(best.p, computeOptimal(C, { log2Block: 7 }).precision, { atol: 0.005 });
});

Deno.test("section 10 check 9: fixed-N optimum, closed form = brute force (N = 1e9, C = 1e23 -> 11.717)", () => {
  const closed = optimalPrecisionForParams(1e9, 1e23, 7);
  assertClose(closed, 11.717, { atol: 5e-4 });
  const numeric = numericComputeOptimal(1e23, { log2Block: 7, params: 1e9 });
  assertClose(numeric.precision, closed, { atol: 5e-4 });
  const plan = computeOptimal(1e23, { log2Block: 7, params: 1e9 });
  assert.equal(plan.constraint, "params");
  assertClose(plan.tokens, 1e23 / (k * closed * 1e9), { rtol: 1e-12 });
  for (const [n, C] of [[1e8, 1e21], [3e10, 1e25]]) {
    assertClose(
      numericComputeOptimal(C, { log2Block: 5, params: n }).precision,
      optimalPrecisionForParams(n, C, 5),
      { atol: 5e-4 },
    );
  }
});

Deno.test("planForFormat and bestFormatPlan pick the integer format with the lowest loss", () => {
  const opts = { log2Block: 7 };
  const best = bestFormatPlan(1e24, opts);
  for (let p = 2; p <= 12; p++) {
    assert.ok(planForFormat(1e24, optimalLayout(p), opts).loss >= best.loss - 1e-12);
  }
  assert.equal(best.format.name, "E2M2"); // P_opt(1e24) = 5.005
  assertClose(k * best.precision * best.params * best.tokens, 1e24, { rtol: 1e-12 });
  // Its D is a minimum of the loss along the budget line.
  const at = (d: number) => planForFormat(1e24, best.format, { ...opts, tokens: d }).loss;
  assert.ok(at(best.tokens * 1.05) > best.loss && at(best.tokens / 1.05) > best.loss);
  assertClose(at(best.tokens), best.loss, { rtol: 1e-12 });
});

Deno.test("minimizeScalar finds minima to tolerance", () => {
  const r = minimizeScalar((x) => Math.cosh(x - 1.2345), -10, 10, 1e-12);
  assertClose(r.x, 1.2345, { atol: 1e-6 });
  assert.throws(() => minimizeScalar((x) => x, 1, 0), /lo < hi/);
});

Deno.test("budget: bad input", () => {
  assert.throws(() => computeOptimal(-1, { log2Block: 7 }), /compute must be a positive/);
  assert.throws(() => computeOptimal(1e21, { log2Block: 0 }), /log2Block must be > 0/);
  assert.throws(() => computeOptimal(1e21, { log2Block: 7, params: 1, tokens: 1 }), /at most one/);
  assert.throws(() => computeOptimal(1e21, { log2Block: 7, params: -3 }), /params/);
});
