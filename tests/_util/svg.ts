/**
 * SVG checks for end-to-end tests: `parseSvg` parses a document with a real XML parser (in a
 * subprocess with its own lock, see tests/_xml/tree.ts) and returns its element tree.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";

/** One element: its tag name, attributes, whole text content and child elements. */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: XmlNode[];
}

/** A parsed SVG: the root, every `<text>`'s content, and the `g.mark-line` groups (Vega lines). */
export interface ParsedSvg {
  root: XmlNode;
  texts: string[];
  lines: XmlNode[];
}

/** Every element under `node` (itself included) whose tag is `name`, in document order. */
export function elements(node: XmlNode, name: string): XmlNode[] {
  const out: XmlNode[] = [];
  const walk = (n: XmlNode) => {
    if (n.name === name) out.push(n);
    n.children.forEach(walk);
  };
  walk(node);
  return out;
}

/** The `<g>` elements whose class attribute contains `cls` (Vega: "mark-line", "mark-symbol"). */
export function groups(node: XmlNode, cls: string): XmlNode[] {
  return elements(node, "g").filter((g) => (g.attrs.class ?? "").includes(cls));
}

const TREE = fromFileUrl(new URL("../_xml/tree.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../_xml/xml.json", import.meta.url));

/** Parses `text` as XML (throws when it is not well-formed or its root is not `<svg>`). */
export async function parseSvg(text: string): Promise<ParsedSvg> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--config", CONFIG, TREE],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const err = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) throw new Error(`SVG is not valid XML: ${err}`);
  const root = JSON.parse(new TextDecoder().decode(out.stdout)) as XmlNode;
  if (root.name !== "svg") throw new Error(`root element is <${root.name}>, not <svg>`);
  return {
    root,
    texts: elements(root, "text").map((t) => t.text),
    lines: groups(root, "mark-line"),
  };
}
