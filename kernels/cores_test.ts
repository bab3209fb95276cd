import assert from "node:assert/strict";
import { reportedCores } from "./runtime.ts";

const node = (os: Record<string, unknown> | undefined) => ({
  process: { getBuiltinModule: (name: string) => (name === "os" ? os : undefined) },
});

Deno.test("reportedCores: navigator.hardwareConcurrency first (browsers, Deno, Bun, Node 21+)", () => {
  assert.equal(reportedCores({ navigator: { hardwareConcurrency: 12 }, ...node({}) }), 12);
  assert.equal(reportedCores(), navigator.hardwareConcurrency);
});

Deno.test("reportedCores: Node 20 without navigator asks os.availableParallelism, then cpus", () => {
  assert.equal(reportedCores(node({ availableParallelism: () => 6, cpus: () => [1, 2] })), 6);
  assert.equal(reportedCores(node({ cpus: () => [1, 2, 3] })), 3);
  assert.equal(reportedCores({ navigator: {}, ...node({ availableParallelism: () => 4 }) }), 4);
});

Deno.test("reportedCores: 1 when nothing answers, or answers nonsense, or throws", () => {
  assert.equal(reportedCores({}), 1);
  assert.equal(reportedCores(node(undefined)), 1);
  assert.equal(reportedCores(node({ availableParallelism: () => 0 })), 1);
  assert.equal(reportedCores({ navigator: { hardwareConcurrency: 0 } }), 1);
  const throwing = {
    process: {
      getBuiltinModule: () => {
        throw new Error("no");
      },
    },
  };
  assert.equal(reportedCores(throwing), 1);
});
