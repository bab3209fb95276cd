/**
 * `deno task train`: trains the chosen recipes one after the other on the same data, seeds and
 * batches, prints an aligned summary table with units (the Markdown one goes to report.md) and
 * writes the run folder. Exit 0 done, 2 bad input (one line), 1 training fault or internal error.
 *
 * @module
 */
import { basename, join } from "node:path";
import { failureStatus, HELP, parsePlan, type Plan, UsageError } from "./cli.ts";
import {
  checkDataset,
  DataError,
  type Dataset,
  loadBrown,
  loadTextFile,
  markovSource,
} from "./data.ts";
import {
  datasetTokenizer,
  isPreparedDataset,
  loadValidationSet,
  openDataset,
  type PreparedDataset,
} from "./dataset.ts";
import { byteTokenizer, type TextTokenizer, tokenizerFiles } from "./tokenizer.ts";
import { lossStatistics } from "./data.ts";
import { createProgress } from "./progress.ts";
import { summarize, terminalTable, writeReport } from "./report.ts";
import { type RecipeResult, TrainingFault, trainRecipe } from "./train.ts";
import { CheckpointError, clearStaleTemporaries, stepName } from "./checkpoint.ts";
import {
  checkpointHooks,
  checkResumeData,
  dataFingerprint,
  readRunFile,
  resumePlan,
  RUN_FILE,
  writeRunFile,
} from "./resume.ts";
import { LOCK_FILE, lockRun } from "./lock.ts";
import { checkTrainingMemory } from "./memory.ts";
import { firstNonText } from "./utf8.ts";
import { checkOutputDir, OutputError, writeFileAtomic } from "../_shared/files.ts";
import { type Backend, createWebGpuBackend, GpuDeviceLost } from "@fp4lab/train";

// The backend of `--device`: undefined for cpu (each recipe gets the default cpu backend).
async function openBackend(plan: Plan): Promise<Backend | undefined> {
  if (plan.device === "cpu") return undefined;
  if (plan.device === "auto") {
    const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
    if (!adapter) return undefined;
  }
  try {
    return await createWebGpuBackend();
  } catch (e) {
    throw new UsageError(`--device ${plan.device}: ${(e as Error).message}`);
  }
}

function cpuModel(): string {
  try {
    const line = Deno.readTextFileSync("/proc/cpuinfo").split("\n").find((l) =>
      l.startsWith("model name")
    );
    if (line) return `${line.split(":")[1].trim()}, ${navigator.hardwareConcurrency} threads`;
  } catch {
    // not Linux
  }
  return `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} threads`;
}

async function loadText(plan: Plan): Promise<Dataset> {
  if (plan.data === "brown") return await loadBrown();
  if (plan.data === "markov") return markovSource(2_000_000, { seed: plan.seed });
  let info: Deno.FileInfo | null = null;
  try {
    info = Deno.statSync(plan.data);
  } catch {
    // loadTextFile names the problem
  }
  if (info && !info.isFile) {
    // A device such as /dev/zero would be read until memory runs out.
    throw new DataError(`--data ${plan.data} is not a file or a prepared data folder`);
  }
  const data = await loadTextFile(plan.data);
  // The docs promise UTF-8 text; a binary file or another encoding is refused, not trained on.
  const whole = new Uint8Array(data.train.length + data.val.length);
  whole.set(data.train);
  whole.set(data.val, data.train.length);
  const bad = firstNonText(whole);
  if (bad >= 0) {
    throw new DataError(
      `--data ${plan.data}: not UTF-8 text (byte 0x${
        whole[bad].toString(16).padStart(2, "0")
      } at offset ${bad}${whole[bad] === 0 ? ": a binary file" : ""}); give a UTF-8 text file`,
    );
  }
  return data;
}

/** The plan's data (and its tokenizer), with `--val-data` in place of its validation split. */
async function loadData(plan: Plan): Promise<{ data: Dataset; tokenizer: TextTokenizer }> {
  let data: Dataset, tokenizer: TextTokenizer;
  if (plan.data !== "brown" && plan.data !== "markov" && isPreparedDataset(plan.data)) {
    const prepared = openDataset(plan.data);
    data = prepared;
    tokenizer = await datasetTokenizer(plan.data, prepared.manifest);
  } else {
    data = await loadText(plan);
    tokenizer = byteTokenizer();
  }
  if (plan.valData !== null) {
    const v = await loadValidationSet(plan.valData, tokenizer);
    data = {
      ...data,
      source: `${data.source}; validation: ${v.source}`,
      val: v.tokens,
      valBytesPerToken: v.bytesPerToken,
    };
  }
  return { data, tokenizer };
}

