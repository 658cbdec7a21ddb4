#!/usr/bin/env bash
# The GPU benchmark for a lent NVIDIA H200/H100 (the `device` tool), within 5 minutes: GPU (onnxruntime's WebGPU
# provider on Vulkan, and CUDA when its provider libraries are present) against all CPU cores of the same machine,
# in the same run, on the same figures (bench/gpuDevice.ts): ResNet-50-shape explanation latency and batch
# throughput, collection's per-image work at layer4, SAE training vectors/s at d 2048 / 16,384 concepts / k 16.
# Prepare here first with bench/gpu-device-prepare.sh, then call the device tool with carry [".gpubench", ".gl"] and
# `bash bench/gpu-device.sh`. Results: $OUT/gpu-bench.jsonl and a table at the end. Never needed by tests or CI.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/gpu-bench}"; mkdir -p "$OUT"
start=$(date +%s)
[ -f .gpubench/payload.tar.xz ] || { echo "run bench/gpu-device-prepare.sh here first (.gpubench/ is missing)"; exit 2; }
# The Vulkan loader (the machine has the NVIDIA driver's ICD but no loader), as the device README says.
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR; XDG_RUNTIME_DIR=$(mktemp -d)
run=/tmp/gpubench; rm -rf $run; mkdir -p $run; tar -C $run -xJf .gpubench/payload.tar.xz
node=$run/node
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
# The ResNet-50-shape B-cos model, exported by the same recipe the CPU bench uses (PyTorch and onnx are there).
model=models/.bench/resnet50-bench.onnx
if [ ! -f $model ]; then timeout 90 python3 models/recipes/bench_explain_torch.py --arch resnet50 --no-time >"$OUT/export.log" 2>&1 || { echo "export failed:"; tail -20 "$OUT/export.log"; exit 1; }; fi
cores=$(nproc)
: >"$OUT/gpu-bench.jsonl"
for ep in webgpu cpu cuda; do
  threads=0; [ $ep = cpu ] && threads=$cores
  left=$(( 290 - ($(date +%s) - start) )); [ $left -lt 40 ] && { echo "skipping $ep: $left s left of the 5 minutes"; continue; }
  secs=$(( left / 12 )); [ $secs -gt 15 ] && secs=15
  echo "== $ep (threads ${threads:-auto}, ${secs}s per figure)"
  timeout $(( left - 5 )) $node $run/gpuDevice.js --model $model --ep $ep --threads $threads --batch 16 --seconds $secs >>"$OUT/gpu-bench.jsonl" 2>"$OUT/$ep.log"
  tail -3 "$OUT/$ep.log"
done
echo; echo "figure                         $(for ep in webgpu cpu cuda; do printf '%14s' $ep; done)"
$node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
const by = Object.fromEntries(rows.map((r) => [r.ep, r]));
for (const [k, label] of [["explainLatencyMs", "explain latency, ms"], ["explainImagesPerS", "explain batch 16, images/s"], ["collectLayer4ImagesPerS", "collect layer4, images/s"], ["saeTrainVectorsPerS", "SAE train, vectors/s"]]) {
  console.log(label.padEnd(31) + ["webgpu", "cpu", "cuda"].map((e) => (by[e] && by[e][k] !== undefined ? Number(by[e][k]).toPrecision(4) + (by[e].executionProvider !== e ? "*" : "") : "—").padStart(14)).join(""));
}
console.log("ran on: " + rows.map((r) => `${r.ep} → ${r.executionProvider}${r.adapter ? " (" + r.adapter + ")" : ""}${r.fallbackReason ? " [" + r.fallbackReason.slice(0, 160) + "]" : ""}`).join("; "));
console.log("(* fell back; see ran on)");
' "$OUT/gpu-bench.jsonl"
echo "total $(( $(date +%s) - start )) s"
