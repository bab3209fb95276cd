import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "@fp4lab/quant-granularity";
import { createHash } from "node:crypto";
import {
  CHECKPOINT_FILES,
  CheckpointError,
  latestCheckpoint,
  listStepDirs,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { hfConfig, paramLayout, PRESETS, RECIPES } from "@fp4lab/train";
import { markovSource } from "./data.ts";
import type { TrainState } from "./state.ts";
import { type TrainOptions, trainRecipe } from "./train.ts";

const config = PRESETS.smoke;
const data = markovSource(20000, { seed: 3 });
const opts: TrainOptions = {
  config,
  steps: 8,
  batch: 2,
  ranks: 1,
  lr: 3e-3,
  seed: 5,
  evalPoints: 2,
  valWindows: 4,
};
const settings = {
  preset: "smoke",
  recipe: "fp4",
  steps: 8,
  batch: 2,
  ranks: 1,
  lr: 3e-3,
  seed: 5,
  data: "markov",
};

/** Trains fp4 for 8 steps saving at 4 and 8; returns the folder and the snapshots handed over. */
async function trainedFolder(
  recipe = RECIPES.fp4,
): Promise<{ dir: string; states: TrainState[] }> {
  const dir = join(await Deno.makeTempDir({ prefix: "ckpt_test_" }), recipe.name);
  const states: TrainState[] = [];
  await trainRecipe(recipe, data, {
    ...opts,
    saveEvery: 4,
    onSave: (s) => {
      // Deep copy what the trainer keeps mutating, to compare with what comes back.
      states.push(structuredClone({ ...s, params: s.params.slice() }));
      saveCheckpoint(dir, config, recipe, { ...settings, recipe: recipe.name }, s);
    },
  });
  return { dir, states };
}

function rewriteManifest(dir: string, file: string): void {
  const path = join(dir, "checkpoint.json");
  const m = JSON.parse(Deno.readTextFileSync(path));
  const bytes = Deno.readFileSync(join(dir, file));
  m.files[file] = { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  Deno.writeTextFileSync(path, JSON.stringify(m));
}

Deno.test("checkpoint: save then load gives back every value bit for bit", async () => {
  const { dir, states } = await trainedFolder();
  try {
    assert.deepEqual(listStepDirs(dir), ["step-000004", "step-000008"]);
    for (const f of [...CHECKPOINT_FILES, "checkpoint.json"]) {
      assert.ok(Deno.statSync(join(dir, f)).size > 0, f);
    }
    const ck = loadCheckpoint(join(dir, "step-000004"), { requireState: true });
    const want = states[0];
    assert.equal(ck.step, 4);
    assert.equal(ck.config.name, "smoke");
    assert.deepEqual(new Uint8Array(ck.params.buffer), new Uint8Array(want.params.buffer));
    const o = ck.state!.optimizer;
    assert.equal(o.step, want.optimizer.step);
    assert.equal(o.m1Format, "E4M3");
    for (let i = 0; i < o.m1.length; i++) {
      assert.deepEqual(o.m1[i], want.optimizer.m1[i]);
      assert.deepEqual(o.m2[i], want.optimizer.m2[i]);
    }
    assert.deepEqual(o.m1Scales, want.optimizer.m1Scales);
    assert.deepEqual(ck.state!.scaler, want.scaler);
    assert.deepEqual(ck.state!.records.map((r) => r.loss), want.records.map((r) => r.loss));
    // The folder-level copy is the newest step, and HF names and config fields are there.
    const top = loadCheckpoint(dir);
    assert.equal(top.step, 8);
    const st = readSafetensors(Deno.readFileSync(join(dir, "model.safetensors")));
    assert.deepEqual(
      Object.keys(st.tensors).sort(),
      paramLayout(config).params.map((p) => p.name).sort(),
    );
    assert.equal(st.metadata.format, "pt");
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(join(dir, "config.json"))), hfConfig(config));
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

for (const recipe of [RECIPES.fp4, RECIPES.fp32, RECIPES.nvfp4]) {
  Deno.test(`checkpoint: resuming ${recipe.name} from a saved step equals training straight through`, async () => {
    const { dir, states } = await trainedFolder(recipe);
    try {
      const straight = states[1];
      const ck = loadCheckpoint(join(dir, "step-000004"), { requireState: true });
      assert.equal(ck.state!.optimizer.m1Format, recipe.optimizer.m1);
      const resumed = await trainRecipe(recipe, data, { ...opts, resume: ck.state! });
      assert.deepEqual(resumed.records.map((r) => r.loss), straight.records.map((r) => r.loss));
      assert.deepEqual(
        resumed.records.map((r) => r.valLoss),
        straight.records.map((r) => r.valLoss),
      );
      assert.deepEqual(
        new Uint8Array(resumed.params.buffer),
        new Uint8Array(straight.params.buffer),
      );
    } finally {
      await Deno.remove(join(dir, ".."), { recursive: true });
    }
  });
}

Deno.test("checkpoint: truncated, flipped and missing-tensor files are refused; the previous step still loads", async () => {
  const { dir } = await trainedFolder();
  try {
    const newest = join(dir, "step-000008");
    const model = join(newest, "model.safetensors");
    const good = Deno.readFileSync(model);
    const cases: [string, () => void, RegExp][] = [
      [
        "truncated",
        () => Deno.writeFileSync(model, good.subarray(0, good.length - 100)),
        /model\.safetensors is \d+ bytes, the manifest says \d+ \(truncated/,
      ],
      [
        "flipped header byte",
        () => {
          const b = good.slice();
          b[20] ^= 0x01;
          Deno.writeFileSync(model, b);
        },
        /model\.safetensors does not match its SHA-256/,
      ],
      [
        "missing tensor",
        () => {
          const st = readSafetensors(good);
          const kept = Object.fromEntries(
            Object.entries(st.tensors).filter(([n]) => n !== "model.layers.1.mlp.up_proj.weight"),
          );
          Deno.writeFileSync(model, writeSafetensors(kept, { format: "pt" }));
          rewriteManifest(newest, "model.safetensors"); // so the tensor check itself is reached
        },
        /missing tensor model\.layers\.1\.mlp\.up_proj\.weight/,
      ],
    ];
    const manifest = Deno.readFileSync(join(newest, "checkpoint.json"));
    for (const [what, corrupt, message] of cases) {
      corrupt();
      assert.throws(() => loadCheckpoint(newest), (e) => {
        assert.ok(e instanceof CheckpointError, `${what}: ${e}`);
        assert.match(e.message, message, what);
        assert.ok(!e.message.includes("\n"), "one line");
        return true;
      });
      const { checkpoint, skipped } = latestCheckpoint(dir);
      assert.equal(checkpoint!.step, 4, `${what}: falls back to the previous good checkpoint`);
      assert.equal(skipped.length, 1);
      Deno.writeFileSync(model, good);
      Deno.writeFileSync(join(newest, "checkpoint.json"), manifest);
      assert.equal(loadCheckpoint(newest).step, 8, `${what}: restored`);
    }
    // Without a manifest (a folder saved elsewhere) the safetensors parser still refuses a cut.
    Deno.removeSync(join(newest, "checkpoint.json"));
    Deno.writeFileSync(model, good.subarray(0, good.length - 4));
    assert.throws(
      () => loadCheckpoint(newest),
      /model\.safetensors: safetensors: .*lie outside the \d+-byte data buffer/,
    );
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("checkpoint: a config.json that does not match the tensors is refused", async () => {
  const { dir } = await trainedFolder();
  try {
    const cfg = { ...hfConfig(config), intermediate_size: 48 };
    Deno.writeTextFileSync(join(dir, "config.json"), JSON.stringify(cfg));
    rewriteManifest(dir, "config.json");
    assert.throws(
      () => loadCheckpoint(dir),
      /model\.layers\.0\.mlp\.gate_proj\.weight has shape \[64,32\], but config\.json says \[48,32\]/,
    );
    Deno.writeTextFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...hfConfig(config), num_key_value_heads: 1 }),
    );
    rewriteManifest(dir, "config.json");
    assert.throws(() => loadCheckpoint(dir), /num_key_value_heads must equal/);
    assert.throws(() => loadCheckpoint(join(dir, "nope")), /does not exist/);
    assert.throws(() => loadCheckpoint(join(dir, "..")), /is not a checkpoint/);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});

Deno.test("checkpoint: a killed save leaves only a temporary folder that is never read", async () => {
  const { dir } = await trainedFolder();
  try {
    // What a crash between the first file and the rename leaves behind.
    const tmp = join(dir, ".tmp-step-000012-99999");
    Deno.mkdirSync(tmp);
    Deno.writeFileSync(join(tmp, "model.safetensors"), new Uint8Array(10));
    assert.equal(latestCheckpoint(dir).checkpoint!.step, 8);
    assert.equal(loadCheckpoint(dir).step, 8);
  } finally {
    await Deno.remove(join(dir, ".."), { recursive: true });
  }
});
