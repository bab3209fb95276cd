/**
 * The precision planner: `deno task plan <command> [flags]`. Which precision, how many
 * parameters and how many tokens, from the floating-point quantization scaling law
 * (`@fp4lab/scaling-law`). Exit codes: 0 ok, 2 bad input (one line on stderr), 1 internal failure.
 *
 * @module
 */
import { failureStatus, parseFlags } from "../_shared/cli.ts";
import { checkOutputFile, OutputError, writeFileAtomic } from "../_shared/files.ts";
import {
  type CommandResult,
  COMMANDS,
  parseConstants,
  type PlannerFiles,
  renderCsv,
  UsageError,
  type Values,
} from "@fp4lab/planner";
import { PAPER_CONSTANTS, type ScalingLawConstants } from "@fp4lab/scaling-law";

/** The file system, for `fit --runs` and `--out`. */
const FILES: PlannerFiles = {
  readText: (path) => Deno.readTextFileSync(path),
  writeText: (path, text) => writeFileAtomic(path, text),
};

/** The constants: the paper's, or a JSON file holding them (bare or as a fit's output). */
function readConstants(path: string | undefined): ScalingLawConstants {
  if (path === undefined) return PAPER_CONSTANTS;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(`--constants: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseConstants(text, path);
}

/** Flags renamed so that one flag means one thing across the apps: old spelling -> new. */
const RENAMED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  fit: { out: "save-constants" },
};

const SHARED = `
Output (every command):
  (default)         aligned tables with units
  --json            the result as JSON on stdout, nothing else
  --csv             the result as CSV
  --svg FILE        also draw the result's plot to FILE (Vega-Lite, rendered headless) and
                    save its Vega-Lite spec beside it (FILE without .svg, plus .vl.json)
  --constants FILE  use constants from a JSON file (the output of plan fit --json or
                    --save-constants, or a bare {n, alpha, d, beta, epsilon, gamma, delta, nu})
                    instead of the paper's Table 2
  --help            this text`;

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "plan: the precision planner (floating-point quantization scaling law, arXiv 2501.02423)",
    "",
    "usage: deno task plan <command> [flags]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Formats by name: ExMy (E2M1, e4m3), fp4 = E2M1, fp8 = E4M3, bf16 = E8M7, fp16 = E5M10,",
    "fp32 = E8M23. Blocks: a number, channel (log2 B = 13.1567) or none (B = 1, no penalty).",
    "Numbers take K, M, B (1e9) and T suffixes: --params 7B --tokens 1.5T.",
    "`deno task plan <command> --help` shows a command's flags.",
  ].join("\n");
}

/** Runs the CLI on `argv`; returns the exit code. Output goes to the given writers. */
export async function main(
  argv: readonly string[],
  out: (text: string) => void = (t) => console.log(t),
  err: (text: string) => void = (t) => console.error(t),
): Promise<number> {
  const [name, ...args0] = argv;
  let rest = args0;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    if (name === undefined) {
      err(
        `plan: missing command (one of ${
          COMMANDS.map((c) => c.name).join(", ")
        }); see deno task plan --help`,
      );
      return 2;
    }
    out(topHelp());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    err(`plan: unknown command "${name}" (one of ${COMMANDS.map((c) => c.name).join(", ")})`);
    return 2;
  }
  try {
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
      json: { type: "boolean" },
      csv: { type: "boolean" },
      svg: { type: "string" },
      constants: { type: "string" },
      help: { type: "boolean", short: "h" },
    };
    for (const flag of command.flags) options[flag] = { type: "string" };
    const renamed = RENAMED[command.name] ?? {};
    rest = rest.map((a) => {
      const m = /^--([\w-]+)(=.*)?$/.exec(a);
      const to = m ? renamed[m[1]] : undefined;
      if (!to) return a;
      err(`plan ${name}: --${m![1]} is deprecated, use --${to}`);
      return `--${to}${m![2] ?? ""}`;
    });
    // parseFlags glues "--params -5" into one option, so the command says what is wrong with it.
    const values = parseFlags(rest, options).values as Values;
    if (values.help) {
      out(`${command.usage}\n${SHARED}`);
      return 0;
    }
    if (values.json && values.csv) throw new UsageError("give one of --json and --csv");
    if (values.svg === "") throw new UsageError("--svg needs a file name");
    // Output paths are checked before any work: a file in the way is bad input, named.
    if (typeof values.svg === "string") checkOutputFile("--svg", values.svg);
    if (typeof values["save-constants"] === "string") {
      checkOutputFile("--save-constants", values["save-constants"]);
    }
    const constants = readConstants(
      typeof values.constants === "string" ? values.constants : undefined,
    );
    const result: CommandResult = command.run(values, constants, FILES);
    const svgPath = typeof values.svg === "string" ? values.svg : undefined;
    if (svgPath) {
      if (!result.plot) throw new UsageError(`plan ${name} has no plot`);
      // Vega is loaded only when a plot is asked for: it is most of the start-up time.
      const { fullSpec, renderSvg } = await import("./plot.ts");
      const spec = result.plot();
      writeFileAtomic(svgPath, await renderSvg(spec));
      // The spec beside the picture, so it can be restyled and re-rendered (vega-lite, the
      // online editor) without this tool.
      writeFileAtomic(specPathOf(svgPath), JSON.stringify(fullSpec(spec), null, 2) + "\n");
    }
    if (values.json) {
      out(JSON.stringify(result.json, null, 2));
    } else if (values.csv) {
      if (!result.table) throw new UsageError(`plan ${name} has no table for --csv`);
      out(renderCsv(result.table).trimEnd());
    } else {
      out(
        result.human +
          (svgPath ? `\n\nplot: ${svgPath} (Vega-Lite spec: ${specPathOf(svgPath)})` : ""),
      );
    }
    return 0;
  } catch (e) {
    // Bad input is a UsageError, refused by name where it is read; anything else (a RangeError
    // from inside the law's arithmetic included) is an internal failure: exit 1.
    return failureStatus(
      `plan ${name}`,
      e,
      (x) => x instanceof OutputError || x instanceof UsageError,
      err,
    );
  }
}

/** Where the Vega-Lite spec of a plot goes: `x.svg` -> `x.vl.json`. */
function specPathOf(svgPath: string): string {
  return svgPath.replace(/\.svg$/i, "") + ".vl.json";
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