/** Writes the Hugging Face tokenizer files of a BPE tokenizer into a recipe's folder. */
async function writeTokenizerFiles(dir: string, tok: TextTokenizer, contextLength: number) {
  const files = await tokenizerFiles(tok, contextLength);
  if (!files) return;
  Deno.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileAtomic(join(dir, name), text);
}

/** A new run's `--out`: a folder that does not exist yet, or an empty one. */
function refuseExistingRun(out: string): void {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(out)) if (e.name !== LOCK_FILE) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (names.includes(RUN_FILE)) {
    throw new UsageError(`${out} already holds a run; use --resume ${out} or another --out`);
  }
  if (names.length > 0) {
    throw new UsageError(
      `--out ${out} is not empty and holds no run (${names.slice(0, 3).join(", ")}${
        names.length > 3 ? ", …" : ""
      }); give a new or empty folder`,
    );
  }
}

function isEmptyDir(path: string): boolean {
  try {
    for (const _ of Deno.readDirSync(path)) return false;
    return true;
  } catch {
    return false;
  }
}

function removeIfEmpty(path: string): void {
  if (!isEmptyDir(path)) return;
  try {
    Deno.removeSync(path);
  } catch {
    // someone else's now
  }
}

const isBadInput = (e: unknown) => e instanceof DataError || e instanceof CheckpointError;

