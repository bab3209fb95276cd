/**
 * `deno task train`: trains the chosen recipes one after the other on the same data, seeds and
 * batches, prints a summary table and writes the run folder. Exit 0 done, 2 bad input (one
 * line), 1 training fault or internal error.
 *
 * @module
 */
import { basename } from "node:path";
import { HELP, parsePlan, type Plan, UsageError } from "./cli.ts";
import { DataError, type Dataset, loadBrown, loadTextFile, markovSource } from "./data.ts";
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

async function loadData(plan: Plan): Promise<Dataset> {
  if (plan.data === "brown") return await loadBrown();
  if (plan.data === "markov") return markovSource(2_000_000, { seed: plan.seed });
  return await loadTextFile(plan.data);
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
    const data = await loadData(plan);
    if (!plan.resume) writeRunFile(plan, args);
    const results: RecipeResult[] = [];
    for (const recipe of plan.recipes) {
      const { skipped, ...hooks } = checkpointHooks(plan, recipe);
      for (const m of skipped) console.error(`train: skipped a bad checkpoint: ${m}`);
      const progress = createProgress(recipe.name.padEnd(10), plan.steps, true);
      results.push(
        await trainRecipe(recipe, data, {
          config: plan.config,
          steps: plan.steps,
          batch: plan.batch,
          ranks: plan.ranks,
          lr: plan.lr,
          seed: plan.seed,
          evalPoints: 4,
          valWindows: 48,
          ...hooks,
        }, progress.update),
      );
      progress.done();
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
          trainBytes: data.train.length,
          valBytes: data.val.length,
          entropyRate: data.entropyRate,
        },
        seconds: (performance.now() - t0) / 1000,
      },
      plan.recipes,
      results,
    );
    if (plan.json) {
      console.log(JSON.stringify({ run: plan.out, ...report }));
    } else {
      console.log(markdownTable(summarize(results)));
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
