/**
 * `events.jsonl`: the run's log as one JSON object per line, one line per recipe and step, for
 * tools that ingest scalar logs (TensorBoard-style dashboards, pandas `read_json(lines=True)`,
 * `jq`). The same numbers as metrics.csv, with names and units in the keys.
 *
 * @module
 */
import type { RecipeResult } from "./train.ts";

/** One line of events.jsonl. Losses are in nats per byte (the vocabulary is bytes). */
export interface StepEvent {
  /** the recipe the step belongs to */
  recipe: string;
  /** 1-based optimizer step */
  step: number;
  /** training tokens (bytes) seen after this step */
  tokens: number;
  /** seconds since the start of the recipe's run */
  elapsed_s: number;
  /** training loss of the step's batch, nats per byte */
  train_loss: number;
  /** learning rate used */
  lr: number;
  /** validation loss, nats per byte; only on steps where it was measured */
  val_loss?: number;
}

/**
 * The events of a run, one JSON line per recipe and step, in run order.
 *
 * @param results per-recipe results
 * @param tokensPerStep tokens (bytes) per optimizer step
 * @returns the file's text (empty for no steps)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventsJsonl } from "./events.ts";
 * const text = eventsJsonl([{
 *   recipe: "fp4",
 *   records: [{ step: 1, loss: 5.5, lr: 0.001, valLoss: 5.6, elapsed: 0.25 }],
 * // deno-lint-ignore no-explicit-any
 * } as any], 128);
 * assert.deepEqual(JSON.parse(text), {
 *   recipe: "fp4", step: 1, tokens: 128, elapsed_s: 0.25, train_loss: 5.5, lr: 0.001, val_loss: 5.6,
 * });
 * ```
 */
export function eventsJsonl(results: RecipeResult[], tokensPerStep: number): string {
  let out = "";
  for (const r of results) {
    for (const s of r.records) {
      const e: StepEvent = {
        recipe: r.recipe,
        step: s.step,
        tokens: s.step * tokensPerStep,
        elapsed_s: Math.round(s.elapsed * 1000) / 1000,
        train_loss: s.loss,
        lr: s.lr,
      };
      if (s.valLoss !== null) e.val_loss = s.valLoss;
      out += JSON.stringify(e) + "\n";
    }
  }
  return out;
}
