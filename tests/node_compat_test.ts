// The packages on Node (what their READMEs promise): the kernels default to the cores Node
// reports even without `navigator` (Node 20), and relaxed SIMD turns on with V8's flag.
import assert from "node:assert/strict";
import { join } from "node:path";
import { matmul } from "@fp4lab/kernels";

const ROOT = new URL("../", import.meta.url).pathname;
const inCI = Deno.env.get("CI") === "true";

function nodeVersion(): string | null {
  try {
    const r = new Deno.Command("node", { args: ["--version"], stdout: "piped" }).outputSync();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : null;
  } catch {
    return null;
  }
}

async function node(args: string[]): Promise<string> {
  const r = await new Deno.Command("node", { args, stdout: "piped", stderr: "piped" }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout).trim();
}

const version = nodeVersion();

Deno.test({
  name: `Node ${version ?? "(absent)"}: kernels and fp4-format run bundled, threads = cores`,
  // Outside CI a machine without Node skips with a note.
  ignore: version === null && !inCI,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "fp4lab-node-" });
    try {
      const bundle = join(dir, "entry.mjs");
      const b = await new Deno.Command(Deno.execPath(), {
        args: ["bundle", "--quiet", "--platform=browser", "-o", bundle, "tests/_node_entry.ts"],
        cwd: ROOT,
        stderr: "piped",
      }).output();
      assert.ok(b.success, new TextDecoder().decode(b.stderr));
      const cores = Number(
        await node([
          "-p",
          "const os = require('os'); os.availableParallelism?.() ?? os.cpus().length",
        ]),
      );
      const plain = JSON.parse(await node([bundle]));
      assert.equal(plain.threads, Math.min(64, cores));
      assert.deepEqual(plain.q, [0.5, 2, -4, 6]);
      const a = new Float32Array(64 * 64).map((_, i) => (i % 7) - 3);
      assert.deepEqual(plain.y, Array.from(matmul(a, a, 64, 64, 64).subarray(0, 8)));
      // The documented flag for Node builds whose V8 does not ship relaxed SIMD by default.
      const flagged = JSON.parse(await node(["--experimental-wasm-relaxed-simd", bundle]));
      assert.equal(flagged.relaxed, true);
      assert.deepEqual(flagged.y, plain.y);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
