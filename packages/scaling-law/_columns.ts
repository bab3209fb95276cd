// The runs as columns of logs, computed once per fit: the fitter's inner loops read only these.
import type { ObservedRun } from "./runs.ts";

export interface Columns {
  lnN: Float64Array;
  lnD: Float64Array;
  lnE: Float64Array; // ln(E + 0.5)
  lnM: Float64Array; // ln(M + 0.5)
  lb: Float64Array;
  lnY: Float64Array;
}

export function columns(runs: readonly ObservedRun[]): Columns {
  const m = runs.length;
  const c: Columns = {
    lnN: new Float64Array(m),
    lnD: new Float64Array(m),
    lnE: new Float64Array(m),
    lnM: new Float64Array(m),
    lb: new Float64Array(m),
    lnY: new Float64Array(m),
  };
  runs.forEach((r, i) => {
    for (
      const [label, v] of [["params", r.params], ["tokens", r.tokens], ["loss", r.loss]] as const
    ) {
      if (!(v > 0) || !Number.isFinite(v)) {
        throw new RangeError(`runs[${i}].${label} must be positive and finite, got ${v}`);
      }
    }
    if (!(r.exponentBits >= 0) || !(r.mantissaBits >= 0) || !(r.log2Block >= 0)) {
      throw new RangeError(`runs[${i}]: exponentBits, mantissaBits and log2Block must be >= 0`);
    }
    c.lnN[i] = Math.log(r.params);
    c.lnD[i] = Math.log(r.tokens);
    c.lnE[i] = Math.log(r.exponentBits + 0.5);
    c.lnM[i] = Math.log(r.mantissaBits + 0.5);
    c.lb[i] = r.log2Block;
    c.lnY[i] = Math.log(r.loss);
  });
  return c;
}
