#!/usr/bin/env bash
# The GPU benchmark, ONE script for a bare Linux machine with an NVIDIA GPU and no network.
#
#   bash benchmarks/gpu/run.sh prepare   # here, with network: the carry (never committed)
#   bash benchmarks/gpu/run.sh           # there: tests, timed steps, PyTorch peer, table
#
# prepare: xz-compresses this machine's deno into benchmarks/gpu/carry/deno.xz (about 31 MB) and
# downloads the Vulkan loader .debs into .gl/ (as the device tool's README says). Both paths are
# git-ignored; carry them: run(command="bash benchmarks/gpu/run.sh", carry=[".gl",
# "benchmarks/gpu/carry"]). The whole carry stays under 64 MiB.
#
# run: unpacks the loader and deno, runs the WebGPU op tests (CI=true: they must not skip), the
# timed training steps of the webgpu backend for fp32, bf16 and fp4 at tiny, small and gpt2s, the
# f32 and FP4 GEMMs at 4096³, and the same steps in PyTorch CUDA (bf16 autocast, fake-quant fp4),
# then writes gpu-bench.json and gpu-bench.md into $OUT (or benchmarks/gpu/out).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CARRY="$ROOT/benchmarks/gpu/carry"

if [ "${1:-}" = "prepare" ]; then
  mkdir -p "$CARRY" .gl
  xz -9 -T0 -c "$(readlink -f "$(command -v deno)")" >"$CARRY/deno.xz"
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  mkdir -p /tmp/amd64/partial
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  du -sh "$CARRY" .gl
  exit 0
fi

OUT_DIR="${OUT:-$ROOT/benchmarks/gpu/out}"
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu-bench.log"
: >"$LOG"
say() { echo "$@" | tee -a "$LOG"; }

# The Vulkan loader, and the NVIDIA ICD where the image keeps it.
if ! ldconfig -p | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

# Deno from the carry (xz, or Python's lzma where xz is missing).
DENO=$(command -v deno || true)
if [ -z "$DENO" ]; then
  DENO=/tmp/deno
  if command -v xz >/dev/null; then xz -dc "$CARRY/deno.xz" >"$DENO"
  else python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$CARRY/deno.xz" "$DENO"
  fi
  chmod +x "$DENO"
fi
export DENO_NO_UPDATE_CHECK=1 XDG_RUNTIME_DIR=/tmp
say "deno: $("$DENO" --version | head -1)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$LOG"

# 1. The op tests on this GPU.
CI=true timeout 300 "$DENO" test -A --no-check packages/train/backends/webgpu_test.ts \
  packages/gemm-webgpu/gpu_kernels_test.ts >>"$LOG" 2>&1
TESTS_RC=$?
say "op tests: exit $TESTS_RC ($(grep -aE '(passed|failed)' "$LOG" | tail -1))"

# 2. Timed steps on the webgpu backend and the GEMMs.
timeout 420 "$DENO" run -A --no-check benchmarks/gpu/steps.ts >"$OUT_DIR/webgpu.json" 2>>"$LOG"
say "webgpu steps: exit $?"

# 3. PyTorch CUDA on the same model, batch and GPU.
: >"$OUT_DIR/torch.jsonl"
for preset in tiny small gpt2s; do
  case $preset in tiny) b=16 ;; *) b=8 ;; esac
  cfg=$("$DENO" eval "import { presetByName } from '@fp4lab/train'; console.log(JSON.stringify(presetByName('$preset')))")
  for recipe in bf16 fp4; do
    r=$(timeout 120 python3 benchmarks/gpu/torch_steps.py "$cfg" "$recipe" "$b" 5 2>>"$LOG")
    [ -n "$r" ] && echo "{\"preset\":\"$preset\",\"batch\":$b,${r#\{}" >>"$OUT_DIR/torch.jsonl"
  done
done
say "torch steps: $(wc -l <"$OUT_DIR/torch.jsonl") runs"

# 4. One JSON and one markdown table.
"$DENO" run -A --no-check - "$OUT_DIR" "$TESTS_RC" <<'EOF' 2>>"$LOG"
const [dir, testsRc] = Deno.args;
const read = (f: string) => { try { return Deno.readTextFileSync(`${dir}/${f}`); } catch { return ""; } };
const webgpu = read("webgpu.json").trim() ? JSON.parse(read("webgpu.json")) : { results: [] };
const torch = read("torch.jsonl").trim().split("\n").filter((l) => l).map((l) => JSON.parse(l));
const gpu = torch[0]?.gpu ?? webgpu.device ?? "unknown GPU";
const out = { gpu, webgpuDevice: webgpu.device, numerics: webgpu.numerics, opTestsExit: Number(testsRc), webgpu: webgpu.results, torch };
Deno.writeTextFileSync(`${dir}/gpu-bench.json`, JSON.stringify(out, null, 2) + "\n");
const rows = ["| preset | recipe | webgpu tokens/s | webgpu s/step | PyTorch CUDA peer | peer tokens/s | webgpu / peer |", "| --- | --- | ---: | ---: | --- | ---: | ---: |"];
for (const r of webgpu.results.filter((r: { kind: string }) => r.kind === "step")) {
  const peerRecipe = r.recipe === "fp4" ? "fp4" : "bf16";
  const p = torch.find((t: { preset: string; recipe: string }) => t.preset === r.preset && t.recipe === peerRecipe);
  const tps = r.tokensPerSec ? Math.round(r.tokensPerSec) : `error: ${r.error}`;
  rows.push(`| ${r.preset} | ${r.recipe} | ${tps} | ${r.stepSeconds?.toFixed(4) ?? ""} | ${p ? (peerRecipe === "fp4" ? "fake-quant fp4 (eager)" : "bf16 autocast") : "-"} | ${p ? Math.round(p.tokens_per_s) : "-"} | ${p && r.tokensPerSec ? (r.tokensPerSec / p.tokens_per_s).toFixed(2) + "x" : "-"} |`);
}
for (const g of webgpu.results.filter((r: { kind: string }) => r.kind === "gemm")) {
  rows.push(`| GEMM ${g.n}³ | ${g.format} | | ${g.seconds.toFixed(4)} | ${g.tflops.toFixed(1)} TFLOP/s | | |`);
}
const md = `GPU: ${gpu}; adapter: ${webgpu.device}; numerics: ${JSON.stringify(webgpu.numerics)}; op tests exit ${testsRc}\n\n${rows.join("\n")}\n`;
Deno.writeTextFileSync(`${dir}/gpu-bench.md`, md);
console.log(md);
EOF
exit 0