/**
 * Runs the CLI.
 *
 * @param args command-line arguments
 * @returns the exit status
 * @example
 * ```ts ignore
 * Deno.exit(await main(Deno.args));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let plan: Plan;
  let release = () => {};
  let created = false;
  try {
    plan = parsePlan(args);
    if (plan.help) {
      console.log(HELP);
      return 0;
    }
    if (plan.resume) {
      let info: Deno.FileInfo | null = null;
      try {
        info = Deno.statSync(plan.resume);
      } catch {
        // reported below
      }
      if (!info?.isDirectory) {
        throw new UsageError(`--resume ${plan.resume}: not a training run folder`);
      }
      release = lockRun(plan.resume);
      plan = resumePlan(plan, args);
      // What a killed trainer left in the run folder (run.json.tmp-<pid>, a report's temp file).
      clearStaleTemporaries(plan.out);
    } else {
      checkOutputDir("--out", plan.out);
      try {
        Deno.statSync(plan.out);
      } catch {
        created = true;
      }
      release = lockRun(plan.out);
      refuseExistingRun(plan.out);
    }
    const bytes = checkTrainingMemory(plan);
    if (bytes > 2e9) {
      console.error(`train: this run will take about ${(bytes / 1e9).toFixed(1)} GB of memory`);
    }
  } catch (e) {
    release();
    if (created) removeIfEmpty(plan!.out);
    return failureStatus("train", e, isBadInput);
  }
  const t0 = performance.now();
  let training: { recipe: string; dir: string; lastSaved: () => number | null } | null = null;
  let backend: Backend | undefined;
  try {
    backend = await openBackend(plan);
    const { data, tokenizer } = await loadData(plan);
    // The model's vocabulary follows the data's tokenizer (presets are byte-level).
    const vocabSize = data.vocabSize ?? 256;
    if (vocabSize !== plan.config.vocabSize) {
      plan = { ...plan, config: { ...plan.config, vocabSize } };
    }
    // Every check that can refuse the data runs before the run folder records anything.
    checkDataset(data, plan.batch, plan.config.contextLength);
    const fingerprint = dataFingerprint(data);
    if (plan.resume) {
      const run = readRunFile(plan.out);
      checkResumeData(plan.out, run, fingerprint);
      const before = run.steps ?? plan.scheduleSteps;
      if (plan.steps > before) {
        console.error(
          `train: extending ${plan.out} from ${before} to ${plan.steps} steps: the learning-rate schedule stays laid out over ${plan.scheduleSteps} steps, so the added steps run at its final rate ${
            plan.lr * 0.1
          } (10% of the peak)`,
        );
        writeRunFile(plan, run.args, run.data ?? fingerprint);
      }
    } else {
      writeRunFile(plan, args, fingerprint);
    }
    const results: RecipeResult[] = [];
    const standardErrors: number[] = [];
    const T = plan.config.contextLength;
    let valWindowCount = 0;
    for (const recipe of plan.recipes) {
      await writeTokenizerFiles(join(plan.out, recipe.name), tokenizer, T);
      const { skipped, lastSaved, ...hooks } = checkpointHooks(plan, recipe);
      training = { recipe: recipe.name, dir: join(plan.out, recipe.name), lastSaved };
      for (const m of skipped) console.error(`train: skipped a bad checkpoint: ${m}`);
      const progress = createProgress(recipe.name.padEnd(10), plan.steps, true);
      results.push(
        await trainRecipe(recipe, data, {
          config: plan.config,
          steps: plan.steps,
          scheduleSteps: plan.scheduleSteps,
          batch: plan.batch,
          ranks: plan.ranks,
          lr: plan.lr,
          seed: plan.seed,
          evalPoints: 4,
          valWindows: plan.valWindows,
          backend,
          ...hooks,
        }, progress.update),
      );
      progress.done();
      const last = results[results.length - 1];
      // The standard error of the final validation loss, from its per-window losses.
      standardErrors.push(lossStatistics(last.valPerSequence).standardError);
      valWindowCount = last.valPerSequence.length;
      // The recipe folder holds the final weights only if the last step's checkpoint was saved.
      if (lastSaved() !== plan.steps) {
        throw new TrainingFault(
          `the weights of ${recipe.name} after step ${plan.steps} are not finite; the last checkpoint (${
            lastSaved() === null ? "none" : `step ${lastSaved()}`
          }) is kept`,
        );
      }
    }
    training = null;
    const report = await writeReport(
      plan.out,
      {
        name: basename(plan.out),
        command: ["deno task train", ...args].join(" "),
        machine: backend ? `${cpuModel()}; ${backend.device}` : cpuModel(),
        config: plan.config,
        settings: {
          steps: plan.steps,
          batch: plan.batch,
          ranks: plan.ranks,
          lr: plan.lr,
          seed: plan.seed,
        },
        data: {
          source: data.source,
          tokenizer: tokenizer.name,
          vocabSize: plan.config.vocabSize,
          trainBytes: "manifest" in data
            ? (data as PreparedDataset).manifest.train.textBytes
            : data.train.length,
          valBytes: Math.round(data.val.length * (data.valBytesPerToken ?? 1)),
          trainTokens: data.train.length,
          valTokens: data.val.length,
          valBytesPerToken: data.valBytesPerToken ?? 1,
          valWindows: valWindowCount,
          entropyRate: data.entropyRate,
        },
        seconds: (performance.now() - t0) / 1000,
      },
      plan.recipes,
      results,
      standardErrors,
    );
    if (plan.json) {
      console.log(JSON.stringify({ run: plan.out, ...report }));
    } else {
      console.log(terminalTable(summarize(results, data.valBytesPerToken ?? 1, standardErrors)));
      console.log(
        "final train loss: mean over the last 10% of steps; gap: validation loss minus bf16's",
      );
      console.log(
        `\nwrote ${plan.out}/ (report.md, report.json, metrics.csv, events.jsonl, loss.svg, loss.vl.json)`,
      );
    }
    return 0;
  } catch (e) {
    if (e instanceof OutputError) {
      const saved = training?.lastSaved() ?? null;
      const kept = training === null
        ? "the checkpoints are intact"
        : saved === null
        ? `no checkpoint of ${training.recipe} was saved yet`
        : `the last checkpoint (${join(training.dir, stepName(saved))}) is intact`;
      console.error(`train: ${e.message}; ${kept}`);
      return 1;
    }
    if (e instanceof GpuDeviceLost) {
      console.error(`train: ${e.message}; the run stopped, its last checkpoint is in ${plan.out}`);
      return 1;
    }
    if (e instanceof TrainingFault) {
      console.error(`train: ${e.message}`);
      return 1;
    }
    return failureStatus("train", e, isBadInput);
  } finally {
    backend?.dispose();
    release();
    // A new run refused before it recorded anything leaves no empty folder behind.
    if (created) removeIfEmpty(plan.out);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
