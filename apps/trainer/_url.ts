/**
 * file: URL to path (node:url's fileURLToPath, kept in one place).
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/**
 * Converts a file: URL to a path.
 *
 * @param url a file: URL
 * @returns the path
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromFileUrl } from "./_url.ts";
 * assert.equal(fromFileUrl("file:///tmp/x"), "/tmp/x");
 * ```
 */
export function fromFileUrl(url: string): string {
  return fileURLToPath(url);
}
