// A/B of two builds of the qg kernel, single thread, interleaved in one process.
const [fa, fb] = Deno.args;
const mods = [];
for (const f of [fa, fb]) {
  const m = await import(f);
  const bin = atob(m.WASM_RELAXED_SIMD_BASE64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 32768, shared: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  mods.push({ memory, ex: inst.exports as Record<string, (...a: number[]) => void> });
}
const rows = 512, cols = 4096, n = rows * cols;
const x = new Float32Array(n);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.618) * (1 + (i % 97) / 10);
const SRC = 1 << 20, CODES = SRC + n * 4, SCALES = CODES + n, SCODES = SCALES + n, STATS = SCODES + n, PARAMS = STATS + 1024, SCRATCH = PARAMS + 1024;
for (const m of mods) {
  m.memory.grow(Math.ceil((SCRATCH + (1 << 20)) / 65536));
  new Float32Array(m.memory.buffer, SRC, n).set(x);
}
const configs: Record<string, [number, number, number, number]> = {
  // [blockCols, rule, givenAmax(-1), perAmaxFlag]
  row: [cols, 1, -1, 0],
  mx32: [32, 3, -1, 0],
  mx16: [16, 3, -1, 0],
  nv16: [16, 7, -1, 1],
};
function setParams(m: typeof mods[0], bc: number, rule: number) {
  const i32 = new Int32Array(m.memory.buffer, PARAMS, 32), f32 = new Float32Array(m.memory.buffer, PARAMS, 32);
  i32[0] = SRC; i32[1] = rows; i32[2] = cols; i32[3] = rows; i32[4] = 1; i32[5] = bc; i32[6] = 1; i32[7] = 2; i32[8] = 1;
  f32[9] = 6; i32[10] = rule; i32[11] = 2; f32[12] = -1;
  const amax = 10.6; const sEnc = Math.fround(Math.fround(448 * 6) / amax);
  f32[13] = Math.fround(sEnc * Math.fround(1 / 6)); f32[14] = Math.fround(1 / sEnc); f32[15] = rule === 7 ? sEnc : 1;
  i32[16] = CODES; i32[17] = 0; i32[18] = SCALES; i32[19] = rule === 1 ? 0 : SCODES; i32[20] = Math.ceil(cols / bc); i32[21] = STATS; i32[22] = 0;
}
const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [name, [bc, rule]] of Object.entries(configs)) {
  const t = [[], []] as number[][];
  for (let r = 0; r < 31; r++) {
    for (let k = 0; k < 2; k++) {
      const m = mods[k];
      setParams(m, bc, rule);
      const t0 = performance.now();
      m.ex.qgQuantTask(PARAMS, 0, SCRATCH);
      t[k].push(performance.now() - t0);
    }
  }
  const a = median(t[0]), b = median(t[1]);
  console.log(`${name.padEnd(6)} A ${(a * 1e6 / n).toFixed(3)} ns/elem  B ${(b * 1e6 / n).toFixed(3)} ns/elem  B/A ${(b / a).toFixed(3)}`);
}
