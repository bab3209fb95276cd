/**
 * Memory of the data pipeline on a large corpus (issue 19: "a 1 GB synthetic corpus streams
 * with resident memory under 200 MB"). Writes a synthetic English-like corpus of `--gb` GB
 * (64 .txt files of seeded random words and sentences), runs `prepare-data` on it and then a
 * short `train --data DIR` on the shards, each as its own process, sampling the process's
 * resident set (VmRSS in /proc, every 50 ms) and reading its peak (VmHWM) at the end. Prints
 * prepare-data's throughput and both peaks, and exits 1 when a peak reaches `--limit-mb`.
 *
 * Not part of `deno task test` (minutes, and gigabytes of disk). Run:
 * `deno run -A benchmarks/data_stream_memory.ts [--gb 1] [--tokenizer byte|gpt2] [--keep DIR]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";

const WORDS = ("the of and to a in that is was he for it with as his on be at by i this had not " +
  "are but from or have an they which one you were her all she there would their we him been " +
  "has when who will more no if out so said what up its about into than them can only other " +
  "new some could time these two may then do first any my now such like our over man me even " +
  "most made after also did many before must through back years where much your way well down " +
  "should because each just those people state jury county city election court market river " +
  "music church school family government president program night water house world").split(" ");

/** Writes `bytes` of seeded pseudo-English across `files` files; returns the glob. */
function writeCorpus(dir: string, bytes: number, files: number): string {
  let s = 0x9e3779b9;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const enc = new TextEncoder();
  const per = Math.ceil(bytes / files);
  for (let f = 0; f < files; f++) {
    const file = Deno.openSync(join(dir, `part-${String(f).padStart(3, "0")}.txt`), {
      write: true,
      create: true,
      truncate: true,
    });
    let written = 0;
    while (written < per) {
      const lines: string[] = [];
      for (let l = 0; l < 2000; l++) {
        const n = 5 + Math.floor(rand() * 20);
        const words = Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]);
        words[0] = words[0][0].toUpperCase() + words[0].slice(1);
        lines.push(words.join(" ") + (rand() < 0.2 ? ".\n\n" : ". "));
      }
      const chunk = enc.encode(lines.join(""));
      const take = chunk.subarray(0, Math.min(chunk.length, per - written));
      let done = 0;
      while (done < take.length) done += file.writeSync(take.subarray(done));
      written += take.length;
    }
    file.close();
  }
  return join(dir, "*.txt");
}

function status(pid: number, field: string): number | null {
  try {
    const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n").find((l) =>
      l.startsWith(field + ":")
    );
    return line ? Number(line.split(/\s+/)[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs `deno run -A <args>` and returns its wall time and peak resident set. */
async function measured(args: string[]): Promise<{ seconds: number; peakBytes: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  let peak = 0, running = true;
  const poll = (async () => {
    while (running) {
      // VmHWM is the kernel's own high-water mark of the resident set.
      const hwm = status(child.pid, "VmHWM") ?? status(child.pid, "VmRSS");
      if (hwm !== null) peak = Math.max(peak, hwm);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const st = await child.status;
  running = false;
  await poll;
  if (!st.success) throw new Error(`deno run ${args.join(" ")} exited ${st.code}`);
  return { seconds: (performance.now() - t0) / 1000, peakBytes: peak };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      gb: { type: "string", default: "1" },
      tokenizer: { type: "string", default: "byte" },
      "limit-mb": { type: "string", default: "200" },
      keep: { type: "string" },
    },
  });
  const bytes = Math.round(Number(values.gb) * 1e9);
  const limit = Number(values["limit-mb"]) * 1e6;
  const root = new URL("..", import.meta.url).pathname;
  const dir = values.keep ?? Deno.makeTempDirSync({ prefix: "fp4lab_stream_" });
  Deno.mkdirSync(join(dir, "corpus"), { recursive: true });
  try {
    console.error(`writing ${(bytes / 1e9).toFixed(2)} GB of synthetic text to ${dir}/corpus`);
    const glob = writeCorpus(join(dir, "corpus"), bytes, 64);
    const out = join(dir, "data");
    const prep = await measured([
      join(root, "apps/trainer/prepare_data.ts"),
      "--input",
      glob,
      "--tokenizer",
      values.tokenizer,
      "--out",
      out,
      "--val-fraction",
      "0.05",
      "--force",
    ]);
    const train = await measured([
      join(root, "apps/trainer/main.ts"),
      "--data",
      out,
      "--preset",
      "smoke",
      "--recipes",
      "fp32",
      "--steps",
      "50",
      "--val-windows",
      "256",
      "--out",
      join(dir, "run"),
    ]);
    const result = {
      corpusBytes: bytes,
      tokenizer: values.tokenizer,
      prepareSeconds: prep.seconds,
      prepareMBPerSecond: bytes / 1e6 / prep.seconds,
      preparePeakRssMB: prep.peakBytes / 1e6,
      trainPeakRssMB: train.peakBytes / 1e6,
      limitMB: limit / 1e6,
    };
    console.log(JSON.stringify(result, null, 2));
    if (prep.peakBytes >= limit || train.peakBytes >= limit) {
      console.error(`peak resident memory reached the ${limit / 1e6} MB limit`);
      Deno.exit(1);
    }
  } finally {
    if (values.keep === undefined) Deno.removeSync(dir, { recursive: true });
  }
}
