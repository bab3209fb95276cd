/**
 * `deno task reproduce fp4|scaling-law`: run (or resume) a reproduction sweep and regenerate its
 * page under `docs/`. Exit 0 done, 2 bad input (one line on stderr), 1 internal failure.
 *
 * @module
 */
import { join } from "node:path";
import {
  failureStatus,
  parseFlags,
  positiveIntFlag,
  positiveNumberFlag,
  UsageError,
} from "../../_shared/cli.ts";
import { checkOutputDir, OutputError } from "../../_shared/files.ts";
import { dataFingerprint } from "../resume.ts";
import { DataError, type Dataset, loadBrown, loadTextFile } from "../data.ts";
import { presetByName, PRESETS, setThreads } from "@fp4lab/train";
import { machineLine, readPlan, writePlan } from "./common.ts";
import { fp4Variants } from "./variants.ts";
import { fp4Estimate, type Fp4Plan, fp4Plan, fp4Specs, planLrs, writeFp4Report } from "./fp4.ts";
import {
  scalingEstimate,
  type ScalingPlan,
  scalingPlan,
  scalingSpecs,
  writeScalingReport,
} from "./scaling.ts";
import { readResult, type RunResult, type RunSpec, runSweep } from "./sweep.ts";
import { parseShard, type Shard, shardOf } from "./shard.ts";
import {
  outliersEstimate,
  type OutliersPlan,
  outliersPlan,
  outliersSpecs,
  writeOutliersReport,
} from "./outliers.ts";

/** The `--help` text. */
export const HELP = `deno task reproduce <fp4|scaling-law|outliers> [flags]

  fp4          the FP4 paper's ablations (bf16, bf16-f32, fp8, fp4, fp4-paper-exact, fp4-direct;
               W4A8 direct vs DGE k = 3, 5, 10; W8A4 direct vs OCC a = 0.999, 0.99, 0.97;
               per-tensor vs per-channel/token; mxfp4, nvfp4) over 3 seeds and a learning-rate
               grid, each recipe compared at its own best rate -> docs/reproduce-fp4.md
  outliers     direct FP4 casting against OCC with activation outliers: injected through frozen
               RMSNorm gain channels (gains 1-48 on tiny) and natural ones (the small preset)
               -> docs/reproduce-outliers.md
  scaling-law  tiny models over N (4 sizes) x D (4 lengths) x ExMy (6 formats) x B (3 blocks),
               the runs CSV for plan fit, the fitted law -> docs/reproduce-scaling-law.md

  --quick             smoke-sized version in seconds (report to the run folder, not docs/)
  --budget-minutes M  choose the step counts so the sweep fits M minutes (times steps first)
  --steps N           fixed step count (fp4) / base step count (scaling-law)
  --preset NAME       fp4 only: ${Object.keys(PRESETS).join(" | ")} (default tiny)
  --seeds N           fp4 and outliers: seeds per recipe (default 3; 2 for outliers)
  --recipes LIST      fp4 only: a comma-separated subset of the recipes (default all)
  --lr-grid LIST      fp4 only: learning rates every recipe runs at, e.g. 1e-3,2e-3,3e-3,4.5e-3
                      (default 1e-3,2e-3,4e-3; 5e-4,1e-3,2e-3 for small; 3e-3 with --quick)
  --ranks N           fp4 only: data-parallel ranks of the fp4 rows, whose gradients meet through
                      the FP8 all-reduce (default 4; 1 with --quick; must divide the batch)
  --shard i/n         run only every n-th run starting at i (0 <= i < n), for a job array; the
                      page is written by the shard that finds every result in --out present
  --plan-only         save the plan to <out>/plan.json and stop (before sharding a budgeted plan)
  --data SRC          brown (default) or a UTF-8 text file
  --out DIR           sweep folder (default runs/reproduce-<what>[-quick]); one result file per
                      run: calling again with the same --out resumes, finished runs are not redone
  --docs DIR          where the page goes (default docs; with --quick the sweep folder)
  --report-only       rewrite the page from the finished runs without training (the page
                      names the commands logged in <out>/commands.log that trained them)
  --threads N         GEMM worker threads (default 1: the runs are small)
  --json              print the summary as JSON on stdout
  --help              this text

A resumed sweep keeps the grid of plan.json in its folder (delete the folder to start over).
Sharding over machines: docs/reproduce-at-scale.md (SLURM job array, Kubernetes Indexed Job).
Exit status: 0 done, 2 bad flags or data (one line on stderr), 1 internal error.`;

