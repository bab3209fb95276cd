/**
 * A one-line progress bar on stderr (step, loss, tokens/s, ETA). On a terminal it redraws in
 * place; otherwise it prints a line at every tenth of the run, so logs stay short.
 *
 * @module
 */

/** A progress bar for one run. */
export interface Progress {
  /** report a finished step */
  update(step: number, loss: number, tokensPerSec: number): void;
  /** finish the line */
  done(): void;
}

/**
 * Formats seconds as `1h02m`, `3m05s` or `12s`.
 *
 * @param seconds duration
 * @returns short text
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./progress.ts";
 * assert.equal(formatDuration(185), "3m05s");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/**
 * Renders the bar's text.
 *
 * @param label run label
 * @param step steps done
 * @param steps total steps
 * @param loss last loss
 * @param tokensPerSec throughput
 * @param etaSeconds estimated seconds left
 * @param width bar width in cells
 * @returns one line
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderBar } from "./progress.ts";
 * assert.equal(
 *   renderBar("fp4", 5, 10, 2.5, 1200, 30, 10),
 *   "fp4 [█████     ] 5/10 loss 2.500 1200 tok/s ETA 30s",
 * );
 * ```
 */
export function renderBar(
  label: string,
  step: number,
  steps: number,
  loss: number,
  tokensPerSec: number,
  etaSeconds: number,
  width = 24,
): string {
  const filled = Math.round((step / steps) * width);
  const bar = "█".repeat(filled) + " ".repeat(width - filled);
  return `${label} [${bar}] ${step}/${steps} loss ${loss.toFixed(3)} ${
    Math.round(tokensPerSec)
  } tok/s ETA ${formatDuration(etaSeconds)}`;
}

/**
 * Creates a progress bar writing to stderr.
 *
 * @param label run label (e.g. the recipe)
 * @param steps total steps
 * @param enabled false to stay silent
 * @returns the bar
 * @example
 * ```ts
 * import { createProgress } from "./progress.ts";
 * const p = createProgress("fp4", 10, false);
 * p.update(1, 5.5, 100);
 * p.done();
 * ```
 */
export function createProgress(label: string, steps: number, enabled: boolean): Progress {
  const tty = enabled && Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const start = performance.now();
  let lastDraw = 0, lastTenth = -1, line = "";
  return {
    update(step, loss, tokensPerSec) {
      if (!enabled) return;
      const elapsed = (performance.now() - start) / 1000;
      const eta = (elapsed / step) * (steps - step);
      line = renderBar(label, step, steps, loss, tokensPerSec, eta);
      if (tty) {
        const now = performance.now();
        if (now - lastDraw > 100 || step === steps) {
          Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${line}`));
          lastDraw = now;
        }
      } else {
        const tenth = Math.floor((step / steps) * 10);
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          Deno.stderr.writeSync(enc.encode(line + "\n"));
        }
      }
    },
    done() {
      if (tty && line) Deno.stderr.writeSync(enc.encode("\n"));
    },
  };
}
