/**
 * The default training run (`deno task train`: tiny preset, bf16 and fp4, the trainer's default
 * steps, batch, learning rate and seed) on two backends side by side: the host `cpu-host` backend
 * (host arrays, kernel GEMMs) and the resident one (everything in the kernels' WebAssembly
 * memory). Prints the losses each backend reaches, the fp4 − bf16 gap on each and the step times,
 * so a backend change can show that the run's results moved only by summation order.
 *
 * With `--perturb`, the resident backend runs twice instead: as is, and with one value of the first
 * buffer of more than 1000 values written at start (the RoPE cos table) moved by one f32 ulp. How far that moves the losses is the scale of "summation-order
 * differences" after the run's steps: training amplifies any rounding difference.
 *
 * Usage: `deno run -A apps/trainer/tools/compare_backends.ts [--steps N] [--recipes bf16,fp4] [--perturb]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Backend,
  createHostCpuBackend,
  createWasmBackend,
  parseRecipes,
  PRESETS,
} from "@fp4lab/train";
import { loadBrown } from "../data.ts";
import { trainRecipe } from "../train.ts";
import { DEFAULTS } from "../cli.ts";

const { values } = parseArgs({
  options: {
    steps: { type: "string" },
    recipes: { type: "string", default: "bf16,fp4" },
    preset: { type: "string", default: "tiny" },
    perturb: { type: "boolean", default: false },
  },
});
const preset = values.preset!;
const config = PRESETS[preset];
if (!config) {
  console.error(`train_backends: unknown preset ${preset}`);
  Deno.exit(2);
}
const d = DEFAULTS[preset];
const steps = values.steps ? Number(values.steps) : d.steps;
const data = await loadBrown();
/** The resident backend with value 1000 of the first large write (the RoPE cos table) one ulp up. */
function perturbed(): Backend {
  const be = createWasmBackend();
  const spy: Backend = Object.create(be);
  let done = false;
  spy.write = (t, data) => {
    if (!done && data instanceof Float32Array && data.length > 1000 && t.length === data.length) {
      done = true;
      const copy = data.slice();
      const bits = new Uint32Array(copy.buffer);
      bits[1000] += 1;
      return be.write(t, copy);
    }
    return be.write(t, data);
  };
  return spy;
}

const backends: readonly (readonly [string, () => Backend])[] = values.perturb
  ? [["cpu (resident)", () => createWasmBackend()], ["cpu (resident, 1 ulp)", perturbed]]
  : [["cpu (host arrays)", createHostCpuBackend], ["cpu (resident)", () => createWasmBackend()]];
const rows: string[] = [];
const finals: Record<string, Record<string, number>> = {};
for (const recipe of parseRecipes(values.recipes!)) {
  for (const [name, make] of backends) {
    const be = make();
    const r = await trainRecipe(recipe, data, {
      config,
      steps,
      batch: d.batch,
      ranks: 1,
      lr: d.lr,
      seed: 1,
      evalPoints: 4,
      valWindows: 48,
      backend: be,
    });
    be.dispose();
    (finals[name] ??= {})[recipe.name] = r.valLoss;
    rows.push(
      `${recipe.name.padEnd(6)} ${name.padEnd(18)} train ${r.finalTrainLoss.toFixed(6)} ` +
        `val ${r.valLoss.toFixed(6)}  ${(r.stepSeconds * 1000).toFixed(0)} ms/step`,
    );
    console.log(rows[rows.length - 1]);
  }
}
for (const [name, f] of Object.entries(finals)) {
  if (f.fp4 !== undefined && f.bf16 !== undefined) {
    console.log(`${name}: val gap fp4 - bf16 = ${(f.fp4 - f.bf16).toFixed(6)}`);
  }
}
