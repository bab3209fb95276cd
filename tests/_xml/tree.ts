/**
 * Reads an XML document (an SVG) on stdin and prints its element tree as JSON on stdout:
 * `{ name, attrs, text, children }` per element, `text` being the element's whole text content.
 * Exits 2 with one line when the input is not well-formed XML.
 *
 * It runs with its own config and lock (`deno run --config tests/_xml/xml.json`), so the test-only
 * XML parser (@xmldom/xmldom) stays out of the workspace lock that `deno task train` installs.
 * Tests call it through `parseSvg` in tests/_util/svg.ts.
 *
 * @module
 */
import { DOMParser, type Element } from "@xmldom/xmldom";

/** One element of the tree. */
interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: XmlNode[];
}

function toNode(el: Element): XmlNode {
  const attrs: Record<string, string> = {};
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    attrs[a.name] = a.value;
  }
  const children: XmlNode[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1) children.push(toNode(c as Element));
  }
  return { name: el.nodeName, attrs, text: el.textContent ?? "", children };
}

const text = await new Response(Deno.stdin.readable).text();
try {
  const doc = new DOMParser({
    onError: (level: string, message: string) => {
      if (level !== "warning") throw new Error(message);
    },
  }).parseFromString(text, "image/svg+xml");
  if (!doc.documentElement) throw new Error("no root element");
  console.log(JSON.stringify(toNode(doc.documentElement)));
} catch (e) {
  console.error(`not well-formed XML: ${(e as Error).message.split("\n")[0]}`);
  Deno.exit(2);
}
