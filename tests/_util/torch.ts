/**
 * Finding a Python interpreter with PyTorch for the reference tests.
 *
 * @module
 */

/**
 * The first interpreter (the PATH's `python3`, then Debian's `/usr/bin/python3`) that imports
 * torch, preferring one that also imports transformers; null when none does.
 */
export function findTorchPython(): string | null {
  for (const modules of ["torch, transformers", "torch"]) {
    for (const py of ["python3", "/usr/bin/python3"]) {
      try {
        const r = new Deno.Command(py, { args: ["-c", `import ${modules}`], stderr: "null" })
          .outputSync();
        if (r.success) return py;
      } catch {
        // not installed under this name
      }
    }
  }
  return null;
}
