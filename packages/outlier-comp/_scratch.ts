import { clampOutliers, fidelityTable, formatFidelityTable, syntheticActivations } from "./mod.ts";
const a = syntheticActivations(64, 2048, { seed: 1 });
console.log(formatFidelityTable(fidelityTable(a, 64, 2048)));
console.log(formatFidelityTable(fidelityTable(a, 64, 2048, { scope: "tensor" })));
const b = syntheticActivations(256, 768, { seed: 2 });
console.log(formatFidelityTable(fidelityTable(b, 256, 768)));
const c = syntheticActivations(8, 256, { seed: 1 });
console.log(clampOutliers(c, 8, 256).sparsity);
