// Prints every value of FP4 E2M1 with its code, and the range of each standard format.
// Run: deno task formats
import {
  BF16,
  codeTable,
  E2M1,
  E2M3,
  E3M2,
  E4M3,
  E5M2,
  FP16,
  packNibbles,
} from "@fp4lab/fp4-format";

const table = codeTable(E2M1);
console.log("FP4 E2M1: every code");
console.log("code  bits   value");
for (let code = 0; code < table.length; code++) {
  const value = Object.is(table[code], -0) ? "-0" : String(table[code]);
  console.log(
    `${String(code).padStart(4)}  ${code.toString(2).padStart(4, "0")}  ${value.padStart(6)}`,
  );
}
console.log(
  `packed low nibble first: codes [1, 2] -> byte 0x${
    packNibbles(new Uint8Array([1, 2]))[0].toString(16)
  }`,
);
console.log();
console.log("format  bits  bias  max normal     min normal      min subnormal   Inf  NaN");
for (const f of [E2M1, E2M3, E3M2, E4M3, E5M2, FP16, BF16]) {
  console.log(
    [
      f.name.padEnd(6),
      String(f.bits).padStart(4),
      String(f.bias).padStart(5),
      f.maxNormal.toExponential(6).padStart(13),
      f.minNormal.toExponential(6).padStart(14),
      f.minSubnormal.toExponential(6).padStart(15),
      (f.hasInf ? "yes" : "no").padStart(4),
      (f.hasNaN ? "yes" : "no").padStart(4),
    ].join("  "),
  );
}
