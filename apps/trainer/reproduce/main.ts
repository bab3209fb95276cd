/**
 * `deno task reproduce fp4|scaling-law`: run (or resume) a reproduction sweep and regenerate its
 * page under `docs/`. Exit 0 done, 2 bad input (one line on stderr), 1 internal failure.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DataError, type Dataset, loadBrown, loadTextFile } from "../data.ts";
import { presetByName, PRESETS, setThreads } from "@fp4lab/train";
import { machineLine, readPlan, writePlan } from "./common.ts";
import { fp4Variants } from "./variants.ts";
import { fp4Estimate, type Fp4Plan, fp4Plan, fp4Specs, writeFp4Report } from "./fp4.ts";
import {
  scalingEstimate,
  type ScalingPlan,
  scalingPlan,
  scalingSpecs,
  writeScalingReport,
} from "./scaling.ts";
import { readResult, type RunResult, runSweep } from "./sweep.ts";

/** The `--help` text. */
export const HELP = `deno task reproduce <fp4|scaling-law> [flags]

  fp4          the FP4 paper's ablations (bf16, fp8, fp4, fp4-direct; W4A8 direct vs DGE k = 3,
               5, 10; W8A4 direct vs OCC a = 0.999, 0.99, 0.97; per-tensor vs per-channel/token;
               mxfp4, nvfp4) over 3 seeds -> docs/reproduce-fp4.md
  scaling-law  tiny models over N (4 sizes) x D (4 lengths) x ExMy (6 formats) x B (3 blocks),
               the runs CSV for plan fit, the fitted law -> docs/reproduce-scaling-law.md

  --quick             smoke-sized version in seconds (report to the run folder, not docs/)
  --budget-minutes M  choose the step counts so the sweep fits M minutes (times steps first)
  --steps N           fixed step count (fp4) / base step count (scaling-law)
  --preset NAME       fp4 only: ${Object.keys(PRESETS).join(" | ")} (default tiny)
  --seeds N           fp4 only: seeds per recipe (default 3)
  --recipes LIST      fp4 only: a comma-separated subset of the recipes (default all)
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
Exit status: 0 done, 2 bad flags or data (one line on stderr), 1 internal error.`;

