/**
 * Serves the built site on localhost with the cross-origin-isolation headers that
 * SharedArrayBuffer (the kernels' worker pool) needs: `deno task web` builds and serves,
 * `deno run -A apps/web/serve.ts --no-build` only serves. Any static host that can set the two
 * headers below serves the same folder (see the README).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** The headers every response carries: cross-origin isolation, and no sniffing. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
  "x-content-type-options": "nosniff",
});

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
  ".bin": "application/octet-stream",
  ".wasm": "application/wasm",
};

/**
 * Answers one request from the files under `root`: GET and HEAD only, `/` and folders serve
 * `index.html`, nothing outside `root`.
 */
export async function serveFile(
  root: string,
  request: Request,
  isolate = true,
): Promise<Response> {
  const headers = new Headers(
    isolate ? ISOLATION_HEADERS : { "x-content-type-options": "nosniff" },
  );
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers });
  }
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url).pathname);
  } catch {
    return new Response("bad path\n", { status: 400, headers });
  }
  const rel = normalize(path).replace(/^(\.\.(\/|$))+/, "");
  if (rel.includes("\0") || rel.split("/").includes("..")) {
    return new Response("bad path\n", { status: 400, headers });
  }
  let file = join(root, rel);
  try {
    if ((await Deno.stat(file)).isDirectory) file = join(file, "index.html");
    const body = await Deno.readFile(file);
    headers.set("content-type", TYPES[extname(file)] ?? "application/octet-stream");
    headers.set("cache-control", "no-cache");
    return new Response(request.method === "HEAD" ? null : body, { headers });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return new Response("not found\n", { status: 404, headers });
    }
    throw e;
  }
}

/**
 * Starts the server; `port` 0 picks a free one (read it from the returned server's `addr`).
 *
 * @param root the folder to serve (the built site)
 * @param options host name (default 127.0.0.1), port (default 8000), and `isolate: false` to
 *   leave out the isolation headers (the tests check what the train page says then)
 */
export function serveSite(
  root: string = join(HERE, "dist"),
  options: { hostname?: string; port?: number; quiet?: boolean; isolate?: boolean } = {},
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8000,
    onListen: options.quiet ? () => {} : undefined,
  }, (request) => serveFile(root, request, options.isolate ?? true));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      hostname: { type: "string" },
      "no-build": { type: "boolean" },
    },
    strict: true,
  });
  const port = Number(values.port ?? "8000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port must be an integer in [0, 65535], got "${values.port}"`);
    Deno.exit(2);
  }
  if (!values["no-build"]) {
    const { buildSite, kilobytes } = await import("./build.ts");
    try {
      const files = await buildSite();
      const js = files.filter((f) => f.path.endsWith(".js"));
      console.log(
        `built apps/web/dist: ${files.length} files, scripts ${
          kilobytes(js.reduce((s, f) => s + f.gzipBytes, 0))
        } gzip in all`,
      );
    } catch (e) {
      console.error(`web: ${e instanceof Error ? e.message : String(e)}`);
      Deno.exit(1);
    }
  }
  const server = serveSite(join(HERE, "dist"), {
    hostname: values.hostname,
    port,
    quiet: true,
  });
  console.log(
    `serving apps/web/dist on http://${server.addr.hostname}:${server.addr.port}/ (cross-origin isolated)`,
  );
}
