import assert from "node:assert/strict";
import {
  failureStatus,
  glueNegativeValues,
  parseFlags,
  positiveIntFlag,
  positiveNumberFlag,
  seedFlag,
  UsageError,
} from "./cli.ts";

Deno.test("shared cli: a negative value reaches the app, which says what is wrong with it", () => {
  const spec = { lr: { type: "string" as const }, json: { type: "boolean" as const } };
  assert.equal(parseFlags(["--lr", "-1", "--json"], spec).values.lr, "-1");
  assert.throws(
    () => positiveNumberFlag("--lr", parseFlags(["--lr", "-1"], spec).values.lr as string, 1),
    { message: "--lr must be a positive number, got -1" },
  );
  assert.throws(() => positiveIntFlag("--steps", "-5", 1), {
    message: "--steps must be a positive integer, got -5",
  });
  // Only values after a string flag are glued: a boolean flag's neighbour stays positional.
  assert.deepEqual(glueNegativeValues(["--json", "-1"], new Set(["lr"])), ["--json", "-1"]);
  assert.throws(
    () => parseFlags(["--bogus"], spec),
    (e) => e instanceof UsageError && /see --help/.test(e.message),
  );
});

Deno.test("shared cli: seeds are accepted alike everywhere, negative ones included, within 32 bits", () => {
  assert.equal(seedFlag("--seed", "-2147483648", 1), -(2 ** 31));
  assert.equal(seedFlag("--seed", undefined, 7), 7);
  for (const bad of ["2147483648", "1.5", "x", ""]) {
    assert.throws(() => seedFlag("--seed", bad, 1), UsageError);
  }
});

Deno.test("shared cli: bad input exits 2 with one line, anything else (a RangeError too) exits 1", () => {
  const lines: string[] = [];
  const print = (l: string) => lines.push(l);
  assert.equal(failureStatus("plan budget", new UsageError("a\nb"), undefined, print), 2);
  assert.deepEqual(lines, ["plan budget: a b"]);
  assert.equal(failureStatus("plan budget", new RangeError("inside the law"), undefined, print), 1);
  assert.match(lines[1], /^plan budget: internal error: RangeError: inside the law/);
});
