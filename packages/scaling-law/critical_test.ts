import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import { criticalTokens, loss, lossSlopeInTokens, resolveBlock, resolveFormat } from "./mod.ts";

const model = (name: string, block: number | string = 128) => {
  const f = resolveFormat(name);
  return {
    params: 1e9,
    exponentBits: f.exponentBits,
    mantissaBits: f.mantissaBits,
    log2Block: resolveBlock(block),
  };
};

Deno.test("section 10 check 3: the paper's 1730T / 27T / 0.4T at N = 1e9, B = 128", () => {
  const bf16 = criticalTokens(model("bf16"));
  const e4m3 = criticalTokens(model("e4m3"));
  const e2m1 = criticalTokens(model("E2M1"));
  assert.equal(Math.round(bf16 / 1e13) * 10, 1730); // 1729.5T rounds to 1730T
  assert.equal(Math.round(e4m3 / 1e12), 27);
  assert.equal(Math.round(e2m1 / 1e11) / 10, 0.4);
  assertClose(bf16, 1.72955e15, { rtol: 1e-5 });
  assertClose(e4m3, 2.7329e13, { rtol: 1e-4 });
  assertClose(e2m1, 3.928e11, { rtol: 2e-4 }); // the spec quotes 4 digits
});

Deno.test("critical data size: the spec's other derived values and block sizes", () => {
  assertClose(criticalTokens(model("E5M2")), 1.94e13, { rtol: 3e-3 });
  assertClose(criticalTokens(model("E3M4")), 2.58e13, { rtol: 3e-3 });
  assertClose(criticalTokens(model("E3M2")), 4.80e12, { rtol: 3e-3 });
  assertClose(criticalTokens(model("E1M2")), 3.49e11, { rtol: 3e-3 });
  // B = 64 and channel-wise give the numbers that rule them out as the paper's block (spec §4).
  assertClose(criticalTokens(model("bf16", 64)) / 1e12, 2008, { rtol: 1e-3 });
  assertClose(criticalTokens(model("bf16", "channel")) / 1e12, 939, { rtol: 1e-3 });
  assert.equal(criticalTokens(model("e2m1", "none")), Infinity);
});

Deno.test("section 10 check 4: dL/dD is 0 at D_crit and changes sign there (finite differences)", () => {
  for (const name of ["bf16", "e4m3", "e2m1", "E1M1"]) {
    const m = model(name);
    const dc = criticalTokens(m);
    const at = (d: number) => loss({ ...m, tokens: d });
    const h = dc * 1e-4;
    const slope = (d: number) => (at(d + h) - at(d - h)) / (2 * h);
    // The scale of each term's slope: the zero must hold far below it.
    const scale = Math.abs(at(dc) - at(dc * 0.5)) / (dc * 0.5);
    assert.ok(Math.abs(slope(dc)) < 1e-5 * scale, `${name}: slope ${slope(dc)} at D_crit`);
    assert.ok(slope(dc * 0.9) < 0, `${name}: loss still falls below D_crit`);
    assert.ok(slope(dc * 1.1) > 0, `${name}: loss rises beyond D_crit`);
    // The closed-form slope agrees with the finite difference.
    assertClose(lossSlopeInTokens(m, dc * 1.1), slope(dc * 1.1), { rtol: 1e-4 });
    assertClose(lossSlopeInTokens(m, dc), 0, { atol: 1e-9 * scale });
  }
});

Deno.test("critical data size grows as N^(α/2β) and with precision, shrinks with the block", () => {
  const small = criticalTokens(model("e4m3"));
  const big = criticalTokens({ ...model("e4m3"), params: 1e10 });
  assertClose(big / small, 10 ** (0.2368 / (2 * 0.5162)), { rtol: 1e-12 });
  assert.ok(criticalTokens(model("e4m3", 32)) > criticalTokens(model("e4m3", 256)));
});

Deno.test("criticalTokens: bad input", () => {
  assert.throws(() => criticalTokens({ ...model("e4m3"), params: -5 }), /params/);
});
