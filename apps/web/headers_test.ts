// The `_headers` file shipped in dist/ (Netlify, Cloudflare Pages) sets on every path exactly the
// headers `deno task web` serves with: a host reading it gives a cross-origin isolated site.
import assert from "node:assert/strict";
import { ISOLATION_HEADERS } from "./serve.ts";

Deno.test("static/_headers sets the isolation headers of serve.ts on every path", async () => {
  const lines = (await Deno.readTextFile(new URL("./static/_headers", import.meta.url)))
    .split("\n").filter((l) => l.trim() !== "");
  assert.equal(lines[0], "/*");
  const set = Object.fromEntries(
    lines.slice(1).map((l) => {
      assert.match(l, /^ {2}[\w-]+: \S+$/, `header line "${l}"`);
      const [k, v] = l.trim().split(": ");
      return [k.toLowerCase(), v];
    }),
  );
  assert.deepEqual(
    set,
    Object.fromEntries(Object.entries(ISOLATION_HEADERS).map(([k, v]) => [k.toLowerCase(), v])),
  );
});