class UsageError extends Error {}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${flag} must be a positive number, got "${text}"`);
  }
  return n;
}

function positiveInt(flag: string, text: string | undefined): number | undefined {
  const n = positive(flag, text);
  if (n !== undefined && !Number.isInteger(n)) {
    throw new UsageError(`--${flag} must be a positive integer, got "${text}"`);
  }
  return n;
}

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
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        quick: { type: "boolean" },
        "budget-minutes": { type: "string" },
        steps: { type: "string" },
        preset: { type: "string" },
        seeds: { type: "string" },
        recipes: { type: "string" },
        data: { type: "string" },
        out: { type: "string" },
        docs: { type: "string" },
        "report-only": { type: "boolean" },
        threads: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
  } catch (e) {
    console.error(`reproduce: ${(e as Error).message.split("\n")[0]} (see --help)`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let what: "fp4" | "scaling-law";
  let budget: number | null, steps: number | undefined, seeds: number | undefined;
  let threads: number;
  try {
    if (positionals.length !== 1 || !["fp4", "scaling-law"].includes(positionals[0])) {
      throw new UsageError(
        `expected one of fp4, scaling-law, got "${positionals.join(" ")}" (see --help)`,
      );
    }
    what = positionals[0] as typeof what;
    budget = positive("budget-minutes", values["budget-minutes"]) ?? null;
    steps = positiveInt("steps", values.steps);
    seeds = positiveInt("seeds", values.seeds);
    threads = positiveInt("threads", values.threads) ?? 1;
    if (values.preset !== undefined) presetByName(values.preset);
    const known = fp4Variants().map((v) => v.recipe.name);
    for (const name of (values.recipes ?? "").split(",").map((r) => r.trim()).filter((r) => r)) {
      if (!known.includes(name)) {
        throw new UsageError(`--recipes: unknown "${name}" (known: ${known.join(", ")})`);
      }
    }
    if (
      what === "scaling-law" &&
      (values.preset !== undefined || seeds !== undefined || values.recipes !== undefined)
    ) {
      throw new UsageError("--preset, --seeds and --recipes apply to fp4 only");
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError) {
      console.error(`reproduce: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const quick = values.quick ?? false;
  const out = values.out ?? `runs/reproduce-${what}${quick ? "-quick" : ""}`;
  const docs = values.docs ?? (quick ? out : "docs");
  const command = ["deno task reproduce", ...args].join(" ");
  try {
    setThreads(threads);
    const data: Dataset = !values.data || values.data === "brown"
      ? await loadBrown()
      : await loadTextFile(values.data);
    const t0 = performance.now();
    const progress = true; // progress goes to stderr, so --json keeps stdout clean
    // The page names the commands that trained its runs (a sweep may take several resumes),
    // logged in the sweep folder, then this one when it only rewrote the page.
    Deno.mkdirSync(out, { recursive: true });
    const log = join(out, "commands.log");
    if (!values["report-only"]) {
      Deno.writeTextFileSync(log, `${new Date().toISOString()}\t${command}\n`, { append: true });
    }
    let trained: string[] = [];
    try {
      trained = Deno.readTextFileSync(log).trim().split("\n").map((l) => l.split("\t")[1]);
    } catch {
      // no log: the sweep predates it
    }
    const commands = [...new Set(trained)];
    if (values["report-only"]) commands.push(`${command} (page only)`);
    const ctxBase = {
      command: commands.join("`, then `"),
      machine: machineLine(),
      data: data.source,
    };
    if (what === "fp4") {
      let plan = readPlan<Fp4Plan>(out);
      if (plan && plan.kind !== "fp4") throw new UsageError(`${out} holds a ${plan.kind} sweep`);
      if (plan) {
        console.error(`reproduce: resuming the sweep in ${out} with its saved plan`);
      } else {
        const recipes = values.recipes?.split(",").map((r) => r.trim()).filter((r) => r);
        plan = await fp4Plan(
          { quick, budgetMinutes: budget, preset: values.preset, seeds, steps, recipes },
          data,
        );
        writePlan(out, plan);
      }
      const specs = fp4Specs(plan);
      console.error(
        `reproduce fp4: ${specs.length} runs of ${plan.steps} steps on ${plan.preset} -> ${out}`,
      );
      const results: RunResult[] = values["report-only"]
        ? specs.map((s) => readResult(out, s.id)).filter((r): r is RunResult => r !== null)
        : await runSweep(specs, data, { out, estimate: fp4Estimate(plan), progress });
      const summary = await writeFp4Report(docs, plan, results, {
        ...ctxBase,
        seconds: (performance.now() - t0) / 1000,
        config: presetByName(plan.preset),
      });
      if (!quick) await formatDocs(docs, "reproduce-fp4");
      if (values.json) console.log(JSON.stringify(summary));
      else console.error(`wrote ${join(docs, "reproduce-fp4.md")}`);
    } else {
      let plan = readPlan<ScalingPlan>(out);
      if (plan && plan.kind !== "scaling-law") {
        throw new UsageError(`${out} holds a ${plan.kind} sweep`);
      }
      if (plan) {
        console.error(`reproduce: resuming the sweep in ${out} with its saved plan`);
      } else {
        plan = await scalingPlan({ quick, budgetMinutes: budget, steps }, data);
        writePlan(out, plan);
      }
      const specs = scalingSpecs(plan);
      console.error(
        `reproduce scaling-law: ${specs.length} runs (steps ${plan.steps.join("/")}) -> ${out}`,
      );
      const results: RunResult[] = values["report-only"]
        ? specs.map((s) => readResult(out, s.id)).filter((r): r is RunResult => r !== null)
        : await runSweep(specs, data, { out, estimate: scalingEstimate, progress });
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
    if (e instanceof UsageError || e instanceof DataError) {
      console.error(`reproduce: ${e.message}`);
      return 2;
    }
    console.error(`reproduce: internal error: ${e instanceof Error ? e.stack : e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
