/**
 * `deno task train`: trains the chosen recipes one after the other on the same data, seeds and
 * batches, prints a summary table and writes the run folder. Exit 0 done, 2 bad input (one
 * line), 1 training fault or internal error.
 *
 * @module
 */
import { basename, join } from "node:path";
import { HELP, parsePlan, type Plan, UsageError } from "./cli.ts";
import {
  DataError,
  type Dataset,
  loadBrown,
  loadTextFile,
  markovSource,
  validationBatches,
} from "./data.ts";
import {
  datasetTokenizer,
  isPreparedDataset,
  loadValidationSet,
  openDataset,
  type PreparedDataset,
} from "./dataset.ts";
import { byteTokenizer, type TextTokenizer, tokenizerFiles } from "./tokenizer.ts";
import { validationStatistics } from "./val_stats.ts";
import { createProgress } from "./progress.ts";
import { markdownTable, summarize, writeReport } from "./report.ts";
import { type RecipeResult, TrainingFault, trainRecipe } from "./train.ts";
import { CheckpointError } from "./checkpoint.ts";
import { checkpointHooks, resumePlan, writeRunFile } from "./resume.ts";

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

/** The plan's data (and its tokenizer), with `--val-data` in place of its validation split. */
async function loadData(plan: Plan): Promise<{ data: Dataset; tokenizer: TextTokenizer }> {
  let data: Dataset, tokenizer: TextTokenizer;
  if (plan.data !== "brown" && plan.data !== "markov" && isPreparedDataset(plan.data)) {
    const prepared = openDataset(plan.data);
    data = prepared;
    tokenizer = await datasetTokenizer(plan.data, prepared.manifest);
  } else {
    data = plan.data === "brown"
      ? await loadBrown()
      : plan.data === "markov"
      ? markovSource(2_000_000, { seed: plan.seed })
      : await loadTextFile(plan.data);
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
  for (const [name, text] of Object.entries(files)) {
    Deno.writeTextFileSync(join(dir, `${name}.tmp`), text);
    Deno.renameSync(join(dir, `${name}.tmp`), join(dir, name));
  }
}

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
  try {
    plan = parsePlan(args);
    if (plan.resume && !plan.help) plan = resumePlan(plan, args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`train: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (plan.help) {
    console.log(HELP);
    return 0;
  }
  const t0 = performance.now();
  try {
    const { data, tokenizer } = await loadData(plan);
    // The model's vocabulary follows the data's tokenizer (presets are byte-level).
    const vocabSize = data.vocabSize ?? 256;
    if (vocabSize !== plan.config.vocabSize) {
      plan = { ...plan, config: { ...plan.config, vocabSize } };
    }
    if (!plan.resume) writeRunFile(plan, args);
    const results: RecipeResult[] = [];
    const standardErrors: number[] = [];
    const T = plan.config.contextLength;
    let valWindowCount = 0;
    for (const recipe of plan.recipes) {
      await writeTokenizerFiles(join(plan.out, recipe.name), tokenizer, T);
      const { skipped, ...hooks } = checkpointHooks(plan, recipe);
      for (const m of skipped) console.error(`train: skipped a bad checkpoint: ${m}`);
      const progress = createProgress(recipe.name.padEnd(10), plan.steps, true);
      const result = trainRecipe(recipe, data, {
        config: plan.config,
        steps: plan.steps,
        batch: plan.batch,
        ranks: plan.ranks,
        lr: plan.lr,
        seed: plan.seed,
        evalPoints: 4,
        valWindows: plan.valWindows,
        ...hooks,
      }, progress.update);
      results.push(result);
      progress.done();
      // The final validation loss again, window by window, for its standard error.
      const perRank = plan.batch / plan.ranks;
      const valSets = validationBatches(data.val, perRank, T, plan.valWindows);
      const stats = validationStatistics(plan.config, recipe, result.params, valSets);
      standardErrors.push(stats.standardError);
      valWindowCount = stats.windows;
    }
    const report = await writeReport(
      plan.out,
      {
        name: basename(plan.out),
        command: ["deno task train", ...args].join(" "),
        machine: cpuModel(),
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
      console.log(markdownTable(summarize(results, data.valBytesPerToken ?? 1, standardErrors)));
      console.log(`\nwrote ${plan.out}/ (metrics.csv, report.json, report.md, loss.svg)`);
    }
    return 0;
  } catch (e) {
    if (e instanceof DataError || e instanceof CheckpointError) {
      console.error(`train: ${e.message}`);
      return 2;
    }
    if (e instanceof TrainingFault) {
      console.error(`train: ${e.message}`);
      return 1;
    }
    console.error(`train: internal error: ${e instanceof Error ? e.stack : e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
