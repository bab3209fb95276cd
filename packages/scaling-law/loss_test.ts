import assert from "node:assert/strict";
import { assertClose } from "../../tests/_util/assert.ts";
import { chinchillaLoss, loss, lossTerms, PAPER_CONSTANTS, resolveBlock } from "./mod.ts";

const run = (e: number, m: number, log2Block: number) => ({
  params: 1e9,
  tokens: 1e12,
  exponentBits: e,
  mantissaBits: m,
  log2Block,
});

Deno.test("section 10 check 1: L_BF16, L(E4M3) and L(E2M1) at N = 1e9, D = 1e12, B = 128", () => {
  assertClose(chinchillaLoss(1e9, 1e12), 2.462009, { atol: 5e-7 });
  assertClose(loss(run(4, 3, 7)), 2.463458, { atol: 5e-7 });
  assertClose(loss(run(2, 1, 7)), 2.577674, { atol: 5e-7 });
});

Deno.test("section 10 check 2: B = 1 gives exactly the Chinchilla loss", () => {
  for (const [n, d, e, m] of [[1e8, 1e10, 1, 1], [4e7, 3e9, 0, 0], [7e10, 2e13, 8, 23]]) {
    const r = {
      params: n,
      tokens: d,
      exponentBits: e,
      mantissaBits: m,
      log2Block: resolveBlock(1),
    };
    assert.equal(loss(r), chinchillaLoss(n, d));
    assert.equal(lossTerms(r).penalty, 0);
  }
  assert.equal(resolveBlock("none"), 0);
});

Deno.test("section 10 check 11: channel-wise runs use log2 B = 13.1567, not log2(d_in)", () => {
  assert.equal(resolveBlock("channel"), 13.1567);
  const t = lossTerms(run(1, 1, resolveBlock("channel")));
  // The penalty is linear in log2 B: compare with the same run at B = 128.
  assertClose(t.penalty / lossTerms(run(1, 1, 7)).penalty, 13.1567 / 7, { rtol: 1e-12 });
});

Deno.test("lossTerms: the parts add up and follow the formula term by term", () => {
  const c = PAPER_CONSTANTS;
  const t = lossTerms(run(3, 2, 5));
  assertClose(t.paramsTerm, c.n / 1e9 ** c.alpha, { rtol: 1e-14 });
  assertClose(t.tokensTerm, c.d / 1e12 ** c.beta, { rtol: 1e-14 });
  assertClose(t.penalty, t.knowledgeIntensity * t.informationLoss / c.gamma, { rtol: 1e-14 });
  assertClose(t.loss, t.paramsTerm + t.tokensTerm + t.irreducible + t.penalty, { rtol: 1e-15 });
  assertClose(t.chinchilla, chinchillaLoss(1e9, 1e12), { rtol: 1e-15 });
});

Deno.test("loss: constants are a parameter", () => {
  const harsher = { ...PAPER_CONSTANTS, gamma: PAPER_CONSTANTS.gamma / 2 };
  const base = lossTerms(run(2, 1, 7));
  assertClose(lossTerms(run(2, 1, 7), harsher).penalty, 2 * base.penalty, { rtol: 1e-14 });
});

Deno.test("loss: bad input names the argument", () => {
  assert.throws(() => loss({ ...run(2, 1, 7), params: -1 }), /params must be a positive/);
  assert.throws(() => loss({ ...run(2, 1, 7), tokens: 0 }), /tokens must be a positive/);
  assert.throws(() => loss({ ...run(2, 1, 7), log2Block: -1 }), /log2Block/);
  assert.throws(() => chinchillaLoss(NaN, 1), /params/);
});
