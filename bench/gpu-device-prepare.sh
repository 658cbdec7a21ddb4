#!/usr/bin/env bash
# Run HERE (not on the device machine) once before bench/gpu-device.sh: the device machine has no network and no
# Node.js, so this packs what the bench needs into two git-ignored folders that the `device` tool carries:
#   .gpubench/  node (this machine's x86-64 binary), the bench bundled into one file, onnxruntime-node's Linux x64
#               runtime (compressed: the carried tree must stay under 64 MiB)
#   .gl/        the Vulkan loader packages (libvulkan1 …) for Dawn, as the device README says
# Then: run with carry [".gpubench", ".gl"] and the command `bash bench/gpu-device.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
exclude="$(git rev-parse --git-common-dir)/info/exclude"
grep -qx '/.gpubench/' "$exclude" || echo '/.gpubench/' >>"$exclude"
grep -qx '/.gl/' "$exclude" || echo '/.gl/' >>"$exclude"
rm -rf .gpubench && mkdir -p .gpubench/stage/node_modules
npx esbuild bench/gpuDevice.ts --bundle --platform=node --format=cjs --external:onnxruntime-node --outfile=.gpubench/stage/gpuDevice.js --log-level=warning
ort=node_modules/onnxruntime-node
mkdir -p .gpubench/stage/$ort/bin/napi-v6/linux
cp -r $ort/package.json $ort/dist .gpubench/stage/$ort/
cp -r $ort/bin/napi-v6/linux/x64 .gpubench/stage/$ort/bin/napi-v6/linux/
cp -r node_modules/onnxruntime-common .gpubench/stage/node_modules/
cp "$(readlink -f "$(command -v node)")" .gpubench/stage/node
tar -C .gpubench/stage -cJf .gpubench/payload.tar.xz . && rm -rf .gpubench/stage
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update -qq
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .gpubench .gl
