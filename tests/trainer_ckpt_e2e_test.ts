/**
 * Checkpoints as a user meets them (issue 10), on the smoke preset: a real training process is
 * SIGKILLed mid-run, `deno task train --resume` continues it, and the final weights and the loss
 * curve equal an uninterrupted run's bit for bit; then `deno task eval` and `deno task sample` on
 * the result, bad input (exit 2, one line), and a diverging run that keeps its last good
 * checkpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliLines, ROOT, task } from "./_util/task.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const STEPS = 400;
const ARGS = [
  "--preset",
  "smoke",
  "--recipes",
  "fp4,bf16",
  "--steps",
  String(STEPS),
  "--save-every",
  "50",
  "--ranks",
  "2",
  "--data",
  "markov",
  "--seed",
  "3",
];

/** Loss columns of metrics.csv (recipe, step, tokens, train_loss, val_loss): no timings. */
async function lossCurve(run: string): Promise<string> {
  const rows = (await Deno.readTextFile(join(run, "metrics.csv"))).trim().split("\n");
  return rows.map((r) => r.split(",").slice(0, 5).join(",")).join("\n");
}

Deno.test("e2e checkpoints: train -> SIGKILL -> resume equals an uninterrupted run bit for bit; eval; sample", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trainer_ckpt_e2e_" });
  try {
    const straight = join(dir, "straight"), killed = join(dir, "killed");
    const reference = task("train", [...ARGS, "--out", straight, "--json"]);

    // The process itself (not a `deno task` wrapper) so SIGKILL lands on the trainer.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "apps/trainer/main.ts", ...ARGS, "--out", killed],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const started = Date.now();
    while (!exists(join(killed, "fp4", "step-000100"))) {
      assert.ok(Date.now() - started < 60_000, "no checkpoint appeared within 60 s");
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    // It really stopped mid-run: the fp4 recipe did not finish, bf16 never started.
    assert.ok(!exists(join(killed, "fp4", `step-000${STEPS}`)), "the kill landed after the run");
    assert.ok(!exists(join(killed, "bf16", "model.safetensors")));
    assert.ok(!exists(join(killed, "report.json")));

    const resumed = await task("train", ["--resume", killed, "--json"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    JSON.parse(resumed.stdout); // --json: only JSON on stdout
    const ref = await reference;
    assert.equal(ref.code, 0, ref.stderr);

    for (const recipe of ["fp4", "bf16"]) {
      const a = await Deno.readFile(join(straight, recipe, "model.safetensors"));
      const b = await Deno.readFile(join(killed, recipe, "model.safetensors"));
      assert.ok(a.length > 100_000 && a.length === b.length, recipe);
      assert.ok(a.every((x, i) => x === b[i]), `${recipe}: final weights differ`);
      const oa = await Deno.readFile(join(straight, recipe, "optimizer.safetensors"));
      const ob = await Deno.readFile(join(killed, recipe, "optimizer.safetensors"));
      assert.ok(oa.every((x, i) => x === ob[i]), `${recipe}: optimizer state differs`);
    }
    const curve = await lossCurve(straight);
    assert.equal(curve.split("\n").length, 1 + 2 * STEPS);
    assert.equal(await lossCurve(killed), curve);

    // eval: the same numbers from both, in exactly the documented JSON.
    const text = join(dir, "text.txt");
    await Deno.writeTextFile(text, "The jury said the case was closed, and went home. ".repeat(40));
    const e1 = await task("eval", ["--checkpoint", join(killed, "fp4"), "--data", text, "--json"]);
    assert.equal(e1.code, 0, e1.stderr);
    const r1 = JSON.parse(e1.stdout);
    assert.deepEqual(Object.keys(r1), ["loss", "tokens", "bits_per_byte", "perplexity"]);
    assert.equal(r1.bits_per_byte, r1.loss / Math.LN2);
    assert.equal(r1.perplexity, Math.exp(r1.loss));
    const bytes = (await Deno.stat(text)).size, T = 16;
    assert.equal(r1.tokens, Math.floor(bytes / T) * (T - 1));
    assert.ok(Number.isFinite(r1.loss) && r1.loss > 0);
    const e2 = await task("eval", [
      "--checkpoint",
      join(straight, "fp4"),
      "--data",
      text,
      "--json",
    ]);
    assert.equal(e2.stdout, e1.stdout);
    const e3 = await task("eval", [
      "--checkpoint",
      join(killed, "fp4"),
      "--data",
      text,
      "--json",
      "--recipe",
      "fp4",
    ]);
    assert.equal(e3.code, 0, e3.stderr);
    assert.notEqual(JSON.parse(e3.stdout).loss, r1.loss, "--recipe fp4 rounds the forward pass");
    const table = await task("eval", ["--checkpoint", join(killed, "fp4"), "--data", text]);
    assert.match(table.stdout, /loss\s+\d+\.\d{4} nats per byte\n\s+\d+\.\d{4} bits per byte/);
    assert.match(table.stdout, /step 400, trained with fp4/);

    // sample: the prompt and 200 more bytes.
    const s = await task("sample", [
      "--checkpoint",
      join(killed, "fp4"),
      "--prompt",
      "The jury",
      "--new-tokens",
      "200",
      "--json",
    ]);
    assert.equal(s.code, 0, s.stderr);
    const sample = JSON.parse(s.stdout);
    assert.equal(sample.prompt, "The jury");
    assert.equal(sample.ids.length, 200);
    // The old spelling still works, with a note on stderr.
    const plain = await task("sample", ["--checkpoint", join(killed, "fp4"), "--tokens", "20"]);
    assert.ok(plain.stdout.startsWith("The jury"), plain.stdout);
    assert.match(plain.stderr, /--tokens is deprecated, use --new-tokens/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e checkpoints: bad input exits 2 with one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trainer_ckpt_bad_" });
  try {
    const run = join(dir, "run");
    const t = await task("train", [
      "--preset",
      "smoke",
      "--recipes",
      "fp32",
      "--steps",
      "4",
      "--data",
      "markov",
      "--out",
      run,
    ]);
    assert.equal(t.code, 0, t.stderr);
    const text = join(dir, "t.txt");
    await Deno.writeTextFile(text, "abc ".repeat(100));
    // A weights-only copy (as a folder saved elsewhere would be) whose config lies about a size.
    const lying = join(dir, "lying");
    await Deno.mkdir(lying);
    await Deno.copyFile(join(run, "fp32", "model.safetensors"), join(lying, "model.safetensors"));
    const cfg = JSON.parse(await Deno.readTextFile(join(run, "fp32", "config.json")));
    await Deno.writeTextFile(
      join(lying, "config.json"),
      JSON.stringify({ ...cfg, intermediate_size: 96 }),
    );
    const cases: [string, string[], RegExp][] = [
      ["eval", ["--checkpoint", dir, "--data", text], /is not a checkpoint: model\.safetensors/],
      ["eval", ["--checkpoint", run, "--data", text], /is a run folder; pass one recipe's folder/],
      ["eval", ["--checkpoint", lying, "--data", text], /has shape \[64,32\], but config\.json/],
      ["eval", ["--checkpoint", join(run, "fp32"), "--data", join(dir, "no.txt")], /cannot read/],
      ["eval", ["--checkpoint", join(run, "fp32")], /--data FILE is required/],
      ["eval", ["--checkpoint", join(run, "fp32"), "--data", text, "--recipe", "fp5"], /fp5/],
      ["sample", ["--checkpoint", join(dir, "none")], /does not exist/],
      ["sample", ["--checkpoint", join(run, "fp32"), "--new-tokens=-3"], /--new-tokens must be/],
      ["sample", ["--checkpoint", join(run, "fp32"), "--tokens=-3"], /--tokens must be/],
      ["train", ["--resume", run, "--preset", "tiny"], /trained with --preset smoke, not tiny/],
      ["train", ["--resume", run, "--steps", "3"], /planned for 4 steps; --steps 3 would end it/],
      ["train", ["--resume", dir], /not a training run folder/],
    ];
    const short = join(dir, "short.txt");
    await Deno.writeTextFile(short, "tiny");
    cases.push([
      "eval",
      ["--checkpoint", join(run, "fp32"), "--data", short],
      /fewer than one window/,
    ]);
    for (const [name, args, pattern] of cases) {
      const r = await task(name, args);
      assert.equal(r.code, 2, `${name} ${args.join(" ")}: ${r.stderr}`);
      const lines = cliLines(r.stderr);
      assert.equal(lines.length, 1, `${name} ${args.join(" ")}: ${r.stderr}`);
      assert.match(lines[0], pattern);
    }
    // The checkpoint of another preset under a run's recipe folder is refused on resume too.
    const other = join(dir, "other");
    assert.equal(
      (await task("train", [
        "--preset",
        "smoke",
        "--recipes",
        "fp32",
        "--steps",
        "4",
        "--lr",
        "1e-3",
        "--data",
        "markov",
        "--out",
        other,
      ])).code,
      0,
    );
    await Deno.remove(join(run, "fp32"), { recursive: true });
    await Deno.rename(join(other, "fp32"), join(run, "fp32"));
    const r = await task("train", ["--resume", run]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(cliLines(r.stderr)[0], /was saved with lr 0\.001, this run has 0\.003/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e checkpoints: a diverging run stops with exit 1 and keeps its last good checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trainer_ckpt_nan_" });
  try {
    const run = join(dir, "run");
    const r = await task("train", [
      "--preset",
      "smoke",
      "--recipes",
      "fp32",
      "--lr",
      "1e30",
      "--steps",
      "10",
      "--save-every",
      "1",
      "--data",
      "markov",
      "--out",
      run,
    ]);
    assert.equal(r.code, 1, r.stderr);
    const step = Number(/at step (\d+)/.exec(r.stderr)![1]);
    assert.ok(step >= 2, r.stderr);
    const manifest = JSON.parse(await Deno.readTextFile(join(run, "fp32", "checkpoint.json")));
    // The newest save before the fault whose weights were finite (an update that overflowed the
    // weights is not saved: here the step before the fault's).
    assert.ok(manifest.step >= 1 && manifest.step < step, `saved ${manifest.step}, fault ${step}`);
    const e = await task("eval", [
      "--checkpoint",
      join(run, "fp32"),
      "--data",
      join(ROOT, "apps", "trainer", "README.md"),
      "--json",
    ]);
    assert.equal(e.code, 0, e.stderr);
    assert.ok(Number.isFinite(JSON.parse(e.stdout).loss), "the kept checkpoint is usable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
