import assert from "node:assert/strict";
import { DEFAULTS, parsePlan, UsageError } from "./cli.ts";

Deno.test("cli: defaults are the tiny preset with bf16 and fp4", () => {
  const p = parsePlan([], new Date("2026-01-02T03:04:05Z"));
  assert.equal(p.config.name, "tiny");
  assert.deepEqual(p.recipes.map((r) => r.name), ["bf16", "fp4"]);
  assert.equal(p.steps, DEFAULTS.tiny.steps);
  assert.equal(p.out, "runs/tiny-20260102-030405");
  assert.equal(p.data, "brown");
});

Deno.test("cli: every flag is read", () => {
  const p = parsePlan([
    "--recipes=fp4,fp4-direct,fp8,bf16",
    "--preset=small",
    "--steps=3000",
    "--ranks=4",
    "--batch=8",
    "--lr=0.001",
    "--seed=-3",
    "--data=my.txt",
    "--out=runs/x",
    "--json",
  ]);
  assert.deepEqual(p.recipes.map((r) => r.name), ["fp4", "fp4-direct", "fp8", "bf16"]);
  assert.deepEqual([p.steps, p.ranks, p.batch, p.lr, p.seed, p.data, p.out, p.json], [
    3000,
    4,
    8,
    0.001,
    -3,
    "my.txt",
    "runs/x",
    true,
  ]);
});

Deno.test("cli: bad flags are UsageErrors with one-line messages", () => {
  for (
    const args of [
      ["--recipes", "fp5"],
      ["--recipes", ","],
      ["--preset", "x"],
      ["--steps", "1.5"],
      ["--steps", "-2"],
      ["--batch", "0"],
      ["--batch", "6", "--ranks", "4"],
      ["--lr", "abc"],
      ["--seed", "1.5"],
      ["--bogus"],
      ["positional"],
    ]
  ) {
    assert.throws(
      () => parsePlan(args),
      (e) => e instanceof UsageError && !e.message.includes("\n"),
    );
  }
});

Deno.test("--device: cpu by default, webgpu and auto accepted, anything else is bad input", () => {
  assert.equal(parsePlan([]).device, "cpu");
  assert.equal(parsePlan(["--device", "webgpu"]).device, "webgpu");
  assert.equal(parsePlan(["--device", "auto"]).device, "auto");
  assert.throws(() => parsePlan(["--device", "gpu"]), UsageError);
  assert.equal(parsePlan(["--preset", "gpt2s"]).config.hiddenSize, 768);
  assert.equal(parsePlan(["--preset", "m350"]).config.numLayers, 24);
});
