// The two browsers the tests drive, as Debian installs them, and how to start and stop them.
//
// puppeteer-core is loaded at run time from a specifier the module graph does not see, so it
// stays out of the workspace's lock: a fresh clone's `deno task train` never installs it (issue
// 18's first-run budget). Its types are therefore loose here.
// deno-lint-ignore-file no-explicit-any

/** npm specifier of the browser driver (resolved only by `deno task test:browser`). */
const PUPPETEER = ["npm:puppeteer-core", "25.16.0"].join("@");

/** A driven browser: the part of puppeteer-core's `Browser` these tests type. */
export interface Browser {
  newPage(): Promise<Page>;
  [method: string]: any;
}
/** A page of a driven browser: the part of puppeteer-core's `Page` whose callbacks need types. */
export interface Page {
  $eval<R>(selector: string, fn: (e: HTMLElement) => R): Promise<Awaited<R>>;
  $$eval<R>(selector: string, fn: (e: HTMLElement[]) => R): Promise<Awaited<R>>;
  on(event: string, fn: (e: Error) => void): void;
  [method: string]: any;
}
type LaunchOptions = Record<string, unknown>;

async function puppeteerModule(): Promise<
  { launch(o: Record<string, unknown>): Promise<Browser> }
> {
  return (await import(PUPPETEER)).default;
}

/** A browser the tests can drive. */
export interface BrowserKind {
  readonly name: "chromium" | "firefox";
  /** where Debian's package puts the binary (the first that exists is used) */
  readonly executables: readonly string[];
  /** the Debian package that provides it */
  readonly debianPackage: string;
  readonly options: LaunchOptions;
}

/**
 * Chromium's headless shell gets a WebGPU adapter (SwiftShader) with --enable-unsafe-webgpu;
 * root needs --no-sandbox. Firefox ESR has WebGPU headless on lavapipe with two prefs.
 */
export const BROWSERS: readonly BrowserKind[] = [
  {
    name: "chromium",
    executables: ["/usr/bin/chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell"],
    debianPackage: "chromium-headless-shell",
    options: {
      browser: "chrome",
      headless: "shell",
      args: [
        "--no-sandbox",
        "--enable-unsafe-webgpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--disable-sync",
        "--no-first-run",
        "--mute-audio",
      ],
    },
  },
  {
    name: "firefox",
    executables: ["/usr/bin/firefox-esr", "/usr/lib/firefox-esr/firefox-esr"],
    debianPackage: "firefox-esr",
    options: {
      browser: "firefox",
      headless: true,
      extraPrefsFirefox: {
        "dom.webgpu.enabled": true,
        "gfx.webgpu.ignore-blocklist": true,
        "app.update.enabled": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "browser.shell.checkDefaultBrowser": false,
      },
    },
  },
];

/** The first existing executable of a browser, or undefined when it is not installed. */
export function findExecutable(kind: BrowserKind): string | undefined {
  for (const path of kind.executables) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Rejects after `ms` with a message naming what took too long. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts a browser with hard time limits on the start and on every protocol call. */
export function launch(kind: BrowserKind, executablePath: string): Promise<Browser> {
  return withTimeout(
    puppeteerModule().then((puppeteer) =>
      puppeteer.launch({
        ...kind.options,
        executablePath,
        timeout: 60_000,
        protocolTimeout: 180_000,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      })
    ),
    90_000,
    `starting ${kind.name}`,
  );
}

/** Closes a browser, killing its process when closing hangs or fails. Never throws. */
export async function kill(browser: Browser): Promise<void> {
  const proc = browser.process();
  try {
    await withTimeout(browser.close(), 10_000, "closing the browser");
  } catch {
    // fall through to the kill
  }
  try {
    if (proc && proc.exitCode === null) proc.kill("SIGKILL");
  } catch {
    // already gone
  }
}
