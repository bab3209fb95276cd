import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import { continuousLayout, formatFactor, optimalLayout, PAPER_CONSTANTS } from "./mod.ts";

const PAPER_TABLE = [
  "E0M0",
  "E1M0",
  "E1M1",
  "E2M1",
  "E2M2",
  "E3M2",
  "E3M3",
  "E4M3",
  "E4M4",
  "E5M4",
  "E5M5",
  "E6M5",
  "E6M6",
  "E7M6",
  "E7M7",
  "E8M7",
];
const CONTINUOUS = [
  [0.02, -0.02],
  [0.54, 0.46],
  [1.06, 0.94],
  [1.58, 1.42],
  [2.10, 1.90],
  [2.62, 2.38],
  [3.14, 2.86],
  [3.66, 3.34],
  [4.17, 3.83],
  [4.69, 4.31],
  [5.21, 4.79],
  [5.73, 5.27],
  [6.25, 5.75],
  [6.77, 6.23],
  [7.29, 6.71],
  [7.81, 7.19],
];

Deno.test("section 10 check 5: optimalLayout(P) for P = 1..16 is the paper's table", () => {
  const got = PAPER_TABLE.map((_, i) => optimalLayout(i + 1).name);
  assert.deepEqual(got, PAPER_TABLE);
  assert.equal(optimalLayout(4).name, "E2M1");
  assert.equal(optimalLayout(8).name, "E4M3");
  assert.equal(optimalLayout(16).name, "E8M7");
});

Deno.test("section 10 check 5: the continuous optimum sums to P and matches the spec's table", () => {
  for (let p = 1; p <= 16; p++) {
    const s = continuousLayout(p);
    assertClose(s.exponentBits + s.mantissaBits + 1, p, { rtol: 1e-14 });
    assertClose(s.exponentBits, CONTINUOUS[p - 1][0], { atol: 0.006 });
    assertClose(s.mantissaBits, CONTINUOUS[p - 1][1], { atol: 0.006 });
    // (E+0.5):(M+0.5) = δ:ν
    assertClose((s.exponentBits + 0.5) / (s.mantissaBits + 0.5), 3.1926 / 2.9543, { rtol: 1e-12 });
    // Rounding the continuous optimum gives the integer table too.
    if (p > 1) {
      const e = Math.round(s.exponentBits);
      assert.equal(`E${e}M${p - 1 - e}`, PAPER_TABLE[p - 1]);
    }
  }
});

Deno.test("optimalLayout beats every other split of the same bits (independent brute force)", () => {
  for (let p = 1; p <= 24; p++) {
    const best = optimalLayout(p);
    for (let e = 0; e < p; e++) {
      assert.ok(formatFactor(best.exponentBits, best.mantissaBits) <= formatFactor(e, p - 1 - e));
    }
  }
  // The continuous optimum maximises (E+.5)^δ(M+.5)^ν: nudging it either way is worse.
  const s = continuousLayout(6);
  const f = (e: number) => formatFactor(e, 6 - 1 - e);
  assert.ok(f(s.exponentBits) < f(s.exponentBits + 0.01));
  assert.ok(f(s.exponentBits) < f(s.exponentBits - 0.01));
});

Deno.test("optimalLayout: with δ = ν the extra bit may go either way; with δ >> ν it goes to E", () => {
  const expHeavy = { ...PAPER_CONSTANTS, delta: 6 };
  assert.equal(optimalLayout(8, expHeavy).exponentBits > 4, true);
  assert.throws(() => optimalLayout(0), /precision \(bits\) must be an integer in \[1, 64\]/);
  assert.throws(() => optimalLayout(2.5), /precision/);
});
