/**
 * Pieces both reproductions share: the machine line, the sweep's saved plan (so a resumed sweep
 * keeps the grid it started with, whatever budget the second call passes), and the step-time
 * calibration that turns `--budget-minutes` into a step count.
 *
 * @module
 */
import { join } from "node:path";
import type { ModelConfig, Recipe } from "@fp4lab/train";
import type { Dataset } from "../data.ts";
import { trainRecipe } from "../train.ts";
import { UsageError } from "../../_shared/cli.ts";
import { writeFileAtomic } from "../../_shared/files.ts";

/**
 * The CPU model line from /proc/cpuinfo and the thread count.
 *
 * @returns e.g. `AMD EPYC, 2 threads`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineLine } from "./common.ts";
 * assert.match(machineLine(), /, \d+ threads$/);
 * ```
 */
export function machineLine(): string {
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

/**
 * Reads the plan a sweep folder was started with, or null.
 *
 * @param out sweep folder
 * @returns the parsed `plan.json`, or null when there is none
 * @throws {UsageError} when it is unreadable or not a plan (never silently replaced)
 * @example
 * ```ts ignore
 * const plan = readPlan<MyPlan>("runs/reproduce-fp4");
 * ```
 */
export function readPlan<T>(out: string): T | null {
  const path = join(out, "plan.json");
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new UsageError(`${path}: cannot read (${(e as Error).message.split("\n")[0]})`);
  }
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `${path} is not valid JSON (${
        (e as Error).message.split("\n")[0]
      }): delete the folder to start over, or use another --out`,
    );
  }
  const kind = (plan as { kind?: unknown } | null)?.kind;
  if (kind !== "fp4" && kind !== "scaling-law" && kind !== "outliers") {
    throw new UsageError(`${path} is not a sweep plan (kind ${JSON.stringify(kind)})`);
  }
  return plan as T;
}

/**
 * Saves a sweep's plan to `<out>/plan.json`.
 *
 * @param out sweep folder
 * @param plan JSON-able plan
 * @example
 * ```ts ignore
 * writePlan("runs/reproduce-fp4", plan);
 * ```
 */
export function writePlan(out: string, plan: unknown): void {
  Deno.mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, "plan.json"), JSON.stringify(plan, null, 2) + "\n");
}

/**
 * Seconds per optimizer step of `recipe` on `config`, measured now on this machine (its load
 * included) by training a few steps: the median step time between the first and the last.
 *
 * @param recipe the recipe to time
 * @param config the model
 * @param batch sequences per step
 * @param data data set
 * @returns seconds per step
 * @example
 * ```ts ignore
 * const s = stepSeconds(RECIPES.fp4, PRESETS.tiny, 4, data);
 * ```
 */
export async function stepSeconds(
  recipe: Recipe,
  config: ModelConfig,
  batch: number,
  data: Dataset,
): Promise<number> {
  const steps = 6;
  const r = await trainRecipe(recipe, data, {
    config,
    steps,
    batch,
    ranks: 1,
    lr: 1e-3,
    seed: 1,
    evalPoints: 1,
    valWindows: batch,
  });
  // elapsed of step s+1 minus step s (the first step warms up, the last one validates): the
  // median, so one step slowed by another process does not set the plan
  const gaps = [];
  for (let i = 1; i < steps - 1; i++) gaps.push(r.records[i].elapsed - r.records[i - 1].elapsed);
  gaps.sort((a, b) => a - b);
  return gaps.length ? gaps[gaps.length >> 1] : r.stepSeconds;
}

/**
 * Seconds one validation pass costs relative to a training step: a forward pass is about a third
 * of a step, and one pass reads `valWindows / batch` batches.
 *
 * @param valWindows validation windows per evaluation
 * @param batch sequences per batch
 * @returns training-step equivalents per evaluation
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evalStepEquivalents } from "./common.ts";
 * assert.equal(evalStepEquivalents(24, 4), 2);
 * ```
 */
export function evalStepEquivalents(valWindows: number, batch: number): number {
  return Math.max(1, Math.floor(valWindows / batch)) / 3;
}