// The pages are committed, so they go through `deno fmt` like every file of the repository
// (tables aligned, SVG indented); a failure to format is reported, not fatal.
async function formatDocs(docs: string, name: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", join(docs, `${name}.md`), join(docs, name)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    console.error(
      `reproduce: deno fmt of ${docs}/${name}* failed: ${new TextDecoder().decode(out.stderr)}`,
    );
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
  let values: Record<string, string | boolean | undefined>, positionals: string[];
  try {
    ({ values, positionals } = parseFlags(args, {
      quick: { type: "boolean" },
      "budget-minutes": { type: "string" },
      steps: { type: "string" },
      preset: { type: "string" },
      seeds: { type: "string" },
      recipes: { type: "string" },
      "lr-grid": { type: "string" },
      ranks: { type: "string" },
      shard: { type: "string" },
      "plan-only": { type: "boolean" },
      data: { type: "string" },
      out: { type: "string" },
      docs: { type: "string" },
      "report-only": { type: "boolean" },
      threads: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    }, true));
  } catch (e) {
    return failureStatus("reproduce", e);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const str = (k: string) => values[k] as string | undefined;
  let what: "fp4" | "scaling-law" | "outliers";
  let budget: number | null, steps: number | undefined, seeds: number | undefined;
  let threads: number;
  let recipes: string[] | undefined;
  let lrs: number[] | undefined, ranks: number | undefined;
  let shard: Shard | null = null;
  try {
    if (
      positionals.length !== 1 || !["fp4", "scaling-law", "outliers"].includes(positionals[0])
    ) {
      throw new UsageError(
        `expected one of fp4, scaling-law, outliers, got "${positionals.join(" ")}" (see --help)`,
      );
    }
    what = positionals[0] as typeof what;
    const budgetText = str("budget-minutes");
    budget = budgetText === undefined
      ? null
      : positiveNumberFlag("--budget-minutes", budgetText, 0);
    const stepsText = str("steps"), seedsText = str("seeds");
    steps = stepsText === undefined ? undefined : positiveIntFlag("--steps", stepsText, 0, 1e7);
    seeds = seedsText === undefined ? undefined : positiveIntFlag("--seeds", seedsText, 0, 1000);
    threads = positiveIntFlag("--threads", str("threads"), 1, 1024);
    if (str("preset") !== undefined) presetByName(str("preset")!);
    const known = fp4Variants().map((v) => v.recipe.name);
    if (str("recipes") !== undefined) {
      recipes = str("recipes")!.split(",").map((r) => r.trim()).filter((r) => r);
      if (recipes.length === 0) {
        throw new UsageError(`--recipes names no recipe (known: ${known.join(", ")})`);
      }
      for (const name of recipes) {
        if (!known.includes(name)) {
          throw new UsageError(`--recipes: unknown "${name}" (known: ${known.join(", ")})`);
        }
      }
    }
    const grid = str("lr-grid");
    if (grid !== undefined) {
      const items = grid.split(",").map((x) => x.trim()).filter((x) => x);
      if (items.length === 0) throw new UsageError("--lr-grid names no learning rate");
      lrs = items.map((x) => positiveNumberFlag("--lr-grid", x, 0));
    }
    const ranksText = str("ranks");
    ranks = ranksText === undefined ? undefined : positiveIntFlag("--ranks", ranksText, 1, 64);
    if (str("shard") !== undefined) shard = parseShard(str("shard")!);
    if (
      what !== "fp4" &&
      (str("preset") !== undefined || recipes !== undefined || lrs !== undefined ||
        ranks !== undefined)
    ) {
      throw new UsageError("--preset, --recipes, --lr-grid and --ranks apply to fp4 only");
    }
    if (what === "scaling-law" && seeds !== undefined) {
      throw new UsageError("--seeds applies to fp4 and outliers, not scaling-law");
    }
    if (shard && values["report-only"]) {
      throw new UsageError("--report-only reads every shard's results: leave --shard out");
    }
  } catch (e) {
    return failureStatus("reproduce", e, (err) => err instanceof RangeError);
  }
  const quick = (values.quick ?? false) as boolean;
  const out = str("out") ?? `runs/reproduce-${what}${quick ? "-quick" : ""}`;
  const docs = str("docs") ?? (quick ? out : "docs");
  const command = ["deno task reproduce", ...args].join(" ");
  try {
    checkOutputDir("--out", out);
    checkOutputDir("--docs", docs);
  } catch (e) {
    return failureStatus("reproduce", e);
  }
  try {
    setThreads(threads);
    const dataFlag = str("data");
    const data: Dataset = !dataFlag || dataFlag === "brown"
      ? await loadBrown()
      : await loadTextFile(dataFlag);
    const fingerprint = dataFingerprint(data);
    const t0 = performance.now();
    const progress = true; // progress goes to stderr, so --json keeps stdout clean
    // The page names the commands that trained its runs (a sweep may take several resumes, or
    // run in shards: those show once, as --shard i/n), logged in the sweep folder once the plan
    // stands, then this one when it only rewrote the page.
    const context = () => {
      const log = join(out, "commands.log");
      if (!values["report-only"]) {
        Deno.mkdirSync(out, { recursive: true });
        Deno.writeTextFileSync(log, `${new Date().toISOString()}\t${command}\n`, { append: true });
      }
      let trained: string[] = [];
      try {
        trained = Deno.readTextFileSync(log).trim().split("\n").map((l) =>
          l.split("\t")[1].replace(/ --shard \d+\/(\d+)/, " --shard i/$1")
        );
      } catch {
        // no log: the sweep predates it
      }
      const commands = [...new Set(trained)];
      if (values["report-only"]) commands.push(`${command} (page only)`);
      return {
        command: commands.join("`, then `"),
        machine: machineLine(),
        data: data.source,
      };
    };
    let fresh = false; // a new plan is saved only once no result file contradicts it
    const planOnly = (values["plan-only"] ?? false) as boolean;
    if (shard && budget !== null && readPlan(out) === null) {
      throw new UsageError(
        `--shard with --budget-minutes needs the plan saved first (each machine would time its ` +
          `own steps): run the same command with --plan-only instead of --shard once`,
      );
    }
    // Runs this process's shard, then reads every result back (other shards' too): the page is
    // built only when all exist, except with --report-only, which builds it from what exists.
    const sweep = async (
      specs: RunSpec[],
      estimate: (s: RunSpec) => number,
    ): Promise<RunResult[] | null> => {
      if (!values["report-only"]) {
        await runSweep(shardOf(specs, shard), data, {
          out,
          estimate,
          progress,
          data: fingerprint,
        });
      }
      const found = specs.map((s) => readResult(out, s, fingerprint))
        .filter((r): r is RunResult => r !== null);
      if (shard && found.length < specs.length) {
        const line =
          `reproduce: shard ${shard.index}/${shard.count} done; ${
            specs.length - found.length
          } of ${specs.length} runs are other shards' and not finished yet: the page is written ` +
          `when the last shard finishes (or with --report-only)`;
        console.error(line);
        if (values.json) {
          console.log(JSON.stringify({
            shard: { index: shard.index, count: shard.count },
            runs: { finished: found.length, planned: specs.length },
            page: null,
          }));
        }
        return null;
      }
      return found;
    };
    if (what === "fp4") {
      let plan = readPlan<Fp4Plan>(out);
      if (plan && plan.kind !== "fp4") throw new UsageError(`${out} holds a ${plan.kind} sweep`);
      if (plan) {
        const saved = plan;
        refuseOtherFlags(out, [
          ["--steps", steps, saved.steps],
          ["--preset", str("preset"), saved.preset],
          ["--seeds", seeds, saved.seeds.length],
          ["--recipes", recipes?.join(","), saved.recipes?.join(",") ?? "all"],
          [
            "--lr-grid",
            lrs ? [...new Set(lrs)].sort((a, b) => a - b).join(",") : undefined,
            planLrs(saved).join(","),
          ],
          ["--ranks", ranks, saved.ranks ?? 1],
        ]);
        console.error(`reproduce: resuming the sweep in ${out} with its saved plan`);
      } else {
        try {
          plan = await fp4Plan(
            {
              quick,
              budgetMinutes: budget,
              preset: str("preset"),
              seeds,
              steps,
              recipes,
              lrs,
              ranks,
            },
            data,
          );
        } catch (e) {
          if (e instanceof RangeError) throw new UsageError(e.message);
          throw e;
        }
        fresh = true;
      }
      const specs = fp4Specs(plan);
      // Result files trained otherwise are refused before anything is printed or run.
      for (const s of specs) readResult(out, s, fingerprint);
      if (fresh) writePlan(out, plan);
      if (planOnly) {
        console.error(`reproduce fp4: plan of ${specs.length} runs saved in ${out}/plan.json`);
        return 0;
      }
      const ctxBase = context();
      console.error(
        `reproduce fp4: ${specs.length} runs of ${plan.steps} steps on ${plan.preset} at lr ${
          planLrs(plan).join(", ")
        }${
          shard ? ` (shard ${shard.index}/${shard.count}: ${shardOf(specs, shard).length})` : ""
        } -> ${out}`,
      );
      const results = await sweep(specs, fp4Estimate(plan));
      if (results === null) return 0;
      const summary = await writeFp4Report(docs, plan, results, {
        ...ctxBase,
        seconds: (performance.now() - t0) / 1000,
        config: presetByName(plan.preset),
      });
      if (!quick) await formatDocs(docs, "reproduce-fp4");
      if (values.json) console.log(JSON.stringify(summary));
      else console.error(`wrote ${join(docs, "reproduce-fp4.md")}`);
    } else if (what === "outliers") {
      let plan = readPlan<OutliersPlan>(out);
      if (plan && plan.kind !== "outliers") {
        throw new UsageError(`${out} holds a ${plan.kind} sweep`);
      }
      if (plan) {
        refuseOtherFlags(out, [["--steps", steps, plan.steps], [
          "--seeds",
          seeds,
          plan.seeds.length,
        ]]);
        console.error(`reproduce: resuming the sweep in ${out} with its saved plan`);
      } else {
        plan = await outliersPlan({ quick, budgetMinutes: budget, seeds, steps }, data);
        fresh = true;
      }
      const specs = outliersSpecs(plan);
      for (const s of specs) readResult(out, s, fingerprint);
      if (fresh) writePlan(out, plan);
      if (planOnly) {
        console.error(`reproduce outliers: plan of ${specs.length} runs saved in ${out}/plan.json`);
        return 0;
      }
      const ctxBase = context();
      console.error(
        `reproduce outliers: ${specs.length} runs (gains ${plan.gains.join(", ")})${
          shard ? ` (shard ${shard.index}/${shard.count}: ${shardOf(specs, shard).length})` : ""
        } -> ${out}`,
      );
      const results = await sweep(specs, outliersEstimate(plan));
      if (results === null) return 0;
      const summary = await writeOutliersReport(docs, plan, results, ctxBase);
      if (!quick) await formatDocs(docs, "reproduce-outliers");
      if (values.json) console.log(JSON.stringify(summary));
      else console.error(`wrote ${join(docs, "reproduce-outliers.md")}`);
    } else {
      let plan = readPlan<ScalingPlan>(out);
      if (plan && plan.kind !== "scaling-law") {
        throw new UsageError(`${out} holds a ${plan.kind} sweep`);
      }
      if (plan) {
        refuseOtherFlags(out, [["--steps", steps, plan.steps[0]]]);
        console.error(`reproduce: resuming the sweep in ${out} with its saved plan`);
      } else {
        plan = await scalingPlan({ quick, budgetMinutes: budget, steps }, data);
        fresh = true;
      }
      const specs = scalingSpecs(plan);
      for (const s of specs) readResult(out, s, fingerprint);
      if (fresh) writePlan(out, plan);
      if (planOnly) {
        console.error(
          `reproduce scaling-law: plan of ${specs.length} runs saved in ${out}/plan.json`,
        );
        return 0;
      }
      const ctxBase = context();
      console.error(
        `reproduce scaling-law: ${specs.length} runs (steps ${plan.steps.join("/")})${
          shard ? ` (shard ${shard.index}/${shard.count}: ${shardOf(specs, shard).length})` : ""
        } -> ${out}`,
      );
      const results = await sweep(specs, scalingEstimate);
      if (results === null) return 0;
      const summary = await writeScalingReport(docs, plan, results, {
        ...ctxBase,
        seconds: (performance.now() - t0) / 1000,
      });
      if (!quick) await formatDocs(docs, "reproduce-scaling-law");
      if (values.json) console.log(JSON.stringify(summary));
      else console.error(`wrote ${join(docs, "reproduce-scaling-law.md")}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof OutputError) {
      console.error(`reproduce: ${e.message}; the finished runs' result files are intact`);
      return 1;
    }
    return failureStatus("reproduce", e, (err) => err instanceof DataError);
  }
}

/** A flag given again with another value than the saved plan's is refused, not ignored. */
function refuseOtherFlags(out: string, given: [string, unknown, unknown][]): void {
  for (const [flag, now, saved] of given) {
    if (now !== undefined && String(now) !== String(saved)) {
      throw new UsageError(
        `${out} holds a sweep planned with ${flag} ${saved}, not ${now}: leave ${flag} out to resume it, or use another --out`,
      );
    }
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
