// Stands in for the two parts of the Deno namespace the package tests use, so their files run
// unchanged in a browser page or worker: Deno.test registers, Deno.env.get reads the query.
// Imported before any test file (ES modules evaluate in import order).

/** One registered test. */
export interface RegisteredTest {
  readonly name: string;
  readonly ignore: boolean;
  readonly fn: () => unknown;
}

/** Every Deno.test call, in order. */
export const REGISTERED: RegisteredTest[] = [];

type TestFn = () => unknown;
interface TestOptions {
  ignore?: boolean;
  name?: string;
  fn?: TestFn;
}

function test(a: string | TestOptions, b?: TestOptions | TestFn, c?: TestFn): void {
  if (typeof a === "string") {
    const options = typeof b === "object" ? b : {};
    const fn = typeof b === "function" ? b : c;
    if (!fn) throw new Error(`Deno.test("${a}") has no function`);
    REGISTERED.push({ name: a, ignore: options.ignore === true, fn });
  } else {
    if (!a.fn || !a.name) throw new Error("Deno.test({...}) needs name and fn");
    REGISTERED.push({ name: a.name, ignore: a.ignore === true, fn: a.fn });
  }
}

const params = new URLSearchParams(globalThis.location?.search ?? "");
const env: Record<string, string> = {};
if (params.get("ci") === "1") env.CI = "true";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
g.Deno ??= { test, env: { get: (name: string) => env[name] } };
// npm `util` (under npm `assert`) reads process.env.NODE_DEBUG.
g.process ??= { env: {} };
