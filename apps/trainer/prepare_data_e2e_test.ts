/**
 * `deno task prepare-data` and `deno task train --data DIR` run as a user runs them: a
 * prepare-data process SIGKILLed mid-run leaves no output folder and the next run starts over
 * and gives the same shards; bad input exits 2 with one line; training streams the shards of a
 * gpt2 data set with the tokenizer's vocabulary, takes `--val-data`, and its checkpoint carries
 * the tokenizer for `sample`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadBrown } from "./data.ts";

const ROOT = join(import.meta.dirname!, "..", "..");

async function task(name: string, args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function corpus(dir: string): Promise<string> {
  const brown = new TextDecoder().decode((await loadBrown()).train.subarray(0, 3_000_000));
  const docs = brown.split("\n\n");
  await Deno.mkdir(join(dir, "corpus", "sub"), { recursive: true });
  for (let i = 0; i < 40; i++) {
    const sub = i % 3 === 0 ? "sub" : "";
    await Deno.writeTextFile(
      join(dir, "corpus", sub, `doc${String(i).padStart(2, "0")}.txt`),
      docs.filter((_, j) => j % 40 === i).join("\n\n"),
    );
  }
  return join(dir, "corpus", "**", "*.txt");
}

Deno.test("prepare-data: a killed run leaves no folder; the next run starts over and finishes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "prepare_e2e_" });
  try {
    const input = await corpus(dir);
    const out = join(dir, "data");
    const args = ["--input", input, "--tokenizer", "gpt2", "--shard-tokens", "20000"];
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "apps/trainer/prepare_data.ts", ...args, "--out", out],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Kill it once it has finished a shard or two.
    const t0 = Date.now();
    let killed = false;
    while (Date.now() - t0 < 120_000) {
      const done = exists(join(`${out}.partial`, "train-000001.bin"));
      if (done) {
        child.kill("SIGKILL");
        killed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await child.status;
    assert.ok(killed, "prepare-data finished before it could be killed");
    assert.ok(!exists(out), "a killed run must not leave the output folder");
    assert.ok(exists(`${out}.partial`));

    const again = await task("prepare-data", [...args, "--out", out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /removing .*data\.partial, left unfinished by an earlier run/);
    assert.ok(!exists(`${out}.partial`));
    const clean = await task("prepare-data", [...args, "--out", join(dir, "clean"), "--json"]);
    assert.equal(clean.code, 0, clean.stderr);
    const a = JSON.parse(Deno.readTextFileSync(join(out, "manifest.json")));
    const b = JSON.parse(clean.stdout).manifest;
    assert.deepEqual(a.train.shards, b.train.shards, "same shards, same SHA-256");
    assert.deepEqual(a.val.shards, b.val.shards);
    assert.equal(a.train.documents + a.val.documents, 40);
    assert.equal(a.val.documents, 4);

    // Train on it: the model takes the tokenizer's vocabulary, the checkpoint its tokenizer.
    const run = join(dir, "run");
    const valText = join(dir, "held_out.txt");
    await Deno.writeTextFile(valText, "The jury said the case was closed. ".repeat(200));
    const trained = await task("train", [
      "--preset",
      "smoke",
      "--recipes",
      "fp32",
      "--steps",
      "3",
      "--batch",
      "2",
      "--data",
      out,
      "--val-data",
      valText,
      "--val-windows",
      "16",
      "--out",
      run,
      "--json",
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const report = JSON.parse(trained.stdout);
    assert.equal(report.config.vocabSize, 50257);
    assert.equal(report.data.tokenizer, "gpt2");
    assert.equal(report.data.valWindows, 16);
    assert.ok(report.data.valBytesPerToken > 3, `${report.data.valBytesPerToken}`);
    const row = report.recipes[0];
    assert.ok(row.valStandardError > 0 && row.valStandardError < 0.5, `${row.valStandardError}`);
    assert.ok(
      Math.abs(row.valBitsPerByte - row.valLoss / Math.LN2 / report.data.valBytesPerToken) < 1e-12,
    );
    const sample = await task("sample", [
      "--checkpoint",
      join(run, "fp32"),
      "--prompt",
      "The jury",
      "--tokens",
      "4",
      "--json",
    ]);
    assert.equal(sample.code, 0, sample.stderr);
    const s = JSON.parse(sample.stdout);
    assert.equal(s.prompt, "The jury");
    assert.equal(s.ids.length, 4);
    assert.ok(s.ids.some((id: number) => id > 255), "BPE ids");

    // Bad input: one line, exit 2.
    const shard = join(out, "train-000002.bin");
    const bytes = Deno.readFileSync(shard);
    Deno.writeFileSync(shard, bytes.subarray(0, bytes.length - 1));
    const refused = await task("train", ["--preset", "smoke", "--data", out, "--out", run + "2"]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr.trim(), /^train: .*train-000002\.bin: \d+ bytes, .*\(truncated\)$/);
    const exists2 = await task("prepare-data", [...args, "--out", out]);
    assert.equal(exists2.code, 2);
    assert.match(exists2.stderr.trim(), /^prepare-data: --out .* already exists \(pass --force/);
    const none = await task("prepare-data", ["--input", join(dir, "nope", "*.txt"), "--out", out]);
    assert.equal(none.code, 2);
    assert.equal(none.stderr.trim().split("\n").length, 1);
    const badTok = await task("prepare-data", ["--input", input, "--tokenizer", "x", "--out", out]);
    assert.equal(badTok.code, 2);
    assert.match(badTok.stderr, /expected byte, gpt2 or a path/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
