/**
 * Fuzzing the checkpoint loader (issue 17): a real smoke checkpoint, then seeded random damage to
 * its files (truncations, byte flips, config.json fields set to huge, tiny, negative or wrong-type
 * values, manifest entries naming paths or lying about sizes). Every case must load or fail with
 * a one-line CheckpointError, quickly, without the process's memory growing past a small multiple
 * of the checkpoint's size.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { PRESETS, RECIPES } from "@fp4lab/train";
import { seededRandom } from "../../tests/_util/random.ts";
import { CHECKPOINT_FILES, CheckpointError, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { markovSource } from "./data.ts";
import { trainRecipe } from "./train.ts";

const SEED = 1717;
const MAX_CASES = 150;
const MAX_MS = 8000;

Deno.test(`checkpoint fuzz: damaged files give a one-line CheckpointError and no runaway allocation (seed ${SEED})`, async () => {
  const root = Deno.makeTempDirSync({ prefix: "ckpt_fuzz_" });
  try {
    const good = join(root, "good");
    const settings = {
      preset: "smoke",
      recipe: "fp32",
      steps: 2,
      batch: 2,
      ranks: 1,
      lr: 1e-3,
      seed: 1,
      data: "markov",
    };
    await trainRecipe(RECIPES.fp32, markovSource(20000), {
      config: PRESETS.smoke,
      steps: 2,
      batch: 2,
      ranks: 1,
      lr: 1e-3,
      seed: 1,
      evalPoints: 1,
      valWindows: 2,
      saveEvery: 2,
      onSave: (s) => saveCheckpoint(good, PRESETS.smoke, RECIPES.fp32, settings, s),
    });
    const files = Object.fromEntries(
      [...CHECKPOINT_FILES, "checkpoint.json"].map((f) => [f, Deno.readFileSync(join(good, f))]),
    );
    const total = Object.values(files).reduce((a, b) => a + b.length, 0);
    const rand = seededRandom(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const wild = () =>
      pick([0, 1, -1, 2 ** 26, 2 ** 20, 1e12, 2 ** 53, 1.5, "7", null, [], 2 ** 31 - 1]);
    const enc = new TextEncoder(), dec = new TextDecoder();
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    const started = performance.now();
    const baseline = Deno.memoryUsage().rss;
    let cases = 0, refused = 0, loaded = 0;
    while (cases < MAX_CASES && performance.now() - started < MAX_MS) {
      cases++;
      const dir = join(root, `c${cases}`);
      Deno.mkdirSync(dir);
      const out: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries(files)) out[k] = v.slice();
      const target = pick([
        "model.safetensors",
        "config.json",
        "checkpoint.json",
        "optimizer.safetensors",
      ]);
      const kind = rand();
      if (target === "config.json" && kind < 0.7) {
        const cfg = JSON.parse(dec.decode(out[target]));
        const key = pick([
          "num_hidden_layers",
          "vocab_size",
          "hidden_size",
          "intermediate_size",
          "max_position_embeddings",
          "num_attention_heads",
        ]);
        cfg[key] = wild();
        out[target] = enc.encode(JSON.stringify(cfg));
      } else if (target === "checkpoint.json" && kind < 0.7) {
        const m = JSON.parse(dec.decode(out[target]));
        const name = pick([...CHECKPOINT_FILES, "../../../../dev/zero", "/etc/hostname"]);
        m.files[name] = { bytes: wild(), sha256: pick([m.files[name]?.sha256, "0".repeat(64), 3]) };
        if (rand() < 0.3) delete m.files[pick(CHECKPOINT_FILES)];
        out[target] = enc.encode(JSON.stringify(m));
      } else if (kind < 0.85) {
        out[target] = out[target].subarray(0, Math.floor(rand() * out[target].length));
      } else {
        const b = out[target];
        for (let k = 0; k < 3 && b.length; k++) {
          b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
        }
      }
      // Half the time the damage comes with a manifest that agrees (sizes and hashes updated),
      // so the parsers and checks behind the hashes are exercised too.
      if (target !== "checkpoint.json" && rand() < 0.5) {
        const m = JSON.parse(dec.decode(out["checkpoint.json"]));
        m.files[target] = { bytes: out[target].length, sha256: sha(out[target]) };
        out["checkpoint.json"] = enc.encode(JSON.stringify(m));
      }
      for (const [k, v] of Object.entries(out)) Deno.writeFileSync(join(dir, k), v);
      const t0 = performance.now();
      try {
        loadCheckpoint(dir, { requireState: rand() < 0.5 });
        loaded++;
      } catch (e) {
        assert.ok(e instanceof CheckpointError, `case ${cases} (${target}): ${(e as Error).stack}`);
        assert.ok(!e.message.includes("\n"), `case ${cases}: ${e.message}`);
        refused++;
      }
      assert.ok(performance.now() - t0 < 2000, `case ${cases} (${target}) took long`);
      assert.ok(
        Deno.memoryUsage().rss - baseline < 200e6 + 20 * total,
        `case ${cases} (${target}): memory grew to ${Deno.memoryUsage().rss}`,
      );
      Deno.removeSync(dir, { recursive: true });
    }
    assert.ok(cases >= 30, `only ${cases} cases`);
    assert.ok(refused > 0, `refused ${refused}, loaded ${loaded}`);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
