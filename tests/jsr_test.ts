// What jsr.io would show for each published member: a module description, a README that stands
// alone, the license, and no test helpers in the tarball.
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

interface Member {
  dir: string;
  name: string;
  license?: string;
}

async function members(): Promise<Member[]> {
  const out: Member[] = [];
  for (const parent of ["packages", "."]) {
    for await (const e of Deno.readDir(join(ROOT, parent))) {
      if (!e.isDirectory) continue;
      const dir = join(parent, e.name);
      let cfg: { name?: string; license?: string };
      try {
        cfg = JSON.parse(await Deno.readTextFile(join(ROOT, dir, "deno.json")));
      } catch {
        continue;
      }
      if (cfg.name?.startsWith("@fp4lab/")) out.push({ dir, name: cfg.name, license: cfg.license });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const all = await members();

Deno.test("jsr: ten members, each MIT like the root LICENSE", async () => {
  assert.equal(all.length, 10, all.map((m) => m.name).join(", "));
  assert.match(await Deno.readTextFile(join(ROOT, "LICENSE")), /^MIT License\n/);
  for (const m of all) assert.equal(m.license, "MIT", m.name);
});

Deno.test("jsr: every mod.ts module doc opens with text (a leading @word reads as a tag)", async () => {
  for (const m of all) {
    const text = await Deno.readTextFile(join(ROOT, m.dir, "mod.ts"));
    const doc = text.match(/^\/\*\*\s*\n\s*\*\s*(\S.*)$/m);
    assert.ok(doc && text.startsWith("/**"), `${m.name}: mod.ts does not open with a doc comment`);
    assert.ok(!doc[1].startsWith("@"), `${m.name}: module doc opens with "${doc[1].slice(0, 30)}"`);
    assert.match(text, /^ \* @module$/m, `${m.name}: no @module tag`);
  }
});

Deno.test("jsr: READMEs stand alone (no SPEC.md, spec/, or relative links)", async () => {
  for (const m of all) {
    const readme = await Deno.readTextFile(join(ROOT, m.dir, "README.md"));
    assert.match(readme, new RegExp(`^# ${m.name}\n`), `${m.name}: README title`);
    for (const bad of [/SPEC\.md/, /\bSPEC \d/, /\bspec\/[a-z-]+\.md/, /\]\((?!https?:\/\/|#)/]) {
      const hit = readme.match(bad);
      assert.equal(hit, null, `${m.name}/README.md: "${hit?.[0]}" does not resolve on jsr.io`);
    }
    assert.match(readme, /^## Runtimes$/m, `${m.name}: README says nothing about runtimes`);
  }
});

Deno.test("jsr: the publish dry run ships no test files or test helpers", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  assert.ok(r.success, log);
  const files = [...log.matchAll(/file:\/\/\S+/g)].map((x) => x[0]);
  assert.ok(files.length > 50, log);
  const helpers = files.filter((f) => /_test(_util)?\.ts$|_testdata\.ts$|\/testdata\//.test(f));
  assert.deepEqual(helpers, []);
  for (const m of all) {
    assert.ok(files.some((f) => f.endsWith(`/${m.dir.replace(/^\.\//, "")}/mod.ts`)), m.name);
  }
});
