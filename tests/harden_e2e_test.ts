/**
 * Issue 17, "nothing lost, nothing read that should not be": each numbered case of the issue runs
 * the apps as a user would (`deno task train|eval|sample|reproduce|plan` in a temporary folder)
 * and checks the promised behaviour: exit 2 with one line naming the problem for bad input, exit
 * 1 with one line for a full disk, nothing overwritten, nothing read past what a checkpoint
 * states. The case numbers in the test names are the issue's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliLines, ROOT, task } from "./_util/task.ts";
import { readSafetensors } from "@fp4lab/safetensors";

const dec = new TextDecoder();

/** Asserts exit 2 and exactly one stderr line matching `pattern`. */
async function refused(name: string, args: string[], pattern: RegExp): Promise<void> {
  const r = await task(name, args);
  const what = `${name} ${args.join(" ")}`;
  assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.stderr}`);
  const lines = cliLines(r.stderr);
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  assert.match(lines[0], pattern, what);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const SMOKE = ["--preset", "smoke", "--recipes", "fp32", "--data", "markov"];

async function trainSmoke(out: string, extra: string[] = []): Promise<void> {
  const r = await task("train", [...SMOKE, "--steps", "4", "--out", out, ...extra]);
  assert.equal(r.code, 0, r.stderr);
}

async function withTemp(prefix: string, f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("17.1 --out naming a run is refused and nothing is touched; a larger --steps on --resume extends it", async () => {
  await withTemp("harden1_", async (dir) => {
    const run = join(dir, "run");
    await trainSmoke(run);
    const before = await Deno.readFile(join(run, "report.json"));
    await refused(
      "train",
      [...SMOKE, "--steps", "4", "--seed", "9", "--out", run],
      new RegExp(`${run} already holds a run; use --resume ${run} or another --out`),
    );
    assert.deepEqual(await Deno.readFile(join(run, "report.json")), before);
    // A folder holding something else is not trained into either.
    const other = join(dir, "other");
    await Deno.mkdir(other);
    await Deno.writeTextFile(join(other, "notes.txt"), "mine");
    await refused("train", [...SMOKE, "--out", other], /is not empty and holds no run/);

    // Extending: 4 -> 7 steps, the added steps at the schedule's final rate (10% of 3e-3).
    const ext = await task("train", ["--resume", run, "--steps", "7", "--json"]);
    assert.equal(ext.code, 0, ext.stderr);
    assert.match(ext.stderr, /extending .* from 4 to 7 steps/);
    const rows = (await Deno.readTextFile(join(run, "metrics.csv"))).trim().split("\n").slice(1);
    assert.equal(rows.length, 7);
    const lr = rows.map((r) => Number(r.split(",")[5]));
    for (const x of lr.slice(4)) assert.ok(Math.abs(x - 3e-4) < 1e-12, `tail lr ${x}`);
    const manifest = JSON.parse(await Deno.readTextFile(join(run, "fp32", "checkpoint.json")));
    assert.equal(manifest.step, 7);
    const runFile = JSON.parse(await Deno.readTextFile(join(run, "run.json")));
    assert.deepEqual([runFile.settings.steps, runFile.settings.scheduleSteps], [7, 4]);
    // Fewer steps than planned is refused; the same count again resumes (nothing left to do).
    await refused("train", ["--resume", run, "--steps", "3"], /planned for 7 steps; --steps 3/);
    const again = await task("train", ["--resume", run]);
    assert.equal(again.code, 0, again.stderr);
  });
});

Deno.test("17.2 a second trainer on the same folder is refused naming the pid; a dead pid's lock is taken over", async () => {
  await withTemp("harden2_", async (dir) => {
    const run = join(dir, "run");
    await Deno.mkdir(run);
    // A live process holds the lock: this test's own.
    await Deno.writeTextFile(
      join(run, "train.lock"),
      JSON.stringify({ pid: Deno.pid, host: Deno.hostname(), started: "now" }),
    );
    await refused("train", [...SMOKE, "--out", run], new RegExp(`is in use by pid ${Deno.pid}`));
    // A process that has exited: its lock is stale.
    const done = new Deno.Command("true").spawn();
    await done.status;
    await Deno.writeTextFile(
      join(run, "train.lock"),
      JSON.stringify({ pid: done.pid, host: Deno.hostname(), started: "then" }),
    );
    const r = await task("train", [...SMOKE, "--steps", "2", "--out", run]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`taking over the lock .*pid ${done.pid}`));
    assert.ok(!exists(join(run, "train.lock")), "the lock is released at the end");
    // Two real trainers at once: the second is refused while the first runs (then it is killed).
    const out2 = join(dir, "two");
    const first = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "apps/trainer/main.ts", ...SMOKE, "--steps", "100000", "--out", out2],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const started = Date.now();
      while (!exists(join(out2, "run.json"))) {
        assert.ok(Date.now() - started < 60_000, "the first trainer did not start");
        await new Promise((res) => setTimeout(res, 20));
      }
      await refused("train", ["--resume", out2], new RegExp(`is in use by pid ${first.pid}`));
    } finally {
      first.kill("SIGKILL");
      await first.status;
    }
  });
});

Deno.test("17.3, 17.4, 17.11 sample: low temperatures sample in log space; non-finite weights and huge --tokens are refused", async () => {
  await withTemp("harden3_", async (dir) => {
    const run = join(dir, "run");
    await trainSmoke(run);
    const ckpt = join(run, "fp32");
    const greedy = await task("sample", [
      "--checkpoint",
      ckpt,
      "--tokens",
      "40",
      "--temperature",
      "0",
      "--json",
    ]);
    assert.equal(greedy.code, 0, greedy.stderr);
    for (const t of ["0.001", "0.005"]) {
      const s = await task("sample", [
        "--checkpoint",
        ckpt,
        "--tokens",
        "40",
        "--temperature",
        t,
        "--json",
      ]);
      assert.equal(s.code, 0, s.stderr);
      const ids: number[] = JSON.parse(s.stdout).ids;
      assert.ok(!ids.includes(0), `temperature ${t} emitted byte 0: ${ids}`);
      if (t === "0.001") {
        // Near greedy: the bytes the model ranks first, up to near-ties of this barely trained model.
        const same = ids.filter((b, i) => b === JSON.parse(greedy.stdout).ids[i]).length;
        assert.ok(same >= 30, `temperature ${t}: ${same} of 40 equal the greedy bytes`);
      }
    }
    // 17.11: what a flag may ask for is bounded.
    for (const n of ["4294967296", String(2 ** 53 - 1)]) {
      await refused(
        "sample",
        ["--checkpoint", ckpt, "--tokens", n],
        /--tokens must be at most 1000000/,
      );
    }
    await refused(
      "train",
      ["--preset", "tiny", "--ranks", "20000", "--batch", "20000", "--out", join(dir, "huge")],
      /--batch 20000 --ranks 20000 would need about [\d.]+ GB of memory \(20000 gradient copies/,
    );
    assert.ok(!exists(join(dir, "huge")), "a refused run leaves no folder");
    // 17.4: a NaN in a weight: eval and sample refuse, naming the tensor.
    const bad = join(dir, "bad");
    await Deno.mkdir(bad);
    await Deno.copyFile(join(ckpt, "config.json"), join(bad, "config.json"));
    const bytes = await Deno.readFile(join(ckpt, "model.safetensors"));
    const t = readSafetensors(bytes).tensors["model.layers.1.mlp.up_proj.weight"];
    new DataView(t.data.buffer, t.data.byteOffset).setFloat32(4 * 5, NaN, true);
    await Deno.writeFile(join(bad, "model.safetensors"), bytes);
    const text = join(dir, "t.txt");
    await Deno.writeTextFile(text, "some text to evaluate on. ".repeat(20));
    const named = /model\.layers\.1\.mlp\.up_proj\.weight holds NaN \(element 5\)/;
    await refused("eval", ["--checkpoint", bad, "--data", text, "--json"], named);
    await refused("sample", ["--checkpoint", bad], named);
  });
});

Deno.test("17.5, 17.16 reproduce: result files carry their settings; other plans, unreadable plans and empty --recipes are refused", async () => {
  await withTemp("harden5_", async (dir) => {
    const text = join(dir, "data.txt");
    await Deno.writeTextFile(text, "The jury said the case was closed, and went home. ".repeat(60));
    const out = join(dir, "sweep");
    const base = [
      "fp4",
      "--quick",
      "--recipes",
      "bf16",
      "--seeds",
      "1",
      "--data",
      text,
      "--out",
      out,
    ];
    const first = await task("reproduce", [...base, "--steps", "3"]);
    assert.equal(first.code, 0, first.stderr);
    const result = JSON.parse(await Deno.readTextFile(join(out, "runs", "bf16-s1.json")));
    assert.equal(result.settings.steps, 3);
    assert.match(result.settings.data.sha256, /^[0-9a-f]{64}$/);
    // The saved plan says 3 steps: --steps 4 is refused, not ignored.
    await refused("reproduce", [...base, "--steps", "4"], /planned with --steps 3, not 4/);
    // Without plan.json the 3-step result file is not reused for a 2-step plan.
    await Deno.remove(join(out, "plan.json"));
    await refused(
      "reproduce",
      [...base, "--steps", "2"],
      /bf16-s1\.json was trained with steps 3, but the plan says 2/,
    );
    // Nor is one trained on other data.
    await Deno.writeTextFile(text, "Other words entirely, for another corpus. ".repeat(70));
    await refused(
      "reproduce",
      [...base, "--steps", "3"],
      /was trained with data .* but the plan says/,
    );
    // An unreadable plan.json is named, never replaced.
    await Deno.writeTextFile(join(out, "plan.json"), "{ not json");
    await refused("reproduce", [...base, "--steps", "3"], /plan\.json is not valid JSON/);
    assert.equal(await Deno.readTextFile(join(out, "plan.json")), "{ not json");
    // 17.16
    await refused(
      "reproduce",
      ["fp4", "--quick", "--recipes", "", "--out", join(dir, "e")],
      /--recipes names no recipe/,
    );
    assert.ok(!exists(join(dir, "e", "reproduce-fp4.md")));
  });
});

Deno.test("17.6, 17.9, 17.10 checkpoints: the manifest lists every file and only its own names; config.json is checked against the tensors before allocating", async () => {
  await withTemp("harden6_", async (dir) => {
    const run = join(dir, "run");
    await trainSmoke(run);
    const text = join(dir, "t.txt");
    await Deno.writeTextFile(text, "some text to evaluate on. ".repeat(20));
    const copy = async (name: string) => {
      const to = join(dir, name);
      await Deno.mkdir(to);
      for (const e of Deno.readDirSync(join(run, "fp32"))) {
        if (e.isFile) await Deno.copyFile(join(run, "fp32", e.name), join(to, e.name));
      }
      return to;
    };
    const manifestOf = async (d: string) =>
      JSON.parse(await Deno.readTextFile(join(d, "checkpoint.json")));

    // 17.6: an empty file list plus a flipped byte.
    const empty = await copy("empty");
    const m = await manifestOf(empty);
    await Deno.writeTextFile(join(empty, "checkpoint.json"), JSON.stringify({ ...m, files: {} }));
    const w = await Deno.readFile(join(empty, "model.safetensors"));
    w[w.length - 3] ^= 0x40;
    await Deno.writeFile(join(empty, "model.safetensors"), w);
    await refused(
      "eval",
      ["--checkpoint", empty, "--data", text],
      /does not list model\.safetensors/,
    );

    // 17.9: a manifest naming a path, or a file that is a device.
    const path = await copy("path");
    const pm = await manifestOf(path);
    pm.files["../../../../dev/zero"] = { bytes: 1, sha256: "0".repeat(64) };
    await Deno.writeTextFile(join(path, "checkpoint.json"), JSON.stringify(pm));
    const t0 = Date.now();
    await refused(
      "eval",
      ["--checkpoint", path, "--data", text],
      /lists "\.\.\/\.\.\/\.\.\/\.\.\/dev\/zero", which is not a checkpoint file/,
    );
    const dev = join(dir, "dev");
    await Deno.mkdir(dev);
    await Deno.copyFile(join(run, "fp32", "config.json"), join(dev, "config.json"));
    await Deno.symlink("/dev/zero", join(dev, "model.safetensors"));
    await refused(
      "eval",
      ["--checkpoint", dev, "--data", text],
      /model\.safetensors is not a regular file/,
    );
    const big = await copy("big");
    const bm = await manifestOf(big);
    bm.files["model.safetensors"].bytes = 2 ** 40;
    await Deno.writeTextFile(join(big, "checkpoint.json"), JSON.stringify(bm));
    await refused(
      "eval",
      ["--checkpoint", big, "--data", text],
      /is \d+ bytes, the manifest says 1099511627776/,
    );
    assert.ok(Date.now() - t0 < 30_000, "nothing was read until memory ran out");

    await refused(
      "eval",
      ["--checkpoint", join(run, "fp32"), "--data", "/dev/zero"],
      /--data \/dev\/zero is not a file/,
    );

    // 17.10: config.json fields that would force huge allocations, in a weights-only folder.
    const cfg = JSON.parse(await Deno.readTextFile(join(run, "fp32", "config.json")));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ num_hidden_layers: 2 ** 26 }, /missing tensor model\.layers\.2\./],
      [
        { vocab_size: 1e12 },
        /model\.embed_tokens\.weight has shape \[256,32\], but config\.json says \[1000000000000,32\]/,
      ],
      [{ hidden_size: 2 ** 20 }, /has shape \[256,32\], but config\.json says \[256,1048576\]/],
      [{ max_position_embeddings: 1 }, /max_position_embeddings must be from 2 to 65536, got 1/],
      [{ max_position_embeddings: 2 ** 30 }, /max_position_embeddings must be from 2 to 65536/],
    ];
    for (const [patch, pattern] of cases) {
      const d = join(dir, `cfg-${Object.keys(patch)[0]}-${Object.values(patch)[0]}`);
      await Deno.mkdir(d);
      await Deno.copyFile(join(run, "fp32", "model.safetensors"), join(d, "model.safetensors"));
      await Deno.writeTextFile(join(d, "config.json"), JSON.stringify({ ...cfg, ...patch }));
      const started = Date.now();
      await refused("eval", ["--checkpoint", d, "--data", text], pattern);
      assert.ok(Date.now() - started < 20_000, `${JSON.stringify(patch)} took long`);
    }
  });
});

Deno.test("17.7, 17.19 train: run.json holds the data's SHA-256 and a changed --data is refused on resume; bad data leaves nothing behind", async () => {
  await withTemp("harden7_", async (dir) => {
    const text = join(dir, "corpus.txt");
    await Deno.writeTextFile(text, "The jury said the case was closed, and went home. ".repeat(60));
    const run = join(dir, "run");
    const args = ["--preset", "smoke", "--recipes", "fp32", "--data", text, "--out", run];
    const r = await task("train", [...args, "--steps", "4"]);
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(await Deno.readTextFile(join(run, "run.json")));
    assert.match(saved.data.sha256, /^[0-9a-f]{64}$/);
    await Deno.writeTextFile(text, "Other words entirely, for another corpus. ".repeat(70));
    await refused(
      "train",
      ["--resume", run, "--steps", "6"],
      /the data changed since the run started/,
    );

    // 17.19: a data check that fails leaves no run.json (nor an empty folder) behind.
    const short = join(dir, "short.txt");
    await Deno.writeTextFile(short, "abc");
    const out = join(dir, "nothing");
    await refused(
      "train",
      ["--preset", "smoke", "--data", short, "--out", out],
      /fewer than one batch/,
    );
    assert.ok(!exists(out), "nothing left in --out");
    const binary = join(dir, "data.bin");
    await Deno.writeFile(binary, new Uint8Array(4000).map((_, i) => (i * 37) % 256));
    await refused(
      "train",
      ["--preset", "smoke", "--data", binary, "--out", out],
      /not UTF-8 text \(byte 0x00 at offset 0: a binary file\)/,
    );
    const latin1 = join(dir, "latin1.txt");
    await Deno.writeFile(latin1, new Uint8Array(4000).map((_, i) => (i % 50 === 7 ? 0xe9 : 97)));
    await refused(
      "train",
      ["--preset", "smoke", "--data", latin1, "--out", out],
      /not UTF-8 text \(byte 0xe9 at offset 7\)/,
    );
    assert.ok(!exists(out));
  });
});

Deno.test("17.8, 17.15 plan: answers outside the law's range are refused by name, never printed or failed inside", async () => {
  await refused(
    "plan",
    ["budget", "--compute", "1e5"],
    /at 1\.00e5 FLOPs the law's optimum .* is outside its meaningful range \(N < 1 parameter\)/,
  );
  await refused(
    "plan",
    ["budget", "--compute", "1e10", "--params", "1e12"],
    /P = 0\.0467 bits.*\(P < 1 bit, D < 1 token\)/,
  );
  await refused("plan", ["budget", "--compute", "1"], /at 1\.00e0 FLOPs the law's optimum/);
  await refused("plan", ["tradeoff", "--compute", "1e300"], /the law's arithmetic overflows/);
  const ok = await task("plan", ["budget", "--compute", "1e24", "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const answer = JSON.parse(ok.stdout);
  assert.ok((Array.isArray(answer) ? answer[0] : answer).precision > 1);
});

Deno.test("17.12 output paths at a file, below a file or unwritable: exit 2 naming the path", async () => {
  await withTemp("harden12_", async (dir) => {
    const file = join(dir, "file");
    await Deno.writeTextFile(file, "x");
    await refused(
      "train",
      [...SMOKE, "--out", file],
      new RegExp(`--out ${file} is a file, not a folder`),
    );
    await refused(
      "train",
      [...SMOKE, "--out", join(file, "run")],
      new RegExp(`is below the file ${file}`),
    );
    await refused(
      "reproduce",
      ["fp4", "--quick", "--out", file],
      /--out .* is a file, not a folder/,
    );
    await refused(
      "plan",
      ["budget", "--compute", "1e24", "--svg", dir],
      /--svg .* is a folder, not a file/,
    );
    await refused(
      "plan",
      ["budget", "--compute", "1e24", "--svg", join(file, "a.svg")],
      /--svg .*a\.svg: .*file is a file, not a folder/,
    );
    await refused(
      "plan",
      ["fit", "--runs", file, "--save-constants", join(file, "c.json")],
      /--save-constants .*c\.json: .*is a file/,
    );
    if (Deno.uid() !== 0) {
      const locked = join(dir, "locked");
      await Deno.mkdir(locked, { mode: 0o555 });
      await refused(
        "train",
        [...SMOKE, "--out", join(locked, "run")],
        /cannot write in .*locked \(permission denied\)/,
      );
      await refused(
        "plan",
        ["budget", "--compute", "1e24", "--svg", join(locked, "a.svg")],
        /permission denied/,
      );
    }
  });
});

Deno.test({
  name: "17.13 a full disk: one line naming the file and the intact checkpoint, exit 1",
  // Needs a small file system: a tmpfs in a user namespace (Linux with unshare).
  ignore: Deno.build.os !== "linux" ||
    !new Deno.Command("unshare", { args: ["-rm", "true"], stderr: "null" }).outputSync().success,
  async fn() {
    await withTemp("harden13_", async (dir) => {
      const mnt = join(dir, "mnt");
      await Deno.mkdir(mnt);
      // Each checkpoint of the smoke fp32 run is ~0.6 MB and there are three copies at most (two
      // step folders and the recipe folder's): 1.6 MB holds the first saves, not the later ones.
      const script = [
        `mount -t tmpfs -o size=1600k tmpfs ${mnt}`,
        `cd ${ROOT}`,
        `"${Deno.execPath()}" run -A apps/trainer/main.ts ${
          SMOKE.join(" ")
        } --steps 40 --save-every 1 --out ${mnt}/run 2> ${dir}/train.err; echo $? > ${dir}/train.rc`,
        `ckpt=$(grep -o "${mnt}/run/fp32/step-[0-9]*" ${dir}/train.err | head -1)`,
        `echo "$ckpt" > ${dir}/ckpt`,
        `printf 'some text to evaluate on. %.0s' $(seq 20) > ${dir}/t.txt`,
        `"${Deno.execPath()}" run -A apps/trainer/eval.ts --checkpoint "$ckpt" --data ${dir}/t.txt --json > ${dir}/eval.out 2>&1; echo $? > ${dir}/eval.rc`,
      ].join("\n");
      const r = await new Deno.Command("unshare", { args: ["-rm", "sh", "-c", script] }).output();
      assert.ok(r.success, dec.decode(r.stderr));
      // The trainer's own lines (progress bars aside).
      const err = cliLines(await Deno.readTextFile(join(dir, "train.err")))
        .filter((l) => !/^\S+\s+\[/.test(l));
      assert.equal((await Deno.readTextFile(join(dir, "train.rc"))).trim(), "1", err.join("\n"));
      assert.equal(err.length, 1, err.join("\n"));
      assert.match(
        err[0],
        /^train: no space left on device writing .*; the last checkpoint \(.*step-0000\d\d\) is intact$/,
      );
      assert.equal(
        (await Deno.readTextFile(join(dir, "eval.rc"))).trim(),
        "0",
        await Deno.readTextFile(join(dir, "eval.out")),
      );
      assert.ok(Number.isFinite(JSON.parse(await Deno.readTextFile(join(dir, "eval.out"))).loss));
    });
  },
});

Deno.test("17.14 negative numbers: every app says what is wrong with the value", async () => {
  await withTemp("harden14_", async (dir) => {
    await refused("train", ["--steps", "-5"], /--steps must be a positive integer, got -5/);
    await refused("train", ["--lr", "-1"], /--lr must be a positive number, got -1/);
    await refused("train", ["--batch", "-1"], /--batch must be a positive integer, got -1/);
    await refused(
      "reproduce",
      ["fp4", "--budget-minutes", "-1"],
      /--budget-minutes must be a positive number, got -1/,
    );
    await refused(
      "sample",
      ["--checkpoint", dir, "--tokens", "-1"],
      /--tokens must be a non-negative integer, got -1/,
    );
    await refused(
      "sample",
      ["--checkpoint", dir, "--temperature", "-0.5"],
      /--temperature must be a non-negative number, got -0\.5/,
    );
    await refused("plan", ["budget", "--compute", "-5"], /--compute must be a positive number/);
    // Negative seeds: accepted alike by train and sample, refused alike out of range.
    await refused("train", ["--seed", "-1", "--steps", "-2"], /--steps must be/);
    await refused(
      "train",
      ["--seed", "99999999999"],
      /--seed must be an integer from -2147483648 to 2147483647/,
    );
    await refused(
      "sample",
      ["--checkpoint", dir, "--seed", "99999999999"],
      /--seed must be an integer from -2147483648 to 2147483647/,
    );
    const run = join(dir, "run");
    await trainSmoke(run, ["--seed", "-1"]);
    const s = await task("sample", [
      "--checkpoint",
      join(run, "fp32"),
      "--seed",
      "-1",
      "--tokens",
      "5",
    ]);
    assert.equal(s.code, 0, s.stderr);
  });
});

Deno.test("17.17, 17.18 resume: run.json and trainer_state problems are one line naming the file; stale temporary files are cleared", async () => {
  await withTemp("harden17_", async (dir) => {
    const run = join(dir, "run");
    await trainSmoke(run);
    const runJson = join(run, "run.json");
    const good = await Deno.readTextFile(runJson);
    await Deno.writeTextFile(runJson, "{ garbage");
    await refused("train", ["--resume", run], /run\.json is not valid JSON/);
    const parsed = JSON.parse(good);
    await Deno.writeTextFile(runJson, JSON.stringify({ ...parsed, args: ["--steps", "abc"] }));
    await refused(
      "train",
      ["--resume", run],
      /run\.json: --steps must be a positive integer, got abc/,
    );
    await Deno.writeTextFile(runJson, good);
    // A null setting in a step folder's trainer_state.json (manifest updated to match).
    const step = join(run, "fp32", "step-000004");
    const statePath = join(step, "trainer_state.json");
    const state = JSON.parse(await Deno.readTextFile(statePath));
    state.settings.preset = null;
    const bytes = new TextEncoder().encode(JSON.stringify(state));
    await Deno.writeFile(statePath, bytes);
    const manifest = JSON.parse(await Deno.readTextFile(join(step, "checkpoint.json")));
    const hash = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    manifest.files["trainer_state.json"] = { bytes: bytes.length, sha256: hash };
    await Deno.writeTextFile(join(step, "checkpoint.json"), JSON.stringify(manifest));
    await refused(
      "train",
      ["--resume", run],
      /trainer_state\.json: settings\.preset must be a string, got null/,
    );

    // 17.18: what killed saves left is cleared by the next save.
    const run2 = join(dir, "run2");
    await trainSmoke(run2);
    const stale = [
      join(run2, "fp32", "model.safetensors.tmp-99999"),
      join(run2, "fp32", "checkpoint.json.tmp-4242"),
    ];
    for (const p of stale) await Deno.writeTextFile(p, "partial");
    await Deno.mkdir(join(run2, "fp32", ".tmp-step-000006-99999"));
    const r = await task("train", ["--resume", run2, "--steps", "6"]);
    assert.equal(r.code, 0, r.stderr);
    for (const p of stale) assert.ok(!exists(p), `${p} was left`);
    assert.ok(!exists(join(run2, "fp32", ".tmp-step-000006-99999")));
  });
});
