/**
 * Builds the static site into `apps/web/dist/`: `deno task build:web`. The pages' scripts are
 * bundled by `deno bundle` (esbuild underneath; it resolves the workspace's `@fp4lab/*` members
 * and npm packages) with code splitting, so the trainer and the chart library load only on the
 * pages and at the moment they are used. The build goes to a fresh folder that replaces the old
 * one at the end, so a failed build leaves the last good site in place.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
// The trainer's own loader, so the page trains on exactly the CLI's text and split (build-time
// tooling only: nothing of apps/trainer ends up in the site's scripts).
import { loadBrown } from "../trainer/data.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
/** The pages' entry points: one script per page, plus the training worker and the test runners. */
export const ENTRIES: readonly string[] = [
  "src/planner_page.ts",
  "src/formats_page.ts",
  "src/train_page.ts",
  "src/train_worker.ts",
  "test/page/tests_page.ts",
  "test/page/tests_worker.ts",
  "test/page/assert_strict.ts",
];

/** Bytes of the Brown corpus the train page gets: the start of the CLI's train and validation splits. */
export const BROWN_SLICE = Object.freeze({ train: 1_200_000, val: 60_000 });

/** Writes data/brown-train.txt, data/brown-val.txt and data/brown.json into the site. */
async function writeBrownSlice(dir: string): Promise<void> {
  const brown = await loadBrown();
  // Cut at a newline so no UTF-8 sequence or word is split.
  const cut = (bytes: Uint8Array, max: number) => {
    if (bytes.length <= max) return bytes;
    const nl = bytes.lastIndexOf(10, max);
    return bytes.subarray(0, nl > 0 ? nl : max);
  };
  const train = cut(brown.train, BROWN_SLICE.train);
  const val = cut(brown.val, BROWN_SLICE.val);
  await Deno.mkdir(join(dir, "data"), { recursive: true });
  await Deno.writeFile(join(dir, "data/brown-train.txt"), train);
  await Deno.writeFile(join(dir, "data/brown-val.txt"), val);
  await Deno.writeTextFile(
    join(dir, "data/brown.json"),
    JSON.stringify({
      source:
        `${brown.source}: the first ${train.length} bytes of the training split and ${val.length} of the validation split`,
      trainBytes: train.length,
      valBytes: val.length,
    }) + "\n",
  );
}

/** One file of the built site and its size. */
export interface BuiltFile {
  /** path inside dist/ */
  readonly path: string;
  /** size in bytes */
  readonly bytes: number;
  /** size gzip-compressed (what a server sends), in bytes */
  readonly gzipBytes: number;
}

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listFiles(dir, path));
    else if (e.isFile) out.push(path);
  }
  return out.sort();
}

async function copyTree(from: string, to: string): Promise<void> {
  for (const path of await listFiles(from)) {
    await Deno.mkdir(dirname(join(to, path)), { recursive: true });
    await Deno.copyFile(join(from, path), join(to, path));
  }
}

/**
 * Builds the site.
 *
 * @param outDir where the site goes (replaced whole)
 * @param options `minify` (default true)
 * @returns the built files with their sizes
 */
export async function buildSite(
  outDir: string = join(HERE, "dist"),
  options: { minify?: boolean } = {},
): Promise<BuiltFile[]> {
  const parent = dirname(outDir);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: ".dist-" });
  try {
    await copyTree(join(HERE, "static"), tmp);
    await writeBrownSlice(tmp);
    const args = [
      "bundle",
      "--quiet",
      "--platform=browser",
      "--format=esm",
      "--code-splitting",
      `--outdir=${tmp}`,
      // The package tests import node:assert/strict; the test pages map it to npm `assert`.
      "--external=node:assert/strict",
      ...(options.minify === false ? [] : ["--minify"]),
      ...ENTRIES.map((e) => join(HERE, e)),
    ];
    const run = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: HERE,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!run.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(run.stderr).trim()}`);
    }
    await fixTestImports(tmp);
    await Deno.remove(outDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(tmp, outDir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const files: BuiltFile[] = [];
  for (const path of await listFiles(outDir)) {
    const bytes = await Deno.readFile(join(outDir, path));
    files.push({ path, bytes: bytes.length, gzipBytes: await gzipSize(bytes) });
  }
  return files;
}

/**
 * The bundles of the package tests keep `import ... from "node:assert/strict"` (external): a
 * browser cannot load that, and module workers have no import maps, so the import is pointed at
 * the bundled npm `assert` shim by path.
 */
async function fixTestImports(dir: string): Promise<void> {
  let found = 0;
  for (const path of await listFiles(dir)) {
    if (!path.endsWith(".js")) continue;
    const file = join(dir, path);
    const text = await Deno.readTextFile(file);
    if (!text.includes('"node:assert/strict"') || path.endsWith("assert_strict.js")) continue;
    const target = relative(dirname(file), join(dir, "test/page/assert_strict.js"));
    await Deno.writeTextFile(
      file,
      text.replaceAll('"node:assert/strict"', JSON.stringify(`./${target}`)),
    );
    found++;
  }
  if (found === 0) throw new Error("no bundle imports node:assert/strict: the test build changed");
}

/** `12.3 kB` with one decimal. */
export function kilobytes(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string" }, "no-minify": { type: "boolean" } },
    strict: true,
  });
  try {
    const out = values.out ?? join(HERE, "dist");
    const files = await buildSite(out, { minify: !values["no-minify"] });
    const width = Math.max(...files.map((f) => f.path.length));
    for (const f of files) {
      console.log(
        `${f.path.padEnd(width)}  ${kilobytes(f.bytes).padStart(10)}  ${
          kilobytes(f.gzipBytes).padStart(10)
        } gzip`,
      );
    }
    console.log(`built ${files.length} files into ${relative(Deno.cwd(), out) || "."}`);
  } catch (e) {
    console.error(`build:web: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
