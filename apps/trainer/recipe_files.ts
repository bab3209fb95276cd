/**
 * `--recipes` entries: built-in names (`fp4`, `bf16`, ...) or recipe files (`my-recipe.json`),
 * each file validated by `@fp4lab/train`'s `parseRecipe`.
 *
 * @module
 */
import { parseRecipe, type Recipe, RecipeError, RECIPES } from "@fp4lab/train";

/** Bytes a recipe file may have (a recipe is a few kilobytes of JSON). */
const MAX_RECIPE_BYTES = 1 << 20;

/**
 * Resolves a comma-separated `--recipes` list: names of built-in recipes, or paths of JSON files
 * (any entry ending in `.json` or containing a `/`).
 *
 * @param list e.g. `"bf16,fp4,my-recipe.json"`
 * @returns the recipes in order
 * @throws {RangeError} one line naming the entry: unknown name, unreadable file, invalid recipe,
 *   or two recipes with the same name (each gets its own folder)
 * @example
 * ```ts
 * import { loadRecipes } from "./recipe_files.ts";
 * console.log(loadRecipes("bf16,fp4").map((r) => r.name)); // ["bf16", "fp4"]
 * ```
 */
export function loadRecipes(list: string): Recipe[] {
  const entries = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (entries.length === 0) throw new RangeError("--recipes is empty");
  const out: Recipe[] = [];
  for (const entry of entries) {
    const recipe = entry.endsWith(".json") || entry.includes("/")
      ? recipeFile(entry)
      : RECIPES[entry];
    if (!recipe) {
      throw new RangeError(
        `unknown recipe "${entry}": expected one of ${
          Object.keys(RECIPES).join(", ")
        } or a recipe .json file`,
      );
    }
    const twin = out.find((r) => r.name === recipe.name);
    if (twin === recipe) continue;
    if (twin) throw new RangeError(`--recipes names two recipes called "${recipe.name}"`);
    out.push(recipe);
  }
  return out;
}

function recipeFile(path: string): Recipe {
  let text: string;
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) throw new Error("not a file");
    if (info.size > MAX_RECIPE_BYTES) throw new Error(`${info.size} bytes, more than 1 MiB`);
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new RangeError(`recipe file ${path}: cannot read (${(e as Error).message})`);
  }
  try {
    return parseRecipe(text);
  } catch (e) {
    if (e instanceof RecipeError) throw new RangeError(`recipe file ${path}: ${e.message}`);
    throw e;
  }
}
